package billing

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"time"

	"github.com/entitle-dev/entitle/store"
)

// SimulatorInvoicePath is the simulator's printable invoice page, its
// stand-in for Stripe's hosted invoice page.
const SimulatorInvoicePath = "/billing/invoices/"

// Statement reads the simulated customer's card, invoices and next invoice.
func (s *Simulator) Statement(ctx context.Context, customerID, subID string) (Statement, error) {
	prices, err := s.Store.SimPrices(ctx)
	if err != nil {
		return Statement{}, err
	}
	a, err := s.Store.SimAccountByCustomer(ctx, customerID)
	if errors.Is(err, store.ErrNotFound) {
		return Statement{}, nil
	}
	if err != nil {
		return Statement{}, err
	}
	st := Statement{HasPaymentMethod: a.Customer.HasPaymentMethod, Declines: a.Customer.HasPaymentMethod && a.Customer.PaymentsFail}
	switch {
	case st.Declines:
		st.PaymentMethod = "Test card •••• 0341"
	case st.HasPaymentMethod:
		st.PaymentMethod = "Test card •••• 4242"
	}
	for _, inv := range slices.Backward(a.Invoices) {
		st.Invoices = append(st.Invoices, SimInvoice(inv))
	}
	if sub := a.Subscription(subID); sub != nil {
		st.Upcoming = simUpcoming(a.Customer, *sub, prices)
	}
	return st, nil
}

// SimInvoice is a simulated invoice as the buyer reads it.
func SimInvoice(inv store.SimInvoice) Invoice {
	return Invoice{ID: inv.ID, Number: inv.Number, Created: inv.CreatedAt, AmountDue: inv.AmountDue, Currency: inv.Currency,
		Status: inv.Status, Reason: inv.BillingReason, URL: SimulatorInvoicePath + url.PathEscape(inv.Number),
		Discount: inv.DiscountAmount, DiscountCode: inv.DiscountCode}
}

// simUpcoming is the invoice the next boundary will raise: after a trial
// without a card, the plan it falls back to; a change waiting for period
// end, applied; none when the subscription ends.
func simUpcoming(c store.SimCustomer, sub store.SimSubscription, prices map[string]store.SimPrice) *Upcoming {
	if sub.Status == "canceled" || sub.CancelAtPeriodEnd {
		return nil
	}
	price, quantity, at := sub.PriceID, sub.Quantity, sub.CurrentPeriodEnd
	if sub.Status == "trialing" {
		if sub.TrialEnd.Valid && sub.TrialEnd.Time.Before(at) {
			at = sub.TrialEnd.Time
		}
		if !c.HasPaymentMethod && sub.TrialFallbackPriceID != "" {
			price = sub.TrialFallbackPriceID
		}
	}
	if sub.ScheduledPriceID != "" {
		price = sub.ScheduledPriceID
	}
	if sub.ScheduledQuantity > 0 {
		quantity = sub.ScheduledQuantity
	}
	p, ok := prices[price]
	if !ok {
		return nil
	}
	due := amount(p, quantity) + addOnsAmount(prices, sub)
	if promo, ok := activeDiscount(sub.SimDiscount, at); ok {
		due = promo.DiscountOn(due, p.Currency).Total
	}
	return &Upcoming{AmountDue: due, Currency: p.Currency, At: at}
}

// PayInvoice charges the card on file for one open invoice, as Stripe's
// hosted invoice page would: invoice.paid follows, and a past-due or
// unpaid subscription with nothing left open is active again. A declined
// card is refused and the attempt is counted.
func (s *Simulator) PayInvoice(ctx context.Context, customerID, number string) (string, error) {
	a, err := s.Store.SimAccountByCustomer(ctx, customerID)
	if err != nil {
		return "", err
	}
	inv, err := s.Store.SimInvoiceByNumber(ctx, a.Customer.AccountID, number)
	if err != nil {
		return "", err
	}
	if inv.Status != "open" {
		return "", &ProviderError{Message: "Invoice " + inv.Number + " is already " + inv.Status + ": there is nothing to pay."}
	}
	if !canPay(a.Customer) {
		// Stripe counts the failed attempt and says so; so does the simulator.
		if err := s.updateAccount(ctx, a.Customer.AccountID, func(a *store.SimAccount, evs *events) error {
			for i := range a.Invoices {
				if inv := &a.Invoices[i]; inv.Number == number && a.Subscription(inv.SubscriptionID) != nil {
					inv.Attempts++
					evs.invoice("invoice.payment_failed", a.Subscription(inv.SubscriptionID), *inv, simNow(s.Clock, a.Customer))
				}
			}
			return nil
		}); err != nil {
			return "", err
		}
		if !a.Customer.HasPaymentMethod {
			return "", &ProviderError{Declined: true, Message: "There is no payment method on file: add one, then pay the invoice."}
		}
		return "", errDeclined
	}
	return "", s.updateAccount(ctx, a.Customer.AccountID, func(a *store.SimAccount, evs *events) error {
		now := simNow(s.Clock, a.Customer)
		for i := range a.Invoices {
			inv := &a.Invoices[i]
			if inv.Number != number || inv.Status != "open" {
				continue
			}
			sub := a.Subscription(inv.SubscriptionID)
			inv.Attempts++
			inv.Status, inv.PaidAt.Time, inv.PaidAt.Valid = "paid", now, true
			evs.invoice("invoice.paid", sub, *inv, now)
			if sub != nil && (sub.Status == "past_due" || sub.Status == "unpaid") && !hasOpenInvoice(a, sub.ID) {
				sub.Status = "active"
				evs.subscription("customer.subscription.updated", sub, now)
			}
		}
		return nil
	})
}

// EndTrial converts a trial now: the plan's first period starts today and
// is charged to the card on file; without a working card nothing changes.
func (s *Simulator) EndTrial(ctx context.Context, subID string) error {
	prices, err := s.Store.SimPrices(ctx)
	if err != nil {
		return err
	}
	return s.update(ctx, subID, func(a *store.SimAccount, sub *store.SimSubscription, now time.Time, evs *events) error {
		switch {
		case sub.Status != "trialing":
			return &ProviderError{Message: "This subscription is not in a trial."}
		case !a.Customer.HasPaymentMethod:
			return &ProviderError{Declined: true, Message: "There is no payment method on file: add one, then convert the trial."}
		case !canPay(a.Customer):
			return errDeclined
		}
		sub.Status, sub.TrialFallbackPriceID = "active", ""
		sub.TrialEnd.Time, sub.TrialEnd.Valid = now, true
		sub.CurrentPeriodStart, sub.CurrentPeriodEnd = now, now.AddDate(0, 1, 0)
		price := prices[sub.PriceID]
		if due := amount(price, sub.Quantity); due > 0 {
			inv := s.newInvoice(a, sub, due, price.Currency, "subscription_cycle", now)
			inv.Status, inv.Attempts, inv.PaidAt.Time, inv.PaidAt.Valid = "paid", 1, now, true
			evs.invoice("invoice.paid", sub, *inv, now)
		}
		evs.subscription("customer.subscription.updated", sub, now)
		return nil
	})
}
