package billing

import (
	"context"
	"strconv"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/tracing"
)

// Statement is the buyer's side of the customer, as the provider holds it:
// the payment method on file, the invoices and the next one.
type Statement struct {
	HasPaymentMethod bool
	PaymentMethod    string // "Visa •••• 4242"; "" when there is none
	Declines         bool   // the method on file is refused (the simulator's failing card)
	Invoices         []Invoice
	Upcoming         *Upcoming // nil: no invoice is coming (canceled, or nothing to charge)
}

// Open is the oldest invoice still waiting for payment, if any.
func (s Statement) Open() *Invoice {
	var open *Invoice
	for i := range s.Invoices {
		if s.Invoices[i].Status == "open" {
			open = &s.Invoices[i]
		}
	}
	return open
}

// Invoice is one invoice as the buyer reads it.
type Invoice struct {
	ID        string // the provider's id, for the provider only
	Number    string
	Created   time.Time
	AmountDue int64 // minor units
	Currency  string
	Status    string // draft, open, paid, void, uncollectible
	Reason    string // Stripe's billing_reason
	URL       string // the hosted invoice page (Stripe) or the printable page (simulator)
	// Discount was taken off by DiscountCode; AmountDue is after it.
	Discount     int64
	DiscountCode string
}

// Upcoming is the next invoice: when and how much.
type Upcoming struct {
	AmountDue int64
	Currency  string
	At        time.Time
}

// Statement reads the account's payment method, invoices and next invoice;
// an account with no customer yet has none of them.
func (b *Billing) Statement(ctx context.Context, accountID int64) (Statement, error) {
	st, err := b.State(ctx, accountID)
	if err != nil || !st.Account.StripeCustomerID.Valid {
		return Statement{}, err
	}
	subID := ""
	if st.Subscription != nil {
		subID = st.Subscription.StripeSubscription.String
	}
	return b.Provider.Statement(ctx, st.Account.StripeCustomerID.String, subID)
}

// PayInvoice pays one of the account's open invoices by its number: the
// simulator charges the card on file at once; with Stripe the buyer is
// sent to the invoice's hosted page. The payment's events reactivate a
// past-due subscription as any other payment does.
func (b *Billing) PayInvoice(ctx context.Context, actor store.Actor, accountID int64, number string) (Pending, error) {
	ctx, span := tracing.Start(ctx, "billing.pay_invoice") // the provider call, and in local mode its webhooks
	defer span.End()
	st, err := b.State(ctx, accountID)
	if err != nil {
		return Pending{}, err
	}
	if !st.Account.StripeCustomerID.Valid {
		return Pending{}, store.ErrNotFound
	}
	if err := b.Store.RecordBillingRequest(ctx, actor, accountID, "billing.invoice_pay", "invoice", number, nil); err != nil {
		return Pending{}, err
	}
	url, err := b.Provider.PayInvoice(ctx, st.Account.StripeCustomerID.String, number)
	if err != nil {
		return Pending{}, err
	}
	p := pending(st, ChangePay)
	p.RedirectURL = url
	return p, nil
}

// ConvertPreview is what converting a trial now would do.
type ConvertPreview struct {
	PlanName         string
	Seats            int
	SeatBased        bool
	AmountDue        int64 // charged now, for the first period
	Currency         string
	HasPaymentMethod bool
	PaymentMethod    string
	TrialEnds        time.Time
}

// PreviewConvert says what ending the trial now costs, and whether a
// payment method is there to pay it.
func (b *Billing) PreviewConvert(ctx context.Context, accountID int64) (ConvertPreview, error) {
	st, err := b.State(ctx, accountID)
	if err != nil {
		return ConvertPreview{}, err
	}
	sub := st.Subscription
	if sub == nil || !sub.StripeSubscription.Valid || sub.Status != string(licensing.Trialing) {
		return ConvertPreview{}, invalid("subscription", "only a trial can be converted, and this subscription is not in one")
	}
	stmt, err := b.Provider.Statement(ctx, sub.CustomerID.String, sub.StripeSubscription.String)
	if err != nil {
		return ConvertPreview{}, err
	}
	p := ConvertPreview{PlanName: sub.PlanName, Seats: sub.Seats, SeatBased: sub.SeatBased, Currency: sub.Currency,
		AmountDue: monthly(sub.UnitAmount, sub.Seats, sub.SeatBased), HasPaymentMethod: stmt.HasPaymentMethod,
		PaymentMethod: stmt.PaymentMethod, TrialEnds: sub.TrialEndsAt.Time}
	return p, nil
}

// ConvertTrial ends the trial now and starts paying for its plan; without
// a payment method it is refused with a word on what to add first.
func (b *Billing) ConvertTrial(ctx context.Context, actor store.Actor, accountID int64) (Pending, error) {
	ctx, span := tracing.Start(ctx, "billing.convert_trial") // the provider call, and in local mode its webhooks
	defer span.End()
	p, err := b.PreviewConvert(ctx, accountID)
	if err != nil {
		return Pending{}, err
	}
	if !p.HasPaymentMethod {
		return Pending{}, invalid("payment_method", "add a payment method first: the trial is converted by paying its first month")
	}
	st, err := b.State(ctx, accountID)
	if err != nil {
		return Pending{}, err
	}
	if err := b.Store.RecordBillingRequest(ctx, actor, accountID, "billing.trial_convert", "subscription", itoa(st.Subscription.ID),
		map[string]any{"plan": st.Subscription.PlanKey, "seats": st.Subscription.Seats, "amount_due": p.AmountDue}); err != nil {
		return Pending{}, err
	}
	if err := b.Provider.EndTrial(ctx, st.Subscription.StripeSubscription.String); err != nil {
		return Pending{}, err
	}
	return pending(st, ChangeConvert), nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// monthly is what a price costs a month for a number of seats.
func monthly(unitAmount int64, seats int, seatBased bool) int64 {
	if seatBased {
		return unitAmount * int64(seats)
	}
	return unitAmount
}
