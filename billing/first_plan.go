package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/entitle-dev/entitle/licensing"
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
	// PromotionCode, typed in any case, discounts a paid plan; Actor is
	// who redeems it, for the audit.
	PromotionCode string
	Actor         store.Actor
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
			return Pending{}, invalid("seats", fmt.Sprintf("choose between 1 and %d seats", MaxCheckoutSeats))
		}
	}
	subscribe := SubscribeInput{AccountID: accountID, PriceID: target.PriceID.String, Quantity: seats, Free: Free(target),
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
	if in.PromotionCode != "" && (in.Trial || Free(target)) {
		return Pending{}, invalid(promotionField, "a code takes money off a paid plan: "+target.Name+" costs nothing now")
	}
	promo, err := b.promotionFor(ctx, st, target, in.PromotionCode)
	if err != nil {
		return Pending{}, err
	}
	subscribe.Promotion = promo
	subscribe.CustomerID, err = b.ensureCustomer(ctx, st)
	if err != nil {
		return Pending{}, err
	}
	release, err := b.redeem(ctx, in.Actor, accountID, promo, target, "checkout")
	if err != nil {
		return Pending{}, err
	}
	url, err := b.Provider.Subscribe(ctx, subscribe)
	if err != nil {
		release()
	}
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

// RegisterVendorTrial gives a trial the vendor started (the console, the
// accounts API or `entitle accounts create --trial`) its subscription at
// the provider, without a checkout, so that adding a card, converting and
// the trial's end work as for a trial begun in the portal. The account's
// row exists already (the vendor's answer shows the trial at once); the
// provider's events adopt it, being for the same product.
func (b *Billing) RegisterVendorTrial(ctx context.Context, accountID int64) error {
	st, err := b.State(ctx, accountID)
	if err != nil {
		return err
	}
	sub := st.Subscription
	if sub == nil || sub.Status != string(licensing.Trialing) || sub.StripeSubscription.Valid {
		return nil // no trial, or one the provider has already
	}
	plan, ok := st.Plan(sub.PlanKey)
	if !ok || !plan.PriceID.Valid || plan.TrialDays <= 0 {
		return invalid("plan", sub.PlanName+" has no price with a trial at the billing provider")
	}
	in := SubscribeInput{AccountID: accountID, PriceID: plan.PriceID.String, Quantity: max(sub.Seats, 1),
		TrialDays: plan.TrialDays, ForCustomer: true, IdempotencyKey: fmt.Sprintf("entitle-vendor-trial-%d", sub.ID)}
	if fallback, ok := FreePlan(st); ok {
		in.TrialFallbackPriceID = fallback.PriceID.String
	}
	if in.CustomerID, err = b.ensureCustomer(ctx, st); err != nil {
		return err
	}
	_, err = b.Provider.Subscribe(ctx, in)
	return err
}

// RegisterVendorTrials registers every trial the vendor started in the
// last day that the provider has not confirmed: the console and the API
// register theirs at once, and this catches a provider that was down then
// and the command line's, which has no billing of its own.
func (b *Billing) RegisterVendorTrials(ctx context.Context) (int, error) {
	ids, err := b.Store.UnregisteredTrials(ctx, b.Clock.Now().Add(-24*time.Hour))
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, id := range ids {
		if err := b.RegisterVendorTrial(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("account %d: %w", id, err))
		}
	}
	return len(ids) - len(errs), errors.Join(errs...)
}

// RegisterVendorTrialsEvery runs RegisterVendorTrials until ctx ends.
func (b *Billing) RegisterVendorTrialsEvery(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if n, err := b.RegisterVendorTrials(ctx); err != nil {
			b.Logger.Error("vendor trials", "registered", n, "err", err)
		} else if n > 0 {
			b.Logger.Info("vendor trials", "registered", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// How the plan chosen at sign-up starts once the address is confirmed.
const (
	StartFree     = "free"     // at once, at no cost
	StartTrial    = "trial"    // at once, without a card
	StartCheckout = "checkout" // after the checkout page
)

// SignupStart is the plan a sign-up starts and how: what the verification
// page announces and what the verification does.
type SignupStart struct {
	Plan store.BillingPlan
	Way  string // StartFree, StartTrial, StartCheckout; "" when no such plan is sold
	// Seats is what a trial of a seat-based plan starts with (TrialSeats);
	// 0 otherwise (one for a plan without seats, the buyer's choice at
	// checkout).
	Seats     int
	TrialEnds time.Time // a trial started at now ends then
}

// StartOfSignup decides how the plan chosen at sign-up (its key; "" for
// the free plan) starts: free at once, the catalog's trial without a card,
// else through checkout.
func StartOfSignup(st store.BillingState, planKey string, now time.Time) SignupStart {
	if planKey == "" {
		if free, ok := FreePlan(st); ok {
			planKey = free.PlanKey
		}
	}
	plan, ok := st.Plan(planKey)
	switch {
	case !ok:
		return SignupStart{}
	case Free(plan):
		return SignupStart{Plan: plan, Way: StartFree}
	case plan.TrialDays > 0:
		out := SignupStart{Plan: plan, Way: StartTrial, TrialEnds: now.Add(time.Duration(plan.TrialDays) * 24 * time.Hour)}
		if plan.SeatBased {
			out.Seats = TrialSeats
		}
		return out
	}
	return SignupStart{Plan: plan, Way: StartCheckout}
}
