package billing

import (
	"context"
	"strings"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/tracing"
)

// The buyer's journeys on /billing. Each checks the request against the
// account's state, then makes one provider call; the provider's events
// change the subscription. Each returns a Pending: the event sequence
// seen before the call, which the page polls past.

// Pending is what a journey started: the page shows "pending" until the
// subscription's event sequence moves past Since, or sends the buyer to
// RedirectURL (Stripe Checkout, Stripe's billing portal) first.
type Pending struct {
	Since       int64
	RedirectURL string
	Change      Change // what was asked, for the confirmation once it is applied
}

// Change names a journey, so that the page can confirm it in words once
// the provider's events have been applied.
type Change string

const (
	ChangeUpgrade   Change = "upgrade"
	ChangeDowngrade Change = "downgrade"
	ChangeSubscribe Change = "subscribe"
	ChangeSeats     Change = "seats"
	ChangeTrial     Change = "trial"
	ChangeConvert   Change = "convert"
	ChangePay       Change = "pay"
	ChangeCancel    Change = "cancel"
	ChangeResume    Change = "resume"
	ChangeKeep      Change = "keep"
)

// Direction is how a plan change is applied.
type Direction string

const (
	Upgrade   Direction = "upgrade"   // at once, prorated
	Downgrade Direction = "downgrade" // at period end
	Trial     Direction = "trial"     // a trial of a higher plan
	Subscribe Direction = "subscribe" // a first subscription
)

// ChangePreview is what the buyer sees before confirming a change.
type ChangePreview struct {
	Direction   Direction
	Plan        store.BillingPlan
	Charge      *Preview // upgrades: the prorated amount charged now
	Changes     []licensing.FeatureChange
	Seats       int                // seats after the change
	SeatsToFree int                // assigned beyond Seats
	Holders     []store.SeatHolder // who holds seats, most recent first
	EffectiveAt time.Time          // downgrades: the period end
	TrialEnds   time.Time          // trials
	CurrentPlan string             // the plan's name now (a trial falls back to it)
	// Promotion is the code typed with the change; Discount is what it
	// takes off the amount it reaches: the charge now (upgrade), the first
	// month (subscribe), the month from the period end (downgrade).
	Promotion *licensing.Promotion
	Discount  *licensing.Discount
}

// State is the account's billing state.
func (b *Billing) State(ctx context.Context, accountID int64) (store.BillingState, error) {
	return b.Store.BillingState(ctx, accountID)
}

func invalid(field, msg string) error { return store.Invalid(field, msg) }

// changeable is the subscription a change applies to, refusing states in
// which plans, seats and add-ons cannot change. One that ends at period
// end is refused too: seats bought or a plan raised now would be charged
// for days that end with it, so the buyer resumes it first.
func changeable(st store.BillingState) (*store.BillingSubscription, error) {
	sub := st.Subscription
	switch {
	case sub == nil || !sub.StripeSubscription.Valid:
		return nil, invalid("subscription", "this account has no Stripe subscription yet")
	case sub.Status == string(licensing.Canceled):
		return nil, invalid("subscription", "the subscription is canceled")
	case sub.CancelAtPeriodEnd:
		return nil, invalid("subscription", "the subscription ends at period end: resume it first (Resume, at the top of Billing), then change its plan, seats or add-ons")
	case sub.Status == string(licensing.Suspended):
		return nil, invalid("subscription", "the subscription is suspended: pay the open invoice first (Pay now, at the top of Billing)")
	case sub.Status == string(licensing.PastDue):
		return nil, invalid("subscription", "a payment is past due: pay the open invoice (Pay now, at the top of Billing) or update the payment method first; plan and seat changes open again once it is paid")
	case sub.Status == string(licensing.Trialing):
		return nil, invalid("subscription", "during a trial, plans and seats do not change: convert the trial first (Convert now, at the top of Billing), or cancel")
	}
	return sub, nil
}

func pending(st store.BillingState, change Change) Pending {
	if st.Subscription == nil {
		return Pending{Change: change}
	}
	return Pending{Since: st.Subscription.EventSeq, Change: change}
}

// PreviewChange says what moving to planKey would do: the charge now for
// an upgrade; for a downgrade, the features lost, the limits that shrink
// and the seats to free, from the period end.
func (b *Billing) PreviewChange(ctx context.Context, accountID int64, planKey string) (ChangePreview, error) {
	return b.PreviewChangeWithCode(ctx, accountID, planKey, "")
}

// PreviewChangeWithCode is PreviewChange with a promotion code typed in
// any case ("" for none): the preview carries the discount. A code that
// cannot be used is a field error on promotion_code, returned with the
// preview as it is without the code.
func (b *Billing) PreviewChangeWithCode(ctx context.Context, accountID int64, planKey, code string) (ChangePreview, error) {
	st, err := b.State(ctx, accountID)
	if err != nil {
		return ChangePreview{}, err
	}
	target, err := buyablePlan(st, planKey)
	if err != nil {
		return ChangePreview{}, err
	}
	p := ChangePreview{Plan: target, Changes: licensing.DiffPlans(st.Features, st.CurrentValues, target.Values)}
	if st.Subscription == nil {
		p.Direction, p.Seats = Subscribe, 1
		return b.withPromotion(ctx, st, p, code)
	}
	sub, err := changeable(st)
	if err != nil {
		return p, err
	}
	p.Seats, p.CurrentPlan = sub.Seats, sub.PlanName
	switch {
	case target.Rank > sub.PlanRank:
		p.Direction = Upgrade
		charge, err := b.Provider.PreviewChange(ctx, sub.CustomerID.String, sub.StripeSubscription.String, target.PriceID.String, sub.Seats, nil)
		if err != nil {
			return p, err
		}
		p.Charge = &charge
	case target.Rank < sub.PlanRank:
		p.Direction, p.EffectiveAt = Downgrade, sub.CurrentPeriodEnd.Time
		if target.SeatBased {
			p.SeatsToFree = licensing.SeatsToFree(sub.SeatsAssigned, p.Seats)
		}
		if p.SeatsToFree > 0 {
			p.Holders, err = b.Store.SeatHolders(ctx, accountID, sub.ID, maxHoldersShown)
		}
	default:
		return p, invalid("plan", "the account is already on "+target.Name)
	}
	if err != nil {
		return p, err
	}
	return b.withPromotion(ctx, st, p, code)
}

// ChangePlan upgrades at once or schedules a downgrade for period end; an
// account with no subscription subscribes (through Checkout with Stripe).
func (b *Billing) ChangePlan(ctx context.Context, actor store.Actor, accountID int64, planKey, returnURL string) (Pending, error) {
	return b.ChangePlanWithCode(ctx, actor, accountID, planKey, "", returnURL)
}

// ChangePlanWithCode is ChangePlan with a promotion code ("" for none):
// the code is checked again and redeemed for the account before the
// provider call, and given back if the provider refuses the change. The
// request is audited as actor's before the provider is asked: the
// redemption's entry says it with a code, the plan change's without.
func (b *Billing) ChangePlanWithCode(ctx context.Context, actor store.Actor, accountID int64, planKey, code, returnURL string) (Pending, error) {
	ctx, span := tracing.Start(ctx, "billing.change_plan") // the provider call, and in local mode its webhook
	defer span.End()
	preview, err := b.PreviewChangeWithCode(ctx, accountID, planKey, code)
	if err != nil {
		return Pending{}, err
	}
	release, err := b.redeem(ctx, actor, accountID, preview.Promotion, preview.Plan, string(preview.Direction))
	if err != nil {
		return Pending{}, err
	}
	if preview.Promotion == nil {
		err = b.Store.RecordBillingRequest(ctx, actor, accountID, "billing.plan_change", "plan", preview.Plan.PlanKey, map[string]any{
			"plan": preview.Plan.Name, "from": preview.CurrentPlan, "direction": string(preview.Direction), "seats": preview.Seats})
		if err != nil {
			return Pending{}, err
		}
	}
	p, err := b.changePlan(ctx, accountID, preview, returnURL)
	if err != nil {
		release()
	}
	return p, err
}

func (b *Billing) changePlan(ctx context.Context, accountID int64, preview ChangePreview, returnURL string) (Pending, error) {
	st, err := b.State(ctx, accountID)
	if err != nil {
		return Pending{}, err
	}
	price := preview.Plan.PriceID.String
	switch preview.Direction {
	case Subscribe:
		customer, err := b.ensureCustomer(ctx, st)
		if err != nil {
			return Pending{}, err
		}
		url, err := b.Provider.Subscribe(ctx, SubscribeInput{AccountID: accountID, CustomerID: customer, PriceID: price, Free: Free(preview.Plan),
			Quantity: preview.Seats, SuccessURL: b.absolute(returnURL), CancelURL: b.absolute(returnURL), Promotion: preview.Promotion})
		return Pending{RedirectURL: url, Change: ChangeSubscribe}, err
	case Upgrade:
		err = b.Provider.ChangePlan(ctx, st.Subscription.StripeSubscription.String, price, preview.Seats, preview.Promotion)
	case Downgrade:
		err = b.Provider.ScheduleChange(ctx, st.Subscription.StripeSubscription.String, price, scheduledSeats(st))
		if err == nil && preview.Promotion != nil {
			err = b.Provider.AttachPromotion(ctx, st.Subscription.StripeSubscription.String, *preview.Promotion)
		}
	}
	return pending(st, Change(preview.Direction)), err
}

// scheduledSeats keeps a seat reduction already waiting for period end.
func scheduledSeats(st store.BillingState) int {
	if s := st.Subscription; s.ScheduledSeats.Valid {
		return int(s.ScheduledSeats.Int64)
	}
	return st.Subscription.Seats
}

// KeepCurrentPlan drops a change waiting for period end, audited as
// actor's request before the provider is asked.
func (b *Billing) KeepCurrentPlan(ctx context.Context, actor store.Actor, accountID int64) (Pending, error) {
	ctx, span := tracing.Start(ctx, "billing.keep_plan") // the provider call, and in local mode its webhook
	defer span.End()
	st, err := b.State(ctx, accountID)
	if err != nil {
		return Pending{}, err
	}
	sub, err := changeable(st)
	if err != nil {
		return Pending{}, err
	}
	if !sub.ScheduledPlanKey.Valid && !sub.ScheduledSeats.Valid {
		return Pending{}, invalid("plan", "no change is scheduled")
	}
	dropped := map[string]any{"plan": sub.PlanName, "seats": sub.Seats}
	if sub.ScheduledPlanName.Valid {
		dropped["scheduled_plan"] = sub.ScheduledPlanName.String
	}
	if sub.ScheduledSeats.Valid && int(sub.ScheduledSeats.Int64) != sub.Seats { // a downgrade alone keeps the seats
		dropped["scheduled_seats"] = sub.ScheduledSeats.Int64
	}
	if err := b.Store.RecordBillingRequest(ctx, actor, accountID, "billing.keep_plan", "subscription", itoa(sub.ID), dropped); err != nil {
		return Pending{}, err
	}
	return pending(st, ChangeKeep), b.Provider.ScheduleChange(ctx, sub.StripeSubscription.String, "", 0)
}

// buyablePlan is the plan the account may move onto: one it may see
// (store.BillingState lists no other, so a pilot it is not listed for is
// "no such plan", whatever the form posted), sold to it (not retired) and
// allowed in its country. Its current plan passes, for the callers to
// refuse as "already on it".
func buyablePlan(st store.BillingState, planKey string) (store.BillingPlan, error) {
	target, ok := st.Plan(planKey)
	current := st.Subscription != nil && st.Subscription.PlanKey == planKey
	switch {
	case !ok || !target.PriceID.Valid:
		return target, invalid("plan", "no such plan can be bought")
	case !target.Buyable && !current:
		return target, invalid("plan", target.Name+" is no longer sold")
	case !target.Available && !current:
		return target, invalid("plan", target.Name+" is not available in your region")
	}
	return target, nil
}

// trialTarget checks that the account may start a trial of planKey: the
// plan has one, the account has not had it, and it is a higher plan than
// an active subscription's.
func trialTarget(st store.BillingState, planKey string) (store.BillingPlan, *store.BillingSubscription, error) {
	target, err := buyablePlan(st, planKey)
	switch {
	case err != nil:
		return target, nil, err
	case target.TrialDays <= 0:
		return target, nil, invalid("plan", target.Name+" has no trial")
	case st.TrialsUsed[planKey]:
		return target, nil, invalid("plan", "this account has already had its trial of "+target.Name)
	}
	sub, err := changeable(st)
	if err != nil {
		return target, nil, err
	}
	if sub.Status != string(licensing.Active) || target.Rank <= sub.PlanRank {
		return target, nil, invalid("plan", "a trial is for a higher plan, from an active subscription")
	}
	return target, sub, nil
}

// PreviewTrial says what a trial of planKey gives and when it ends.
func (b *Billing) PreviewTrial(ctx context.Context, accountID int64, planKey string) (ChangePreview, error) {
	st, err := b.State(ctx, accountID)
	if err != nil {
		return ChangePreview{}, err
	}
	target, sub, err := trialTarget(st, planKey)
	if err != nil {
		return ChangePreview{}, err
	}
	return ChangePreview{Direction: Trial, Plan: target, Seats: sub.Seats, CurrentPlan: sub.PlanName,
		Changes:   licensing.DiffPlans(st.Features, st.CurrentValues, target.Values),
		TrialEnds: b.Clock.Now().Add(time.Duration(target.TrialDays) * 24 * time.Hour)}, nil
}

// StartTrial starts the catalog's trial of a higher plan: once per
// account and plan, no card; without one by the end, the subscription
// returns to the plan it is on now. Audited as actor's request before the
// provider is asked.
func (b *Billing) StartTrial(ctx context.Context, actor store.Actor, accountID int64, planKey string) (Pending, error) {
	ctx, span := tracing.Start(ctx, "billing.start_trial") // the provider call, and in local mode its webhook
	defer span.End()
	st, err := b.State(ctx, accountID)
	if err != nil {
		return Pending{}, err
	}
	target, sub, err := trialTarget(st, planKey)
	if err != nil {
		return Pending{}, err
	}
	err = b.Store.RecordBillingRequest(ctx, actor, accountID, "billing.trial_start", "subscription", itoa(sub.ID), map[string]any{
		"plan": target.Name, "from": sub.PlanName, "trial_days": target.TrialDays})
	if err != nil {
		return Pending{}, err
	}
	return pending(st, ChangeTrial), b.Provider.StartTrial(ctx, sub.StripeSubscription.String, target.PriceID.String, sub.Seats,
		target.TrialDays, sub.PriceID.String)
}

// SetCancelAtPeriodEnd cancels at period end (true) or resumes (false),
// audited as actor's request before the provider is asked: Stripe's
// event that follows names no person.
func (b *Billing) SetCancelAtPeriodEnd(ctx context.Context, actor store.Actor, accountID int64, cancel bool) (Pending, error) {
	ctx, span := tracing.Start(ctx, "billing.cancel_at_period_end") // the provider call, and in local mode its webhook
	defer span.End()
	st, err := b.State(ctx, accountID)
	if err != nil {
		return Pending{}, err
	}
	sub, err := cancelable(st, cancel)
	if err != nil {
		return Pending{}, err
	}
	change, action := ChangeResume, "billing.subscription_resume"
	if cancel {
		change, action = ChangeCancel, "billing.subscription_cancel"
	}
	err = b.Store.RecordBillingRequest(ctx, actor, accountID, action, "subscription", itoa(sub.ID), map[string]any{
		"plan": sub.PlanName, "cancel_at_period_end": cancel, "period_end": sub.CurrentPeriodEnd.Time})
	if err != nil {
		return Pending{}, err
	}
	return pending(st, change), b.Provider.SetCancelAtPeriodEnd(ctx, sub.StripeSubscription.String, cancel)
}

// cancelable is the subscription that may be set to end at period end
// (cancel) or resumed. A free plan is not canceled: it costs nothing, and
// ending it would end the account's access with it (add-ons bought on it
// are stopped by removing them).
func cancelable(st store.BillingState, cancel bool) (*store.BillingSubscription, error) {
	sub := st.Subscription
	switch {
	case sub == nil || !sub.StripeSubscription.Valid || sub.Status == string(licensing.Canceled):
		return nil, invalid("subscription", "there is no running subscription")
	case sub.CancelAtPeriodEnd == cancel && cancel:
		return nil, invalid("subscription", "the subscription already ends at period end")
	case sub.CancelAtPeriodEnd == cancel:
		return nil, invalid("subscription", "the subscription is not set to end")
	case cancel && sub.PriceID.Valid && sub.UnitAmount == 0:
		return nil, invalid("subscription", sub.PlanName+" costs nothing, so there is nothing to cancel")
	}
	return sub, nil
}

// ChangesLocked tells whether the account's running subscription refuses
// plan, seat and add-on changes now (past due, suspended, trialing, or
// ending at period end), so that the page says why in the place of the
// controls instead of offering them.
func ChangesLocked(st store.BillingState) bool {
	sub := st.Subscription
	if sub == nil || !sub.StripeSubscription.Valid || sub.Status == string(licensing.Canceled) {
		return false
	}
	_, err := changeable(st)
	return err != nil
}

// CanCancel tells whether the account's subscription may be set to end at
// period end, so that the page offers it only then.
func CanCancel(st store.BillingState) bool {
	_, err := cancelable(st, true)
	return err == nil
}

// PortalURL is where the buyer manages cards and invoices.
func (b *Billing) PortalURL(ctx context.Context, accountID int64, returnURL string) (string, error) {
	st, err := b.State(ctx, accountID)
	if err != nil {
		return "", err
	}
	customer, err := b.ensureCustomer(ctx, st)
	if err != nil {
		return "", err
	}
	return b.Provider.PortalURL(ctx, customer, b.absolute(returnURL))
}

func (b *Billing) ensureCustomer(ctx context.Context, st store.BillingState) (string, error) {
	if st.Account.StripeCustomerID.Valid {
		return st.Account.StripeCustomerID.String, nil
	}
	id, err := b.Provider.CreateCustomer(ctx, CustomerInput{AccountID: st.Account.ID, Slug: st.Account.Slug, Name: st.Account.Name})
	if err != nil {
		return "", err
	}
	return id, b.Store.SetStripeCustomer(ctx, store.Actor{Type: "system", Label: "billing"}, st.Account.ID, id)
}

func (b *Billing) absolute(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return strings.TrimSuffix(b.PublicURL, "/") + path
}

// maxHoldersShown caps the seat holders a downgrade or seat-reduction
// preview lists (least active first, so the ones to free come first).
const maxHoldersShown = 500
