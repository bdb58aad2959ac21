package billing

import (
	"context"
	"time"

	"github.com/entitle-dev/entitle/licensing"
)

// Provider is every billing call the portal makes. Ids are Stripe's
// (customer, subscription, price). No call changes Entitle's subscription
// rows: each one makes the provider send events, which the worker applies.
type Provider interface {
	// Mode is "stripe" or "local".
	Mode() string
	// CreateCustomer makes the account's customer and returns its id.
	CreateCustomer(ctx context.Context, in CustomerInput) (string, error)
	// Subscribe starts a subscription for a customer that has none. It
	// returns a URL to send the buyer to (Stripe Checkout), or "" when the
	// subscription was created at once (the simulator).
	Subscribe(ctx context.Context, in SubscribeInput) (string, error)
	// ChangePlan moves a subscription to another price at once, prorated,
	// and drops any change scheduled for period end; promo (may be nil)
	// discounts the subscription from this change on.
	ChangePlan(ctx context.Context, subID, priceID string, quantity int, promo *licensing.Promotion) error
	// PreviewChange is what ChangePlan would charge now.
	PreviewChange(ctx context.Context, customerID, subID, priceID string, quantity int, promo *licensing.Promotion) (Preview, error)
	// ResolvePromotion finds an active promotion code typed in any case,
	// with how many times it has been redeemed; an unknown code is a
	// *licensing.PromotionRefusal.
	ResolvePromotion(ctx context.Context, code string) (licensing.Promotion, int, error)
	// AttachPromotion discounts the subscription's next invoices.
	AttachPromotion(ctx context.Context, subID string, promo licensing.Promotion) error
	// ChangeSeats changes the quantity at once, prorated.
	ChangeSeats(ctx context.Context, subID string, quantity int) error
	// ScheduleChange makes price and quantity take effect at period end;
	// an empty priceID with quantity 0 clears a scheduled change.
	ScheduleChange(ctx context.Context, subID, priceID string, quantity int) error
	// StartTrial moves the subscription to priceID as a trial of days
	// days, needing no card; without one by the end it falls back to
	// fallbackPriceID.
	StartTrial(ctx context.Context, subID, priceID string, quantity, days int, fallbackPriceID string) error
	// ExtendTrial moves a trialing subscription's trial end (and so its
	// first charge) to trialEnd, charging nothing now.
	ExtendTrial(ctx context.Context, subID string, trialEnd time.Time) error
	// SetCancelAtPeriodEnd cancels at period end (true) or resumes (false).
	SetCancelAtPeriodEnd(ctx context.Context, subID string, cancel bool) error
	// PortalURL is where the buyer manages payment methods and invoices.
	PortalURL(ctx context.Context, customerID, returnURL string) (string, error)
	// Statement is the customer's payment method, invoices (newest
	// first) and, for subID (may be ""), the next invoice.
	Statement(ctx context.Context, customerID, subID string) (Statement, error)
	// PayInvoice pays the customer's open invoice with this number: it
	// returns a page to send the buyer to (Stripe's hosted invoice page),
	// or "" when it was charged at once (the simulator). Another
	// customer's number is store.ErrNotFound.
	PayInvoice(ctx context.Context, customerID, number string) (string, error)
	// EndTrial ends a trial now: the plan's first period starts and is
	// charged to the payment method on file.
	EndTrial(ctx context.Context, subID string) error
	// PreviewAddOn is what SetAddOn would charge now.
	PreviewAddOn(ctx context.Context, customerID, subID, priceID string, units int) (Preview, error)
	// SetAddOn gives the subscription units of an add-on (an item of its
	// own, marked with the add-on's key; 0 removes it) at once, prorated.
	SetAddOn(ctx context.Context, subID, addOnKey, priceID string, units int) error
}

// CustomerInput names the account a customer is made for.
type CustomerInput struct {
	AccountID int64
	Slug      string
	Name      string
	Email     string
}

// SubscribeInput is a first subscription.
type SubscribeInput struct {
	AccountID  int64
	CustomerID string
	PriceID    string
	Quantity   int
	SuccessURL string
	CancelURL  string
	// TrialDays > 0 starts the subscription as a trial needing no card;
	// without one by the end it moves to TrialFallbackPriceID.
	TrialDays            int
	TrialFallbackPriceID string
	// Free: the price costs nothing, so no card is asked for (Checkout's
	// payment_method_collection=if_required) and none is on file after.
	Free bool
	// ForCustomer makes the subscription at once, without a checkout: a
	// trial the vendor starts for a customer who is not there to check
	// out (only with TrialDays > 0, as no card is asked for).
	ForCustomer bool
	// IdempotencyKey, when set, makes a repeated call (a retry after a
	// timeout, a sweep racing the first try) create nothing more.
	IdempotencyKey string
	// Promotion, when set, discounts the subscription from its first
	// invoice.
	Promotion *licensing.Promotion
}

// Preview is a prorated charge.
type Preview struct {
	AmountDue int64 // minor units, after any discount
	Currency  string
	At        time.Time
	// Subtotal is before the discount; Discount (by DiscountCode) is what
	// it takes off: AmountDue = Subtotal − Discount.
	Subtotal     int64
	Discount     int64
	DiscountCode string
}

// ProviderError is the provider refusing a call; Message is shown to the
// buyer as it is, and nothing changes locally.
type ProviderError struct {
	Message string
	Err     error
	// Declined: the payment method was refused. The buyer can act on it
	// (update the payment method), so it is answered as a refusal on the
	// form, not as the provider failing.
	Declined bool
}

func (e *ProviderError) Error() string { return e.Message }
func (e *ProviderError) Unwrap() error { return e.Err }
