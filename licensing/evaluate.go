package licensing

import (
	"math"
	"time"
)

// Evaluate decides whether an account (and, when in.Seat says so, a user) may
// use a feature. It is the one place access is decided (DESIGN.md,
// "Entitlement evaluation"): the portal, the API and the offline verifier all
// call it, so every rule lives here and nowhere else.
//
// Precedence: a regional or export rule that keeps the feature from the
// account's country (region restricted, whatever a grant says); then no
// subscription; then the subscription's status (canceled,
// suspended, past due beyond grace, expired trial); then the feature's value
// after add-ons and grants (not in plan); then seats (no seat); then the limit (limit
// reached). Access otherwise, flagged past_due_grace while in grace.
//
// For limit and metered features the decision carries Limit, Used and
// Remaining whenever the feature is enabled, even when access is denied for
// another reason, so the portal can show usage next to the reason. Boolean
// features never carry them. The pointers in the decision are always fresh.
func Evaluate(in Input) Decision { return evaluate(in, nil) }

// figurePointers holds read-only pointers to figures a Checker hands out
// again and again, so that a check allocates nothing; a figure not in it
// gets a fresh pointer. A nil figurePointers gives fresh pointers always.
type figurePointers map[int64]*int64

func (f figurePointers) of(v int64) *int64 {
	if p, ok := f[v]; ok {
		return p
	}
	return ptr(v)
}

// add makes v one of the shared figures.
func (f figurePointers) add(v int64) {
	if _, ok := f[v]; !ok {
		f[v] = ptr(v)
	}
}

func evaluate(in Input, shared figurePointers) Decision {
	if !in.Regions.FeaturePermitted(in.Country, in.Feature) {
		// No figures: the account cannot use the feature at all here, so a
		// limit would only suggest it could buy more of it.
		return Decision{Reason: ReasonRegionRestricted}
	}
	value := resolveValue(in.Feature.Key, in.Plan, in.AddOns, in.Grants, in.Now)
	d := figures(in.Feature.Kind, value, in.Used, shared)

	deny := func(r Reason) Decision {
		d.HasAccess, d.Reason = false, r
		return d
	}

	sub := in.Subscription
	if sub == nil {
		return deny(ReasonNotInPlan)
	}
	inGrace := false
	switch sub.Status {
	case Active:
	case Canceled:
		return deny(ReasonCanceled)
	case Suspended:
		return deny(ReasonSuspended)
	case PastDue:
		if !sub.InGrace(in.Now) {
			return deny(ReasonSuspended)
		}
		inGrace = true
	case Trialing:
		if !sub.TrialEndsAt.IsZero() && !in.Now.Before(sub.TrialEndsAt) {
			return deny(ReasonTrialExpired)
		}
	default:
		// A status this code does not know (a newer server wrote it, or the
		// row is corrupt) must fail closed. Suspended is the reason that
		// means "access withheld, data kept, billing can restore it"; canceled
		// would tell the vendor's application the customer left for good.
		return deny(ReasonSuspended)
	}

	if !value.Enabled {
		return deny(ReasonNotInPlan)
	}
	if sub.SeatBased && in.Seat == SeatNotHeld {
		return deny(ReasonNoSeat)
	}
	if d.Limit != nil && d.Used >= *d.Limit {
		return deny(ReasonLimitReached)
	}

	d.HasAccess, d.Reason = true, ReasonOK
	if inGrace {
		d.Reason = ReasonPastDueGrace
	}
	return d
}

// resolvedValue is a plan value after grants, held by value so that
// resolving allocates nothing.
type resolvedValue struct {
	Enabled bool
	Limited bool // false: unlimited
	Limit   int64
}

// resolveValue applies the held add-ons, then the active grants, for
// feature key to the plan's value: plan + add-ons × units + grants. An
// add-on is bought, so it counts like a grant that switches on or adds
// room; a grant switching the feature off still wins over both. The input's
// Limit is only read.
func resolveValue(key string, plan *PlanValue, addOns []HeldAddOn, grants []Grant, now time.Time) resolvedValue {
	var v resolvedValue
	if plan != nil && plan.Enabled {
		v.Enabled = true
		if plan.Limit != nil {
			// Limits are never below zero, so later arithmetic cannot wrap.
			v.Limited, v.Limit = true, max(*plan.Limit, 0)
		}
	}
	planHad := v.Enabled

	turnOn, extraUp, hasExtra := addOnsFor(key, addOns)
	var turnOff bool
	var extraDown int64 // summed apart from extraUp so the total does not depend on grant order
	for _, g := range grants {
		if g.FeatureKey != key || !g.Active(now) {
			continue
		}
		switch g.Kind {
		case GrantFeature:
			if g.Enabled {
				turnOn = true
			} else {
				turnOff = true
			}
		case GrantExtraLimit:
			hasExtra = true
			if g.Amount >= 0 {
				extraUp = addSat(extraUp, g.Amount)
			} else {
				extraDown = addSat(extraDown, g.Amount)
			}
		}
	}
	extra := addSat(extraUp, extraDown)

	switch {
	case turnOff:
		// An explicit "off" wins over any "on": a vendor who switched a
		// feature off meant it, and the answer must not depend on the order
		// the store happens to list grants in.
		return resolvedValue{}
	case turnOn && !planHad:
		// The plan lacked the feature: the grant brings its own limit (the
		// extra limit grants) or, with none, no limit at all.
		v.Enabled = true
		if hasExtra {
			v.Limited, v.Limit = true, max(extra, 0)
		}
		return v
	}
	if v.Enabled && v.Limited && hasExtra {
		// A negative total (a grant taking room away) bottoms out at zero:
		// a limit below zero means no more than zero.
		v.Limit = max(addSat(v.Limit, extra), 0)
	}
	return v
}

// figures fills Limit, Used and Remaining for counted features the
// account has; everything else carries none of them.
func figures(kind FeatureKind, v resolvedValue, used int64, shared figurePointers) Decision {
	var d Decision
	if !v.Enabled || !kind.Counted() {
		return d
	}
	// Usage cannot be negative; a negative figure is a caller's mistake and
	// must not buy room beyond the limit.
	d.Used = max(used, 0)
	if v.Limited {
		d.Limit = shared.of(v.Limit)
		d.Remaining = shared.of(max(v.Limit-d.Used, 0)) // both are >= 0: no overflow
	}
	return d
}

// EffectiveSeats is the seat pool of a subscription at now: the purchased
// seats plus every active extra seats grant. It never goes below zero.
func EffectiveSeats(purchased int, grants []Grant, now time.Time) int {
	total := int64(purchased)
	for _, g := range grants {
		if g.Kind == GrantExtraSeats && g.Active(now) {
			total = addSat(total, g.Amount)
		}
	}
	return int(min(max(total, 0), int64(math.MaxInt)))
}

// PeriodStart is the start, in UTC, of the calendar period (day, month or
// year) that contains now. Usage of metered features is summed from here. An
// empty or unknown period behaves as monthly, the common billing cycle.
func PeriodStart(p Period, now time.Time) time.Time {
	t := now.UTC()
	switch p {
	case Daily:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	case Yearly:
		return time.Date(t.Year(), time.January, 1, 0, 0, 0, 0, time.UTC)
	default:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
}

// PeriodEnd is the exclusive end, in UTC, of the period containing now: the
// start of the next one. Usage at PeriodEnd belongs to the next period.
func PeriodEnd(p Period, now time.Time) time.Time {
	start := PeriodStart(p, now)
	switch p {
	case Daily:
		return start.AddDate(0, 0, 1)
	case Yearly:
		return start.AddDate(1, 0, 0)
	default:
		return start.AddDate(0, 1, 0)
	}
}

// grace is the subscription's grace period, DefaultGracePeriod unless set.
func (s SubscriptionState) grace() time.Duration {
	if s.GracePeriod > 0 {
		return s.GracePeriod
	}
	return DefaultGracePeriod
}

// InGrace reports whether a past-due subscription still keeps access at now.
// Grace ends exactly at PastDueSince + grace. A past-due subscription with no
// recorded start is not in grace: nothing proves it is still within it.
func (s SubscriptionState) InGrace(now time.Time) bool {
	if s.Status != PastDue || s.PastDueSince.IsZero() {
		return false
	}
	return now.Before(s.PastDueSince.Add(s.grace()))
}

// EffectiveStatus is the status the customer lives under at now: a past-due
// subscription beyond its grace period reports suspended (before Stripe says
// so); any other status is reported as stored.
func (s SubscriptionState) EffectiveStatus(now time.Time) Status {
	if s.Status == PastDue && !s.InGrace(now) {
		return Suspended
	}
	return s.Status
}

// addSat adds without wrapping around: a huge grant saturates instead of
// turning a limit negative.
func addSat(a, b int64) int64 {
	s := a + b
	switch {
	case b > 0 && s < a:
		return math.MaxInt64
	case b < 0 && s > a:
		return math.MinInt64
	}
	return s
}

func ptr(v int64) *int64 { return &v }
