package billing

import (
	"context"

	"github.com/entitle-dev/entitle/store"
)

// TrialSeats is how many seats a trial started at sign-up or from the
// console gives a seat-based plan.
const TrialSeats = 5

// MaxCheckoutSeats bounds the seats one checkout may buy.
const MaxCheckoutSeats = 1000

// FirstPlan is an account's first subscription: at sign-up, from the
// checkout page, or when the console creates an account.
type FirstPlan struct {
	PlanKey   string
	Seats     int  // seat-based plans; others get one
	Trial     bool // the catalog's trial, needing no card
	ReturnURL string
}

// Free tells whether a plan costs nothing, so it starts without checkout.
func Free(p store.BillingPlan) bool { return p.UnitAmount == 0 }

// StartFirstPlan subscribes an account that has no subscription yet. A free
// plan and a trial need no card; a paid plan goes through checkout (Stripe
// Checkout returns a URL to send the buyer to; the simulator's checkout
// completes at once). Nothing changes locally: the provider's events make
// the subscription, so a checkout abandoned half way leaves the account
// without one.
func (b *Billing) StartFirstPlan(ctx context.Context, accountID int64, in FirstPlan) (Pending, error) {
	st, err := b.State(ctx, accountID)
	if err != nil {
		return Pending{}, err
	}
	if st.Subscription != nil {
		return Pending{}, invalid("plan", "this account already has a subscription: change it on the billing page")
	}
	target, ok := st.Plan(in.PlanKey)
	if !ok || !target.PriceID.Valid {
		return Pending{}, invalid("plan", "no such plan can be bought")
	}
	seats := 1
	if target.SeatBased {
		seats = in.Seats
		if in.Trial && seats == 0 {
			seats = TrialSeats
		}
		if seats < 1 || seats > MaxCheckoutSeats {
			return Pending{}, invalid("seats", "choose between 1 and 1000 seats")
		}
	}
	subscribe := SubscribeInput{AccountID: accountID, PriceID: target.PriceID.String, Quantity: seats,
		SuccessURL: b.absolute(in.ReturnURL), CancelURL: b.absolute(in.ReturnURL)}
	if in.Trial {
		if target.TrialDays == 0 {
			return Pending{}, invalid("plan", target.Name+" has no trial")
		}
		if st.TrialsUsed[target.PlanKey] {
			return Pending{}, invalid("plan", "this account has had its "+target.Name+" trial")
		}
		subscribe.TrialDays = target.TrialDays
		if fallback, ok := FreePlan(st); ok {
			subscribe.TrialFallbackPriceID = fallback.PriceID.String
		}
	}
	subscribe.CustomerID, err = b.ensureCustomer(ctx, st)
	if err != nil {
		return Pending{}, err
	}
	url, err := b.Provider.Subscribe(ctx, subscribe)
	return Pending{RedirectURL: url}, err
}

// FreePlan is the catalog's cheapest free plan: where a trial falls back
// to, and what a sign-up without a chosen plan starts on.
func FreePlan(st store.BillingState) (store.BillingPlan, bool) {
	for _, p := range st.Plans { // ascending rank
		if Free(p) && p.PriceID.Valid {
			return p, true
		}
	}
	return store.BillingPlan{}, false
}
