package billing

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// Simulator is the local stand-in for Stripe (the default when no Stripe
// key is set). It keeps customers, subscriptions and invoices in its own
// tables and, for every call and every period end, sends signed
// Stripe-shaped events to the inbox. Each customer has its own simulated
// clock, which the console can advance to the end of the period; payments
// succeed when the customer has a card and the console has not made them
// fail.
type Simulator struct {
	Store   *store.Store
	Clock   licensing.Clock
	Secret  string
	Deliver func(ctx context.Context, payload []byte, signature string) error
}

var _ Provider = (*Simulator)(nil)

// Mode says this is the simulator.
func (s *Simulator) Mode() string { return "local" }

func simNow(clock licensing.Clock, c store.SimCustomer) time.Time {
	return clock.Now().UTC().Truncate(time.Second).Add(time.Duration(c.ClockOffset) * time.Second)
}

func canPay(c store.SimCustomer) bool { return c.HasPaymentMethod && !c.PaymentsFail }

// cannotPay is the refusal of a charge the customer cannot pay: no card
// on file (a free plan's customer never gave one), or one that declines.
func cannotPay(c store.SimCustomer) error {
	if !c.HasPaymentMethod {
		return errNoCard
	}
	return errDeclined
}

var errNoCard = &ProviderError{Declined: true, Message: "There is no payment method on file, so nothing was changed. Add one (Payment methods and invoices), then try again."}

var errDeclined = &ProviderError{Declined: true, Message: "The card was declined (simulated payment failure), so nothing was changed. Update the payment method and try again."}

// amount is what a price costs for a quantity for one period.
func amount(p store.SimPrice, quantity int) int64 {
	if p.SeatBased {
		return p.UnitAmount * int64(quantity)
	}
	return p.UnitAmount
}

// prorate is the charge now for moving from one amount to another for the
// rest of the period (credits are not refunded by the simulator).
func prorate(from, to int64, now time.Time, sub store.SimSubscription) int64 {
	total := sub.CurrentPeriodEnd.Sub(sub.CurrentPeriodStart).Seconds()
	left := sub.CurrentPeriodEnd.Sub(now).Seconds()
	if total <= 0 || left <= 0 || to <= from {
		return 0
	}
	return int64(math.Round(float64(to-from) * min(left/total, 1)))
}

// update runs fn on the customer owning subID, then sends the events.
func (s *Simulator) update(ctx context.Context, subID string, fn func(a *store.SimAccount, sub *store.SimSubscription, now time.Time, evs *events) error) error {
	customerID, err := s.Store.SimCustomerOfSubscription(ctx, subID)
	if errors.Is(err, store.ErrNotFound) {
		return &ProviderError{Message: "No such subscription: " + subID, Err: err}
	}
	if err != nil {
		return err
	}
	var evs events
	err = s.Store.UpdateSim(ctx, customerID, func(a *store.SimAccount) error {
		sub := a.Subscription(subID)
		if sub.Status == "canceled" {
			return &ProviderError{Message: "This subscription has been canceled and can no longer be changed."}
		}
		return fn(a, sub, simNow(s.Clock, a.Customer), &evs)
	})
	if err != nil {
		return err
	}
	return s.send(ctx, evs)
}

func (s *Simulator) newInvoice(a *store.SimAccount, sub *store.SimSubscription, amountDue int64, currency, reason string, now time.Time) *store.SimInvoice {
	a.Invoices = append(a.Invoices, store.SimInvoice{ID: "in_sim_" + randomID(14),
		Number: store.SimInvoiceNumber(a.Customer.ID, len(a.Invoices)+1), AccountID: a.Customer.AccountID,
		CustomerID: a.Customer.ID, SubscriptionID: sub.ID, AmountDue: amountDue, Currency: currency, Status: "open",
		BillingReason: reason, CreatedAt: now})
	inv := &a.Invoices[len(a.Invoices)-1]
	discountInvoice(sub, inv, now)
	return inv
}

// CreateCustomer makes a simulated customer (with no card).
func (s *Simulator) CreateCustomer(ctx context.Context, in CustomerInput) (string, error) {
	id := "cus_sim_" + randomID(14)
	return id, s.Store.CreateSimCustomer(ctx, store.SimCustomer{ID: id, AccountID: in.AccountID, Email: in.Email})
}

// Subscribe completes a simulated checkout at once: for a paid plan the
// buyer "enters" a test card and the first invoice is paid; a free plan or
// a trial asks for no card. The events follow.
func (s *Simulator) Subscribe(ctx context.Context, in SubscribeInput) (string, error) {
	prices, err := s.Store.SimPrices(ctx)
	if err != nil {
		return "", err
	}
	price, ok := prices[in.PriceID]
	if !ok {
		return "", &ProviderError{Message: "No such price: " + in.PriceID}
	}
	var evs events
	err = s.Store.UpdateSim(ctx, in.CustomerID, func(a *store.SimAccount) error {
		if in.ForCustomer && slices.ContainsFunc(a.Subscriptions, func(sub store.SimSubscription) bool {
			return sub.PriceID == in.PriceID && sub.Status != "canceled"
		}) {
			return nil // the vendor's trial is registered already: a repeated call
		}
		if a.Customer.PaymentsFail {
			return errDeclined
		}
		now := simNow(s.Clock, a.Customer)
		fresh := store.SimSubscription{ID: "sub_sim_" + randomID(14),
			AccountID: a.Customer.AccountID, CustomerID: a.Customer.ID, PriceID: in.PriceID, Quantity: in.Quantity,
			Status: "active", CurrentPeriodStart: now, CurrentPeriodEnd: now.AddDate(0, 1, 0), CreatedAt: now}
		if in.TrialDays > 0 { // no card asked, nothing charged until the trial ends
			end := now.Add(time.Duration(in.TrialDays) * 24 * time.Hour)
			fresh.Status, fresh.TrialFallbackPriceID, fresh.CurrentPeriodEnd = "trialing", in.TrialFallbackPriceID, end
			fresh.TrialEnd.Time, fresh.TrialEnd.Valid = end, true
			price.UnitAmount = 0
		} else if amount(price, in.Quantity) > 0 { // Checkout asks for a card only when there is something to pay
			a.Customer.HasPaymentMethod = true
		}
		if in.Promotion != nil {
			fresh.SimDiscount = simDiscountOf(*in.Promotion, now)
		}
		a.Subscriptions = append(a.Subscriptions, fresh)
		sub := &a.Subscriptions[len(a.Subscriptions)-1]
		if !in.ForCustomer { // a trial the vendor starts has no checkout
			evs = append(evs, simEvent{typ: "checkout.session.completed", created: stamp(sub, now), object: map[string]any{
				"id": "cs_sim_" + randomID(14), "object": "checkout.session", "mode": "subscription", "status": "complete",
				"payment_status": "paid", "customer": a.Customer.ID, "subscription": sub.ID,
				"client_reference_id": strconv.FormatInt(in.AccountID, 10)}})
		}
		evs.subscription("customer.subscription.created", sub, now)
		if due := amount(price, in.Quantity); due > 0 {
			inv := s.newInvoice(a, sub, due, price.Currency, "subscription_create", now)
			inv.Status, inv.Attempts, inv.PaidAt.Time, inv.PaidAt.Valid = "paid", 1, now, true
			evs.invoice("invoice.paid", sub, *inv, now)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return "", s.send(ctx, evs)
}

// ChangePlan switches price (and quantity) at once and charges the
// prorated difference; a declined card refuses the change, as Stripe does
// with payment_behavior=error_if_incomplete.
func (s *Simulator) ChangePlan(ctx context.Context, subID, priceID string, quantity int, promo *licensing.Promotion) error {
	prices, err := s.Store.SimPrices(ctx)
	if err != nil {
		return err
	}
	to, ok := prices[priceID]
	if !ok {
		return &ProviderError{Message: "No such price: " + priceID}
	}
	return s.update(ctx, subID, func(a *store.SimAccount, sub *store.SimSubscription, now time.Time, evs *events) error {
		due := prorate(amount(prices[sub.PriceID], sub.Quantity), amount(to, quantity), now, *sub)
		if due > 0 && !canPay(a.Customer) {
			return cannotPay(a.Customer)
		}
		sub.PriceID, sub.Quantity = priceID, quantity
		sub.ScheduledPriceID, sub.ScheduledQuantity = "", 0
		if promo != nil {
			sub.SimDiscount = simDiscountOf(*promo, now)
		}
		if due > 0 {
			inv := s.newInvoice(a, sub, due, to.Currency, "subscription_update", now)
			inv.Status, inv.Attempts, inv.PaidAt.Time, inv.PaidAt.Valid = "paid", 1, now, true
			evs.invoice("invoice.paid", sub, *inv, now)
		}
		evs.subscription("customer.subscription.updated", sub, now)
		return nil
	})
}

// PreviewChange computes what ChangePlan would charge now.
func (s *Simulator) PreviewChange(ctx context.Context, customerID, subID, priceID string, quantity int, promo *licensing.Promotion) (Preview, error) {
	prices, err := s.Store.SimPrices(ctx)
	if err != nil {
		return Preview{}, err
	}
	a, err := s.Store.SimAccountByCustomer(ctx, customerID)
	if err != nil {
		return Preview{}, err
	}
	sub := a.Subscription(subID)
	to, ok := prices[priceID]
	if sub == nil || !ok {
		return Preview{}, &ProviderError{Message: "No such subscription or price."}
	}
	now := simNow(s.Clock, a.Customer)
	due := prorate(amount(prices[sub.PriceID], sub.Quantity), amount(to, quantity), now, *sub)
	p := Preview{AmountDue: due, Subtotal: due, Currency: to.Currency, At: now}
	discount, ok := activeDiscount(sub.SimDiscount, now)
	if promo != nil {
		discount, ok = *promo, true
	}
	if d := discount.DiscountOn(due, to.Currency); ok && d.Amount > 0 {
		p.AmountDue, p.Discount, p.DiscountCode = d.Total, d.Amount, d.Code
	}
	return p, nil
}

// ChangeSeats changes the quantity at once, prorated.
func (s *Simulator) ChangeSeats(ctx context.Context, subID string, quantity int) error {
	customerID, err := s.Store.SimCustomerOfSubscription(ctx, subID)
	if err != nil {
		return &ProviderError{Message: "No such subscription: " + subID, Err: err}
	}
	a, err := s.Store.SimAccountByCustomer(ctx, customerID)
	if err != nil {
		return err
	}
	return s.ChangePlan(ctx, subID, a.Subscription(subID).PriceID, quantity, nil)
}

// ScheduleChange records a change for period end (metadata on the
// subscription, as Entitle does on Stripe).
func (s *Simulator) ScheduleChange(ctx context.Context, subID, priceID string, quantity int) error {
	return s.update(ctx, subID, func(_ *store.SimAccount, sub *store.SimSubscription, now time.Time, evs *events) error {
		sub.ScheduledPriceID, sub.ScheduledQuantity = priceID, quantity
		evs.subscription("customer.subscription.updated", sub, now)
		return nil
	})
}

// StartTrial moves the subscription to the trial plan with no card needed.
func (s *Simulator) StartTrial(ctx context.Context, subID, priceID string, quantity, days int, fallbackPriceID string) error {
	return s.update(ctx, subID, func(_ *store.SimAccount, sub *store.SimSubscription, now time.Time, evs *events) error {
		if sub.Status != "active" {
			return &ProviderError{Message: "A trial can only start from an active subscription."}
		}
		end := now.Add(time.Duration(days) * 24 * time.Hour)
		sub.Status, sub.PriceID, sub.Quantity, sub.TrialFallbackPriceID = "trialing", priceID, quantity, fallbackPriceID
		sub.TrialEnd.Time, sub.TrialEnd.Valid = end, true
		sub.CurrentPeriodStart, sub.CurrentPeriodEnd = now, end
		sub.ScheduledPriceID, sub.ScheduledQuantity, sub.CancelAtPeriodEnd = "", 0, false
		evs.subscription("customer.subscription.updated", sub, now)
		return nil
	})
}

// ExtendTrial moves the trial's end, as Stripe does when trial_end is
// updated: the period ends with the trial, nothing is charged now.
func (s *Simulator) ExtendTrial(ctx context.Context, subID string, trialEnd time.Time) error {
	return s.update(ctx, subID, func(_ *store.SimAccount, sub *store.SimSubscription, now time.Time, evs *events) error {
		if sub.Status != "trialing" {
			return &ProviderError{Message: "Only a trialing subscription's trial can be extended."}
		}
		sub.TrialEnd.Time, sub.TrialEnd.Valid = trialEnd, true
		sub.CurrentPeriodEnd = trialEnd
		evs.subscription("customer.subscription.updated", sub, now)
		return nil
	})
}

// SetCancelAtPeriodEnd cancels at period end, or resumes.
func (s *Simulator) SetCancelAtPeriodEnd(ctx context.Context, subID string, cancel bool) error {
	return s.update(ctx, subID, func(_ *store.SimAccount, sub *store.SimSubscription, now time.Time, evs *events) error {
		sub.CancelAtPeriodEnd = cancel
		evs.subscription("customer.subscription.updated", sub, now)
		return nil
	})
}

// SimulatorPortalPath is the simulator's stand-in for Stripe's billing portal.
const SimulatorPortalPath = "/billing/simulator"

// PortalURL is the simulator's own page for cards and invoices.
func (s *Simulator) PortalURL(context.Context, string, string) (string, error) {
	return SimulatorPortalPath, nil
}
