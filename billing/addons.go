package billing

import (
	"context"
	"fmt"

	"github.com/stripe/stripe-go/v76"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/tracing"
)

// An add-on is an extra item on the subscription, its quantity the units
// held, marked with metaAddOn so the plan's item is never mistaken for it
// (Stripe does not promise an order of items). Buying and removing one
// changes the provider's subscription only; the account holds the add-on
// once the subscription event is applied, as with every plan change.
const metaAddOn = "entitle_addon"

// ChangeAddOn confirms an add-on bought, changed or removed.
const ChangeAddOn Change = "addon"

// splitItems tells the plan's item from the add-on items.
func splitItems(s *stripe.Subscription) (*stripe.SubscriptionItem, []store.StripeItem) {
	if s.Items == nil {
		return nil, nil
	}
	var plan *stripe.SubscriptionItem
	var addOns []store.StripeItem
	for _, it := range s.Items.Data {
		if it == nil {
			continue
		}
		if it.Metadata[metaAddOn] == "" {
			if plan == nil {
				plan = it
			}
			continue
		}
		if it.Price != nil {
			addOns = append(addOns, store.StripeItem{ID: it.ID, PriceID: it.Price.ID, Quantity: int(it.Quantity)})
		}
	}
	return plan, addOns
}

// AddOnOffer is one add-on as the buyer sees it on /billing.
type AddOnOffer struct {
	store.BillingAddOn
	// Offered: the current plan may buy it; Available: the account's
	// country may have its feature.
	Offered   bool
	Available bool
}

// AddOns lists the add-ons of the account's product: those the current
// plan may buy, and those it holds.
func (b *Billing) AddOns(ctx context.Context, st store.BillingState) ([]AddOnOffer, error) {
	var subID int64
	if st.Subscription != nil {
		subID = st.Subscription.ID
	}
	all, err := b.Store.BillingAddOns(ctx, st.Account.ID, st.ProductID, subID)
	if err != nil {
		return nil, err
	}
	state, err := b.Store.AccountState(ctx, st.Account.ID)
	if err != nil {
		return nil, err
	}
	var ps licensing.ProductState
	for _, p := range state.Products {
		if p.Product == st.ProductKey {
			ps = p
		}
	}
	var out []AddOnOffer
	for _, a := range all {
		o := AddOnOffer{BillingAddOn: a, Available: true}
		if st.Subscription != nil {
			o.Offered = !a.Retired && a.OfferedOn(st.Subscription.PlanKey, st.CurrentValues)
		}
		o.Available = addOnPermitted(ps, a)
		if o.Offered || o.Units > 0 {
			out = append(out, o)
		}
	}
	return out, nil
}

// addOnPermitted applies the account's regional and export rules (the
// ones evaluation applies) to the add-on's feature: an add-on is not sold
// where its feature may not be used.
func addOnPermitted(ps licensing.ProductState, a store.BillingAddOn) bool {
	f, ok := ps.Feature(a.Feature)
	return ok && ps.Regions.FeaturePermitted(ps.Country, f)
}

// AddOnPreview is what buying, changing or removing an add-on would do.
type AddOnPreview struct {
	AddOn      AddOnOffer
	From, To   int      // units held now and after
	Charge     *Preview // more units: charged now, prorated
	LimitNow   *int64   // the feature's limit now and after (nil: not counted, or unlimited)
	LimitAfter *int64
	PlanName   string
}

// PreviewAddOn says what holding units of add-on key would do (0 removes
// it): the prorated charge now for more, the limit before and after.
func (b *Billing) PreviewAddOn(ctx context.Context, accountID int64, key string, units int) (AddOnPreview, error) {
	st, err := b.State(ctx, accountID)
	if err != nil {
		return AddOnPreview{}, err
	}
	p, err := b.addOnChange(ctx, st, key, units)
	if err != nil || units <= p.From {
		return p, err
	}
	sub := st.Subscription
	charge, err := b.Provider.PreviewAddOn(ctx, sub.CustomerID.String, sub.StripeSubscription.String, p.AddOn.Price.StripePriceID, units)
	if err != nil {
		return p, err
	}
	p.Charge = &charge
	return p, nil
}

// addOnChange is what holding units of add-on key would do but the charge,
// or why it may not be done. SetAddOn decides on it alone: the provider is
// asked once, to make the change.
func (b *Billing) addOnChange(ctx context.Context, st store.BillingState, key string, units int) (AddOnPreview, error) {
	if st.Subscription == nil {
		return AddOnPreview{}, invalid("addon", "add-ons are bought on top of a plan: choose a plan first")
	}
	sub, err := changeable(st)
	if err != nil {
		return AddOnPreview{}, err
	}
	if st.Pending > 0 { // a second click before the first change's event landed
		return AddOnPreview{}, invalid("addon", "the last change is still waiting for Stripe's confirmation: try again once it shows")
	}
	offers, err := b.AddOns(ctx, st)
	if err != nil {
		return AddOnPreview{}, err
	}
	var a *AddOnOffer
	for i := range offers {
		if offers[i].Key == key {
			a = &offers[i]
		}
	}
	p := AddOnPreview{From: 0, To: units, PlanName: sub.PlanName}
	switch {
	case a == nil:
		return p, invalid("addon", fmt.Sprintf("no such add-on can be bought on the %s plan", sub.PlanName))
	case units < 0 || units > a.MaxUnits:
		return p, invalid("units", fmt.Sprintf("choose between 0 and %d units of %s", a.MaxUnits, a.Name))
	}
	p.AddOn, p.From = *a, a.Units
	switch {
	case units == a.Units && units == 0:
		return p, invalid("addon", "the subscription does not hold "+a.Name)
	case units == a.Units:
		return p, invalid("units", fmt.Sprintf("the subscription already holds %d of %s", units, a.Name))
	case units > a.Units && !a.Offered:
		return p, invalid("addon", fmt.Sprintf("%s cannot be bought on the %s plan", a.Name, sub.PlanName))
	case units > a.Units && !a.Available:
		return p, invalid("addon", a.Name+" is not available in your region")
	}
	if v, ok := st.CurrentValues[a.Feature]; ok && v.Enabled && v.Limit != nil && a.Quantity > 0 {
		base := *v.Limit
		now := base + licensing.HeldAddOn{Quantity: a.Quantity, Units: a.Units}.Extra()
		after := base + licensing.HeldAddOn{Quantity: a.Quantity, Units: units}.Extra()
		p.LimitNow, p.LimitAfter = &now, &after
	}
	return p, nil
}

// SetAddOn holds units of add-on key from now on (0 removes it): more is
// charged at once, prorated; fewer or none take effect at once, the unused
// time credited by the provider. The account's add-ons change when the
// provider's subscription event is applied. The request is audited as
// actor's before the provider is asked.
func (b *Billing) SetAddOn(ctx context.Context, actor store.Actor, accountID int64, key string, units int) (Pending, error) {
	ctx, span := tracing.Start(ctx, "billing.set_addon") // the provider call, and in local mode its webhook
	defer span.End()
	st, err := b.State(ctx, accountID)
	if err != nil {
		return Pending{}, err
	}
	p, err := b.addOnChange(ctx, st, key, units)
	if err != nil {
		return Pending{}, err
	}
	err = b.Store.RecordBillingRequest(ctx, actor, accountID, "billing.addon_set", "addon", p.AddOn.Key, map[string]any{
		"name": p.AddOn.Name, "plan": p.PlanName, "units_from": p.From, "units_to": p.To})
	if err != nil {
		return Pending{}, err
	}
	return pending(st, ChangeAddOn), b.Provider.SetAddOn(ctx, st.Subscription.StripeSubscription.String, p.AddOn.Key,
		p.AddOn.Price.StripePriceID, units)
}
