package billing

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/entitle-dev/entitle/licensing"
	portalsession "github.com/stripe/stripe-go/v76/billingportal/session"
	checkoutsession "github.com/stripe/stripe-go/v76/checkout/session"
	"github.com/stripe/stripe-go/v76/customer"
	"github.com/stripe/stripe-go/v76/invoice"
	"github.com/stripe/stripe-go/v76/promotioncode"
	"github.com/stripe/stripe-go/v76/subscription"
	"github.com/stripe/stripe-go/v76/subscriptionschedule"
)

// Stripe is the provider for production: Stripe's API through stripe-go
// v76 (API 2023-10-16), with no global state (each client carries the key
// and backend). Changes waiting for period end are kept twice: as a
// subscription schedule, which makes Stripe switch at period end, and as
// metadata on the subscription, so that the subscription events carry
// them to Entitle.
type Stripe struct {
	key       string
	subs      subscription.Client
	schedules subscriptionschedule.Client
	customers customer.Client
	invoices  invoice.Client
	checkout  checkoutsession.Client
	portal    portalsession.Client
	promos    promotioncode.Client
}

var _ Provider = (*Stripe)(nil)

// NewStripe makes a Stripe provider. apiBase overrides Stripe's API URL
// (stripe-mock in tests); empty means api.stripe.com.
func NewStripe(key, apiBase string, httpClient *http.Client) *Stripe {
	cfg := &stripe.BackendConfig{HTTPClient: httpClient, MaxNetworkRetries: stripe.Int64(2),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}}
	if apiBase != "" {
		cfg.URL = stripe.String(apiBase)
	}
	b := stripe.GetBackendWithConfig(stripe.APIBackend, cfg)
	return &Stripe{key: key,
		subs: subscription.Client{B: b, Key: key}, schedules: subscriptionschedule.Client{B: b, Key: key},
		customers: customer.Client{B: b, Key: key}, invoices: invoice.Client{B: b, Key: key},
		checkout: checkoutsession.Client{B: b, Key: key}, portal: portalsession.Client{B: b, Key: key},
		promos: promotioncode.Client{B: b, Key: key}}
}

// Mode says this is Stripe.
func (s *Stripe) Mode() string { return "stripe" }

// providerError turns Stripe's refusal into words for the buyer.
func providerError(err error) error {
	if err == nil {
		return nil
	}
	var se *stripe.Error
	if errors.As(err, &se) && se.Msg != "" {
		return &ProviderError{Message: "Stripe refused the change: " + se.Msg, Err: err, Declined: se.Type == stripe.ErrorTypeCard}
	}
	return &ProviderError{Message: "Stripe could not be reached; nothing was changed. Try again in a moment.", Err: err}
}

// withContext makes a request carry the caller's context (deadline,
// cancellation).
func withContext[P interface{ GetParams() *stripe.Params }](ctx context.Context, p P) P {
	p.GetParams().Context = ctx
	return p
}

// CreateCustomer makes the account's Stripe customer.
func (s *Stripe) CreateCustomer(ctx context.Context, in CustomerInput) (string, error) {
	p := withContext(ctx, &stripe.CustomerParams{Name: stripe.String(in.Name), Email: stripe.String(in.Email)})
	p.AddMetadata(metaAccountID, strconv.FormatInt(in.AccountID, 10))
	p.AddMetadata("entitle_account_slug", in.Slug)
	c, err := s.customers.New(p)
	if err != nil {
		return "", providerError(err)
	}
	return c.ID, nil
}

// Subscribe opens a Checkout session; checkout.session.completed and
// customer.subscription.created follow once the buyer pays. A trial the
// vendor starts for a customer is created at once instead.
func (s *Stripe) Subscribe(ctx context.Context, in SubscribeInput) (string, error) {
	ref := strconv.FormatInt(in.AccountID, 10)
	if in.ForCustomer {
		return "", s.subscribeTrial(ctx, ref, in)
	}
	p := withContext(ctx, &stripe.CheckoutSessionParams{
		Mode: stripe.String(string(stripe.CheckoutSessionModeSubscription)), Customer: stripe.String(in.CustomerID),
		ClientReferenceID: stripe.String(ref), SuccessURL: stripe.String(in.SuccessURL), CancelURL: stripe.String(in.CancelURL),
		LineItems:        []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(in.PriceID), Quantity: stripe.Int64(int64(in.Quantity))}},
		SubscriptionData: &stripe.CheckoutSessionSubscriptionDataParams{Metadata: map[string]string{metaAccountID: ref}},
	})
	if in.TrialDays > 0 { // a trial asks for no card: Checkout only confirms the address
		p.SubscriptionData.TrialPeriodDays = stripe.Int64(int64(in.TrialDays))
		p.SubscriptionData.Metadata[metaTrialFallback] = in.TrialFallbackPriceID
	}
	if in.TrialDays > 0 || in.Free { // nothing to pay: Checkout asks for no card (by default it always does)
		p.PaymentMethodCollection = stripe.String("if_required")
	}
	if in.Promotion != nil {
		p.Discounts = []*stripe.CheckoutSessionDiscountParams{{PromotionCode: stripe.String(in.Promotion.StripeID)}}
	}
	cs, err := s.checkout.New(p)
	if err != nil {
		return "", providerError(err)
	}
	return cs.URL, nil
}

// subscribeTrial creates a trial subscription with no payment method;
// without one by the trial's end Stripe pauses it and the fallback price
// in the metadata names the plan to return to, as for a portal trial.
func (s *Stripe) subscribeTrial(ctx context.Context, ref string, in SubscribeInput) error {
	if in.TrialDays <= 0 {
		return &ProviderError{Message: "Only a trial can start without the customer's checkout."}
	}
	p := withContext(ctx, &stripe.SubscriptionParams{
		Customer:        stripe.String(in.CustomerID),
		Items:           []*stripe.SubscriptionItemsParams{{Price: stripe.String(in.PriceID), Quantity: stripe.Int64(int64(in.Quantity))}},
		TrialPeriodDays: stripe.Int64(int64(in.TrialDays)),
		TrialSettings: &stripe.SubscriptionTrialSettingsParams{EndBehavior: &stripe.SubscriptionTrialSettingsEndBehaviorParams{
			MissingPaymentMethod: stripe.String(string(stripe.SubscriptionTrialSettingsEndBehaviorMissingPaymentMethodPause)),
		}},
	})
	p.AddMetadata(metaAccountID, ref)
	p.AddMetadata(metaTrialFallback, in.TrialFallbackPriceID)
	if in.IdempotencyKey != "" {
		p.SetIdempotencyKey(in.IdempotencyKey)
	}
	_, err := s.subs.New(p)
	return providerError(err)
}

// item reads the subscription's plan item (the one not marked as an
// add-on).
func (s *Stripe) item(ctx context.Context, subID string) (*stripe.Subscription, *stripe.SubscriptionItem, error) {
	sub, err := s.subs.Get(subID, withContext(ctx, &stripe.SubscriptionParams{}))
	if err != nil {
		return nil, nil, providerError(err)
	}
	item, _ := splitItems(sub)
	if item == nil {
		return nil, nil, &ProviderError{Message: "The Stripe subscription has no item to change."}
	}
	return sub, item, nil
}

// releaseSchedule drops a pending period-end change.
func (s *Stripe) releaseSchedule(ctx context.Context, sub *stripe.Subscription) error {
	if sub.Schedule == nil || sub.Schedule.ID == "" {
		return nil
	}
	_, err := s.schedules.Release(sub.Schedule.ID, withContext(ctx, &stripe.SubscriptionScheduleReleaseParams{}))
	return providerError(err)
}

func clearScheduleMetadata(p *stripe.SubscriptionParams) {
	p.AddMetadata(metaScheduledPrice, "")
	p.AddMetadata(metaScheduledQuantity, "")
}

// ChangePlan switches price at once, invoicing the proration now; a
// payment that fails refuses the change (error_if_incomplete).
func (s *Stripe) ChangePlan(ctx context.Context, subID, priceID string, quantity int, promo *licensing.Promotion) error {
	sub, item, err := s.item(ctx, subID)
	if err != nil {
		return err
	}
	if err := s.releaseSchedule(ctx, sub); err != nil {
		return err
	}
	p := withContext(ctx, &stripe.SubscriptionParams{
		Items:             []*stripe.SubscriptionItemsParams{{ID: stripe.String(item.ID), Price: stripe.String(priceID), Quantity: stripe.Int64(int64(quantity))}},
		ProrationBehavior: stripe.String("always_invoice"),
		PaymentBehavior:   stripe.String("error_if_incomplete"),
	})
	if promo != nil {
		p.PromotionCode = stripe.String(promo.StripeID)
	}
	clearScheduleMetadata(p)
	_, err = s.subs.Update(subID, p)
	return providerError(err)
}

// PreviewChange asks Stripe for the upcoming invoice with the change.
func (s *Stripe) PreviewChange(ctx context.Context, customerID, subID, priceID string, quantity int, promo *licensing.Promotion) (Preview, error) {
	_, item, err := s.item(ctx, subID)
	if err != nil {
		return Preview{}, err
	}
	now := time.Now().Unix()
	params := withContext(ctx, &stripe.InvoiceUpcomingParams{
		Customer: stripe.String(customerID), Subscription: stripe.String(subID),
		SubscriptionItems: []*stripe.SubscriptionItemsParams{{ID: stripe.String(item.ID), Price: stripe.String(priceID),
			Quantity: stripe.Int64(int64(quantity))}},
		SubscriptionProrationBehavior: stripe.String("always_invoice"),
		SubscriptionProrationDate:     stripe.Int64(now),
	})
	if promo != nil {
		params.Discounts = []*stripe.InvoiceDiscountParams{{PromotionCode: stripe.String(promo.StripeID)}}
	}
	inv, err := s.invoices.Upcoming(params)
	if err != nil {
		return Preview{}, providerError(err)
	}
	p := Preview{AmountDue: inv.AmountDue, Currency: string(inv.Currency), At: time.Unix(now, 0).UTC(), Subtotal: inv.AmountDue}
	for _, d := range inv.TotalDiscountAmounts {
		p.Discount += d.Amount
	}
	if p.Discount > 0 {
		p.Subtotal = p.AmountDue + p.Discount
		if promo != nil {
			p.DiscountCode = promo.Code
		}
	}
	return p, nil
}

// ChangeSeats changes the quantity at once, prorated.
func (s *Stripe) ChangeSeats(ctx context.Context, subID string, quantity int) error {
	_, item, err := s.item(ctx, subID)
	if err != nil {
		return err
	}
	return s.ChangePlan(ctx, subID, item.Price.ID, quantity, nil)
}

// ScheduleChange makes a subscription schedule whose second phase starts
// at period end with the new price and quantity, and records the change
// in the subscription's metadata. An empty price and zero quantity clear
// it.
func (s *Stripe) ScheduleChange(ctx context.Context, subID, priceID string, quantity int) error {
	sub, item, err := s.item(ctx, subID)
	if err != nil {
		return err
	}
	if err := s.releaseSchedule(ctx, sub); err != nil {
		return err
	}
	meta := withContext(ctx, &stripe.SubscriptionParams{})
	clearScheduleMetadata(meta)
	if priceID != "" || quantity > 0 {
		if priceID == "" {
			priceID = item.Price.ID
		}
		if quantity == 0 {
			quantity = int(item.Quantity)
		}
		sched, err := s.schedules.New(withContext(ctx, &stripe.SubscriptionScheduleParams{FromSubscription: stripe.String(subID)}))
		if err != nil {
			return providerError(err)
		}
		_, err = s.schedules.Update(sched.ID, withContext(ctx, &stripe.SubscriptionScheduleParams{
			EndBehavior: stripe.String("release"),
			Phases: []*stripe.SubscriptionSchedulePhaseParams{
				{Items: []*stripe.SubscriptionSchedulePhaseItemParams{{Price: stripe.String(item.Price.ID), Quantity: stripe.Int64(item.Quantity)}},
					StartDate: stripe.Int64(sub.CurrentPeriodStart), EndDate: stripe.Int64(sub.CurrentPeriodEnd)},
				{Items: []*stripe.SubscriptionSchedulePhaseItemParams{{Price: stripe.String(priceID), Quantity: stripe.Int64(int64(quantity))}}},
			},
		}))
		if err != nil {
			return providerError(err)
		}
		meta.AddMetadata(metaScheduledPrice, priceID)
		meta.AddMetadata(metaScheduledQuantity, strconv.Itoa(quantity))
	}
	_, err = s.subs.Update(subID, meta)
	return providerError(err)
}

// StartTrial moves the subscription to the trial's price with a trial
// end; without a payment method by then Stripe pauses it, and the
// fallback price in the metadata names the plan to return to.
func (s *Stripe) StartTrial(ctx context.Context, subID, priceID string, quantity, days int, fallbackPriceID string) error {
	_, item, err := s.item(ctx, subID)
	if err != nil {
		return err
	}
	p := withContext(ctx, &stripe.SubscriptionParams{
		Items:             []*stripe.SubscriptionItemsParams{{ID: stripe.String(item.ID), Price: stripe.String(priceID), Quantity: stripe.Int64(int64(quantity))}},
		TrialEnd:          stripe.Int64(time.Now().Add(time.Duration(days) * 24 * time.Hour).Unix()),
		ProrationBehavior: stripe.String("none"),
		TrialSettings: &stripe.SubscriptionTrialSettingsParams{EndBehavior: &stripe.SubscriptionTrialSettingsEndBehaviorParams{
			MissingPaymentMethod: stripe.String(string(stripe.SubscriptionTrialSettingsEndBehaviorMissingPaymentMethodPause)),
		}},
	})
	p.AddMetadata(metaTrialFallback, fallbackPriceID)
	_, err = s.subs.Update(subID, p)
	return providerError(err)
}

// ExtendTrial sets a new trial end; Stripe moves the first invoice with it
// and sends customer.subscription.updated, which the worker applies.
func (s *Stripe) ExtendTrial(ctx context.Context, subID string, trialEnd time.Time) error {
	_, err := s.subs.Update(subID, withContext(ctx, &stripe.SubscriptionParams{
		TrialEnd: stripe.Int64(trialEnd.Unix()), ProrationBehavior: stripe.String("none")}))
	return providerError(err)
}

// SetCancelAtPeriodEnd cancels at period end, or resumes.
func (s *Stripe) SetCancelAtPeriodEnd(ctx context.Context, subID string, cancel bool) error {
	_, err := s.subs.Update(subID, withContext(ctx, &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(cancel)}))
	return providerError(err)
}

// PortalURL opens Stripe's billing portal for invoices and payment methods.
func (s *Stripe) PortalURL(ctx context.Context, customerID, returnURL string) (string, error) {
	ps, err := s.portal.New(withContext(ctx, &stripe.BillingPortalSessionParams{Customer: stripe.String(customerID),
		ReturnURL: stripe.String(returnURL)}))
	if err != nil {
		return "", providerError(err)
	}
	return ps.URL, nil
}
