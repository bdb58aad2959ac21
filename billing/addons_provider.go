package billing

import (
	"context"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/entitle-dev/entitle/store"
)

// The providers' add-on calls: an item of the subscription per add-on.

// addOnsAmount is what a simulated subscription's add-ons cost a period.
func addOnsAmount(prices map[string]store.SimPrice, sub store.SimSubscription) int64 {
	var total int64
	for _, it := range sub.AddOnItems {
		total += amount(prices[it.PriceID], 1) * int64(it.Quantity)
	}
	return total
}

// addOnItems are the simulated add-on items as Stripe shapes them, each
// marked with the add-on's key.
func addOnItems(sub store.SimSubscription) []any {
	out := make([]any, 0, len(sub.AddOnItems))
	for _, it := range sub.AddOnItems {
		out = append(out, map[string]any{"id": it.ID, "object": "subscription_item", "subscription": sub.ID,
			"quantity": it.Quantity, "price": map[string]any{"id": it.PriceID, "object": "price"},
			"metadata": map[string]any{metaAddOn: it.AddOn}})
	}
	return out
}

func simItemUnits(sub store.SimSubscription, priceID string) (int, int) {
	for i, it := range sub.AddOnItems {
		if it.PriceID == priceID {
			return i, it.Quantity
		}
	}
	return -1, 0
}

// PreviewAddOn is what SetAddOn would charge now: the prorated price of
// the units added (nothing for fewer: the simulator refunds no credit).
func (s *Simulator) PreviewAddOn(ctx context.Context, customerID, subID, priceID string, units int) (Preview, error) {
	prices, err := s.Store.SimPrices(ctx)
	if err != nil {
		return Preview{}, err
	}
	a, err := s.Store.SimAccountByCustomer(ctx, customerID)
	if err != nil {
		return Preview{}, err
	}
	sub := a.Subscription(subID)
	price, ok := prices[priceID]
	if sub == nil || !ok {
		return Preview{}, &ProviderError{Message: "No such subscription or price."}
	}
	now := simNow(s.Clock, a.Customer)
	_, from := simItemUnits(*sub, priceID)
	return Preview{AmountDue: prorate(price.UnitAmount*int64(from), price.UnitAmount*int64(units), now, *sub),
		Currency: price.Currency, At: now}, nil
}

// SetAddOn gives the subscription units of the add-on priced priceID (0
// removes its item) at once, charging the prorated difference for more; a
// declined card refuses it, as for plan changes.
func (s *Simulator) SetAddOn(ctx context.Context, subID, addOnKey, priceID string, units int) error {
	prices, err := s.Store.SimPrices(ctx)
	if err != nil {
		return err
	}
	price, ok := prices[priceID]
	if !ok {
		return &ProviderError{Message: "No such price: " + priceID}
	}
	return s.update(ctx, subID, func(a *store.SimAccount, sub *store.SimSubscription, now time.Time, evs *events) error {
		i, from := simItemUnits(*sub, priceID)
		due := prorate(price.UnitAmount*int64(from), price.UnitAmount*int64(units), now, *sub)
		if due > 0 && !canPay(a.Customer) {
			return cannotPay(a.Customer)
		}
		switch {
		case units == 0 && i >= 0:
			sub.AddOnItems = append(sub.AddOnItems[:i:i], sub.AddOnItems[i+1:]...)
		case units == 0:
		case i < 0:
			sub.AddOnItems = append(sub.AddOnItems, store.SimItem{ID: "si_sim_" + randomID(14), PriceID: priceID, Quantity: units, AddOn: addOnKey})
		default:
			sub.AddOnItems[i].Quantity = units
		}
		if due > 0 {
			inv := s.newInvoice(a, sub, due, price.Currency, "subscription_update", now)
			inv.Status, inv.Attempts, inv.PaidAt.Time, inv.PaidAt.Valid = "paid", 1, now, true
			evs.invoice("invoice.paid", sub, *inv, now)
		}
		evs.subscription("customer.subscription.updated", sub, now)
		return nil
	})
}

// addOnItem finds the subscription's item for an add-on price.
func addOnItem(sub *stripe.Subscription, priceID string) *stripe.SubscriptionItem {
	if sub.Items == nil {
		return nil
	}
	for _, it := range sub.Items.Data {
		if it != nil && it.Price != nil && it.Price.ID == priceID && it.Metadata[metaAddOn] != "" {
			return it
		}
	}
	return nil
}

// addOnItemParams is the item change that gives the subscription units of
// the add-on: a new marked item, a new quantity, or the item deleted.
func addOnItemParams(sub *stripe.Subscription, addOnKey, priceID string, units int) *stripe.SubscriptionItemsParams {
	it := addOnItem(sub, priceID)
	switch {
	case it == nil:
		return &stripe.SubscriptionItemsParams{Price: stripe.String(priceID), Quantity: stripe.Int64(int64(units)),
			Metadata: map[string]string{metaAddOn: addOnKey}}
	case units == 0:
		return &stripe.SubscriptionItemsParams{ID: stripe.String(it.ID), Deleted: stripe.Bool(true)}
	}
	return &stripe.SubscriptionItemsParams{ID: stripe.String(it.ID), Quantity: stripe.Int64(int64(units))}
}

// PreviewAddOn asks Stripe for the upcoming invoice with the add-on's item
// changed, prorated now.
func (s *Stripe) PreviewAddOn(ctx context.Context, customerID, subID, priceID string, units int) (Preview, error) {
	sub, err := s.subs.Get(subID, withContext(ctx, &stripe.SubscriptionParams{}))
	if err != nil {
		return Preview{}, providerError(err)
	}
	now := time.Now().Unix()
	inv, err := s.invoices.Upcoming(withContext(ctx, &stripe.InvoiceUpcomingParams{
		Customer: stripe.String(customerID), Subscription: stripe.String(subID),
		SubscriptionItems:             []*stripe.SubscriptionItemsParams{addOnItemParams(sub, "preview", priceID, units)},
		SubscriptionProrationBehavior: stripe.String("always_invoice"),
		SubscriptionProrationDate:     stripe.Int64(now),
	}))
	if err != nil {
		return Preview{}, providerError(err)
	}
	return Preview{AmountDue: inv.AmountDue, Currency: string(inv.Currency), At: time.Unix(now, 0).UTC()}, nil
}

// SetAddOn adds, changes or deletes the add-on's item at once. More units
// are invoiced now and a failed payment refuses the change
// (error_if_incomplete); fewer are credited to the next invoice.
// customer.subscription.updated carries the items to Entitle.
func (s *Stripe) SetAddOn(ctx context.Context, subID, addOnKey, priceID string, units int) error {
	sub, err := s.subs.Get(subID, withContext(ctx, &stripe.SubscriptionParams{}))
	if err != nil {
		return providerError(err)
	}
	proration := "always_invoice"
	switch it := addOnItem(sub, priceID); {
	case it == nil && units == 0:
		return nil // nothing held, nothing to remove
	case it != nil && int64(units) < it.Quantity:
		proration = "create_prorations"
	}
	p := withContext(ctx, &stripe.SubscriptionParams{
		Items:             []*stripe.SubscriptionItemsParams{addOnItemParams(sub, addOnKey, priceID, units)},
		ProrationBehavior: stripe.String(proration),
		PaymentBehavior:   stripe.String("error_if_incomplete"),
	})
	_, err = s.subs.Update(subID, p)
	return providerError(err)
}
