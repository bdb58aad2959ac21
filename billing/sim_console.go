package billing

import (
	"context"
	"time"

	"github.com/entitle-dev/entitle/store"
)

// What the vendor console and the simulated billing portal can do to the
// simulator, so that every lifecycle step can be shown in a demo.

// SimState is an account's simulated customer, subscriptions and invoices.
func (s *Simulator) SimState(ctx context.Context, accountID int64) (store.SimAccount, error) {
	return s.Store.SimAccountByAccount(ctx, accountID)
}

// SimNow is the account's simulated clock reading.
func (s *Simulator) SimNow(c store.SimCustomer) time.Time { return simNow(s.Clock, c) }

func (s *Simulator) updateAccount(ctx context.Context, accountID int64, fn func(a *store.SimAccount, evs *events) error) error {
	cur, err := s.Store.SimAccountByAccount(ctx, accountID)
	if err != nil {
		return err
	}
	var evs events
	if err := s.Store.UpdateSim(ctx, cur.Customer.ID, func(a *store.SimAccount) error { return fn(a, &evs) }); err != nil {
		return err
	}
	return s.send(ctx, evs)
}

// AddPaymentMethod gives the customer a working test card, in place of
// any card that declines (the buyer's step in the simulated billing
// portal). Open invoices wait for the buyer's Pay now, as on Stripe.
func (s *Simulator) AddPaymentMethod(ctx context.Context, accountID int64) error {
	return s.UpdatePaymentMethod(ctx, store.SystemActor("billing simulator"), accountID)
}

// UpdatePaymentMethod is AddPaymentMethod asked for by a person: the
// change and its audit entry are one transaction.
func (s *Simulator) UpdatePaymentMethod(ctx context.Context, actor store.Actor, accountID int64) error {
	cur, err := s.Store.SimAccountByAccount(ctx, accountID)
	if err != nil {
		return err
	}
	return s.Store.UpdateSimAudited(ctx, cur.Customer.ID, func(a *store.SimAccount, ev *store.AuditEvent) error {
		*ev = store.AuditEvent{Actor: actor, Action: "billing.payment_method_update", TargetType: "customer", TargetID: a.Customer.ID,
			Before: map[string]any{"has_payment_method": a.Customer.HasPaymentMethod, "declines": a.Customer.PaymentsFail},
			After:  map[string]any{"has_payment_method": true, "declines": false, "payment_method": "test card 4242"}}
		a.Customer.HasPaymentMethod, a.Customer.PaymentsFail = true, false
		return nil
	})
}

// SetPaymentsFail makes the account's payments fail from now on (true),
// or succeed (false); succeeding retries the open invoices at once, and a
// subscription with none left open is active again.
func (s *Simulator) SetPaymentsFail(ctx context.Context, accountID int64, fail bool) error {
	return s.updateAccount(ctx, accountID, func(a *store.SimAccount, evs *events) error {
		a.Customer.PaymentsFail = fail
		if fail {
			return nil
		}
		now := simNow(s.Clock, a.Customer)
		for i := range a.Subscriptions {
			sub := &a.Subscriptions[i]
			if sub.Status == "canceled" || !s.collect(a, sub, now, evs) {
				continue
			}
			if sub.Status == "past_due" || sub.Status == "unpaid" {
				sub.Status = "active"
				evs.subscription("customer.subscription.updated", sub, now)
			}
		}
		return nil
	})
}

// collect tries to pay every open invoice of the subscription, sending
// invoice.paid or invoice.payment_failed for each, and reports whether
// none is left open.
func (s *Simulator) collect(a *store.SimAccount, sub *store.SimSubscription, now time.Time, evs *events) bool {
	allPaid := true
	for i := range a.Invoices {
		inv := &a.Invoices[i]
		if inv.SubscriptionID != sub.ID || inv.Status != "open" {
			continue
		}
		inv.Attempts++
		if canPay(a.Customer) || inv.AmountDue == 0 {
			inv.Status, inv.PaidAt.Time, inv.PaidAt.Valid = "paid", now, true
			evs.invoice("invoice.paid", sub, *inv, now)
			continue
		}
		allPaid = false
		evs.invoice("invoice.payment_failed", sub, *inv, now)
	}
	return allPaid
}

func hasOpenInvoice(a *store.SimAccount, subID string) bool {
	for _, inv := range a.Invoices {
		if inv.SubscriptionID == subID && inv.Status == "open" {
			return true
		}
	}
	return false
}

// AdvanceToPeriodEnd moves the account's simulated clock to the next
// boundary of its subscription (the trial's end or the period's end) and
// does what Stripe does there: cancel when asked to; end the trial
// (converting with a card, else falling back to the previous plan); apply
// a scheduled change; start a new period and charge it, retrying open
// invoices. A payment that fails makes the subscription past_due; one
// that fails again at the next boundary makes it unpaid (suspended).
func (s *Simulator) AdvanceToPeriodEnd(ctx context.Context, accountID int64) error {
	prices, err := s.Store.SimPrices(ctx)
	if err != nil {
		return err
	}
	return s.updateAccount(ctx, accountID, func(a *store.SimAccount, evs *events) error {
		now := simNow(s.Clock, a.Customer)
		for i := range a.Subscriptions {
			sub := &a.Subscriptions[i]
			if sub.Status == "canceled" {
				continue
			}
			boundary := sub.CurrentPeriodEnd
			if sub.Status == "trialing" && sub.TrialEnd.Valid && sub.TrialEnd.Time.Before(boundary) {
				boundary = sub.TrialEnd.Time
			}
			if boundary.After(now) {
				a.Customer.ClockOffset += int64(boundary.Sub(now) / time.Second)
				now = boundary
			}
			s.periodEnd(a, sub, prices, now, evs)
		}
		return nil
	})
}

func (s *Simulator) periodEnd(a *store.SimAccount, sub *store.SimSubscription, prices map[string]store.SimPrice, now time.Time, evs *events) {
	if sub.CancelAtPeriodEnd {
		sub.Status = "canceled"
		evs.subscription("customer.subscription.deleted", sub, now)
		return
	}
	if sub.Status == "trialing" {
		evs.subscription("customer.subscription.trial_will_end", sub, now)
		switch {
		case a.Customer.HasPaymentMethod:
		case sub.TrialFallbackPriceID != "":
			sub.PriceID = sub.TrialFallbackPriceID
		default:
			sub.Status = "canceled"
			evs.subscription("customer.subscription.deleted", sub, now)
			return
		}
		sub.TrialFallbackPriceID = ""
	}
	if sub.ScheduledPriceID != "" {
		sub.PriceID = sub.ScheduledPriceID
	}
	if sub.ScheduledQuantity > 0 {
		sub.Quantity = sub.ScheduledQuantity
	}
	sub.ScheduledPriceID, sub.ScheduledQuantity = "", 0
	hadOpen := hasOpenInvoice(a, sub.ID)
	sub.CurrentPeriodStart, sub.CurrentPeriodEnd = now, now.AddDate(0, 1, 0)
	price := prices[sub.PriceID]
	if due := amount(price, sub.Quantity) + addOnsAmount(prices, *sub); due > 0 {
		s.newInvoice(a, sub, due, price.Currency, "subscription_cycle", now)
	}
	switch {
	case s.collect(a, sub, now, evs):
		sub.Status = "active"
	case hadOpen:
		sub.Status = "unpaid"
	default:
		sub.Status = "past_due"
	}
	evs.subscription("customer.subscription.updated", sub, now)
}
