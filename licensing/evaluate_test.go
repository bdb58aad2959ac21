package licensing

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

var now = time.Date(2025, time.March, 15, 12, 0, 0, 0, time.UTC)

func i64(v int64) *int64 { return &v }

var (
	dashboards = Feature{Key: "dashboards", Name: "Dashboards", Kind: Boolean}
	projects   = Feature{Key: "projects", Name: "Projects", Kind: Limit}
	apiCalls   = Feature{Key: "api_calls", Name: "API calls", Kind: Metered, Period: Monthly}
	on         = &PlanValue{Enabled: true}
	active     = &SubscriptionState{Status: Active}
	seatBased  = &SubscriptionState{Status: Active, SeatBased: true}
)

func limited(n int64) *PlanValue { return &PlanValue{Enabled: true, Limit: i64(n)} }

func pastDue(since time.Duration, grace time.Duration) *SubscriptionState {
	return &SubscriptionState{Status: PastDue, PastDueSince: now.Add(-since), GracePeriod: grace}
}

func trial(endsIn time.Duration) *SubscriptionState {
	return &SubscriptionState{Status: Trialing, TrialEndsAt: now.Add(endsIn)}
}

func featureGrant(key string, enabled bool, expires time.Time) Grant {
	return Grant{Kind: GrantFeature, FeatureKey: key, Enabled: enabled, ExpiresAt: expires}
}

func extraLimit(key string, amount int64, expires time.Time) Grant {
	return Grant{Kind: GrantExtraLimit, FeatureKey: key, Amount: amount, ExpiresAt: expires}
}

// show prints a decision with its pointers followed, for readable failures.
func show(d Decision) string {
	deref := func(p *int64) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("{access:%v reason:%s limit:%s used:%d remaining:%s}",
		d.HasAccess, d.Reason, deref(d.Limit), d.Used, deref(d.Remaining))
}

func allow(r Reason) Decision { return Decision{HasAccess: true, Reason: r} }
func deny(r Reason) Decision  { return Decision{Reason: r} }
func withFigures(d Decision, limit *int64, used int64, remaining *int64) Decision {
	d.Limit, d.Used, d.Remaining = limit, used, remaining
	return d
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	tests := []struct {
		name string
		in   Input
		want Decision
	}{
		// Status.
		{"no subscription", Input{Feature: dashboards, Plan: on}, deny(ReasonNotInPlan)},
		{"active", Input{Feature: dashboards, Plan: on, Subscription: active}, allow(ReasonOK)},
		{"canceled", Input{Feature: dashboards, Plan: on, Subscription: &SubscriptionState{Status: Canceled}}, deny(ReasonCanceled)},
		{"suspended", Input{Feature: dashboards, Plan: on, Subscription: &SubscriptionState{Status: Suspended}}, deny(ReasonSuspended)},
		{"unknown status fails closed", Input{Feature: dashboards, Plan: on, Subscription: &SubscriptionState{Status: "paused"}}, deny(ReasonSuspended)},
		{"empty status fails closed", Input{Feature: dashboards, Plan: on, Subscription: &SubscriptionState{}}, deny(ReasonSuspended)},
		{"status checked before plan", Input{Feature: dashboards, Subscription: &SubscriptionState{Status: Canceled}}, deny(ReasonCanceled)},

		// Grace.
		{"past due in grace", Input{Feature: dashboards, Plan: on, Subscription: pastDue(time.Hour, 0)}, allow(ReasonPastDueGrace)},
		{"past due 1ns before grace ends", Input{Feature: dashboards, Plan: on, Subscription: pastDue(DefaultGracePeriod-1, 0)}, allow(ReasonPastDueGrace)},
		{"past due exactly at grace end", Input{Feature: dashboards, Plan: on, Subscription: pastDue(DefaultGracePeriod, 0)}, deny(ReasonSuspended)},
		{"past due beyond grace", Input{Feature: dashboards, Plan: on, Subscription: pastDue(30*24*time.Hour, 0)}, deny(ReasonSuspended)},
		{"custom grace inside", Input{Feature: dashboards, Plan: on, Subscription: pastDue(59*time.Minute, time.Hour)}, allow(ReasonPastDueGrace)},
		{"custom grace at end", Input{Feature: dashboards, Plan: on, Subscription: pastDue(time.Hour, time.Hour)}, deny(ReasonSuspended)},
		{"past due without start", Input{Feature: dashboards, Plan: on, Subscription: &SubscriptionState{Status: PastDue}}, deny(ReasonSuspended)},
		{"in grace but not in plan", Input{Feature: dashboards, Subscription: pastDue(time.Hour, 0)}, deny(ReasonNotInPlan)},

		// Trial.
		{"trial running", Input{Feature: dashboards, Plan: on, Subscription: trial(time.Nanosecond)}, allow(ReasonOK)},
		{"trial ends exactly now", Input{Feature: dashboards, Plan: on, Subscription: trial(0)}, deny(ReasonTrialExpired)},
		{"trial ended", Input{Feature: dashboards, Plan: on, Subscription: trial(-time.Hour)}, deny(ReasonTrialExpired)},
		{"trial without end", Input{Feature: dashboards, Plan: on, Subscription: &SubscriptionState{Status: Trialing}}, allow(ReasonOK)},

		// Plan and grants.
		{"plan lacks feature", Input{Feature: dashboards, Subscription: active}, deny(ReasonNotInPlan)},
		{"plan has feature off", Input{Feature: dashboards, Plan: &PlanValue{}, Subscription: active}, deny(ReasonNotInPlan)},
		{"grant turns feature on", Input{Feature: dashboards, Subscription: active,
			Grants: []Grant{featureGrant("dashboards", true, future)}}, allow(ReasonOK)},
		{"grant turns feature off", Input{Feature: dashboards, Plan: on, Subscription: active,
			Grants: []Grant{featureGrant("dashboards", false, time.Time{})}}, deny(ReasonNotInPlan)},
		{"off grant wins over on grant", Input{Feature: dashboards, Subscription: active,
			Grants: []Grant{featureGrant("dashboards", true, time.Time{}), featureGrant("dashboards", false, time.Time{})}}, deny(ReasonNotInPlan)},
		{"expired grant ignored", Input{Feature: dashboards, Subscription: active,
			Grants: []Grant{featureGrant("dashboards", true, past)}}, deny(ReasonNotInPlan)},
		{"grant expiring now ignored", Input{Feature: dashboards, Plan: on, Subscription: active,
			Grants: []Grant{featureGrant("dashboards", false, now)}}, allow(ReasonOK)},
		{"grant for another feature ignored", Input{Feature: dashboards, Subscription: active,
			Grants: []Grant{featureGrant("sso", true, time.Time{})}}, deny(ReasonNotInPlan)},
		{"extra limit adds", Input{Feature: projects, Plan: limited(10), Subscription: active, Used: 12,
			Grants: []Grant{extraLimit("projects", 5, future)}}, withFigures(allow(ReasonOK), i64(15), 12, i64(3))},
		{"expired extra limit ignored", Input{Feature: projects, Plan: limited(10), Subscription: active, Used: 12,
			Grants: []Grant{extraLimit("projects", 5, past)}}, withFigures(deny(ReasonLimitReached), i64(10), 12, i64(0))},
		{"extra limit for another feature ignored", Input{Feature: projects, Plan: limited(10), Subscription: active, Used: 3,
			Grants: []Grant{extraLimit("api_calls", 5, time.Time{})}}, withFigures(allow(ReasonOK), i64(10), 3, i64(7))},
		{"negative extra limit bottoms out at zero", Input{Feature: projects, Plan: limited(10), Subscription: active,
			Grants: []Grant{extraLimit("projects", -50, time.Time{})}}, withFigures(deny(ReasonLimitReached), i64(0), 0, i64(0))},
		{"extra limit on unlimited stays unlimited", Input{Feature: apiCalls, Plan: on, Subscription: active, Used: 1 << 40,
			Grants: []Grant{extraLimit("api_calls", 5, time.Time{})}}, withFigures(allow(ReasonOK), nil, 1<<40, nil)},
		{"extra limit alone does not turn a feature on", Input{Feature: apiCalls, Subscription: active,
			Grants: []Grant{extraLimit("api_calls", 5, time.Time{})}}, deny(ReasonNotInPlan)},
		{"grant on absent limit feature is unlimited", Input{Feature: apiCalls, Subscription: active, Used: 7,
			Grants: []Grant{featureGrant("api_calls", true, time.Time{})}}, withFigures(allow(ReasonOK), nil, 7, nil)},
		{"grant on absent limit feature takes extra limits", Input{Feature: apiCalls, Subscription: active, Used: 7,
			Grants: []Grant{featureGrant("api_calls", true, time.Time{}), extraLimit("api_calls", 100, future),
				extraLimit("api_calls", 50, time.Time{}), extraLimit("api_calls", 1000, past)}},
			withFigures(allow(ReasonOK), i64(150), 7, i64(143))},
		{"grant on keeps the plan limit", Input{Feature: projects, Plan: limited(3), Subscription: active, Used: 3,
			Grants: []Grant{featureGrant("projects", true, time.Time{})}}, withFigures(deny(ReasonLimitReached), i64(3), 3, i64(0))},
		{"extra seats do not touch features", Input{Feature: projects, Plan: limited(3), Subscription: active, Used: 1,
			Grants: []Grant{{Kind: GrantExtraSeats, FeatureKey: "projects", Amount: 10}}}, withFigures(allow(ReasonOK), i64(3), 1, i64(2))},

		// Seats.
		{"seat not held", Input{Feature: dashboards, Plan: on, Subscription: seatBased, Seat: SeatNotHeld}, deny(ReasonNoSeat)},
		{"seat held", Input{Feature: dashboards, Plan: on, Subscription: seatBased, Seat: SeatHeld}, allow(ReasonOK)},
		{"account-level check on seat-based", Input{Feature: dashboards, Plan: on, Subscription: seatBased}, allow(ReasonOK)},
		{"not seat-based ignores seat", Input{Feature: dashboards, Plan: on, Subscription: active, Seat: SeatNotHeld}, allow(ReasonOK)},
		{"not in plan before no seat", Input{Feature: dashboards, Subscription: seatBased, Seat: SeatNotHeld}, deny(ReasonNotInPlan)},
		{"no seat keeps figures", Input{Feature: projects, Plan: limited(5), Subscription: seatBased, Seat: SeatNotHeld, Used: 2},
			withFigures(deny(ReasonNoSeat), i64(5), 2, i64(3))},
		{"no seat before limit", Input{Feature: projects, Plan: limited(5), Subscription: seatBased, Seat: SeatNotHeld, Used: 9},
			withFigures(deny(ReasonNoSeat), i64(5), 9, i64(0))},

		// Limits.
		{"one below limit", Input{Feature: projects, Plan: limited(5), Subscription: active, Used: 4}, withFigures(allow(ReasonOK), i64(5), 4, i64(1))},
		{"at limit", Input{Feature: projects, Plan: limited(5), Subscription: active, Used: 5}, withFigures(deny(ReasonLimitReached), i64(5), 5, i64(0))},
		{"over limit", Input{Feature: projects, Plan: limited(5), Subscription: active, Used: 8}, withFigures(deny(ReasonLimitReached), i64(5), 8, i64(0))},
		{"zero limit", Input{Feature: projects, Plan: limited(0), Subscription: active}, withFigures(deny(ReasonLimitReached), i64(0), 0, i64(0))},
		{"metered one below limit", Input{Feature: apiCalls, Plan: limited(1000), Subscription: active, Used: 999}, withFigures(allow(ReasonOK), i64(1000), 999, i64(1))},
		{"metered at limit", Input{Feature: apiCalls, Plan: limited(1000), Subscription: active, Used: 1000}, withFigures(deny(ReasonLimitReached), i64(1000), 1000, i64(0))},
		{"limit in grace", Input{Feature: apiCalls, Plan: limited(10), Subscription: pastDue(time.Hour, 0), Used: 3}, withFigures(allow(ReasonPastDueGrace), i64(10), 3, i64(7))},
		{"limit reached in grace", Input{Feature: apiCalls, Plan: limited(10), Subscription: pastDue(time.Hour, 0), Used: 10}, withFigures(deny(ReasonLimitReached), i64(10), 10, i64(0))},
		{"canceled keeps figures", Input{Feature: apiCalls, Plan: limited(10), Subscription: &SubscriptionState{Status: Canceled}, Used: 3},
			withFigures(deny(ReasonCanceled), i64(10), 3, i64(7))},
		{"negative usage counts as none", Input{Feature: projects, Plan: limited(5), Subscription: active, Used: -100}, withFigures(allow(ReasonOK), i64(5), 0, i64(5))},
		{"boolean carries no figures", Input{Feature: dashboards, Plan: limited(5), Subscription: active, Used: 9}, allow(ReasonOK)},
		{"not in plan carries no figures", Input{Feature: projects, Subscription: active, Used: 9}, deny(ReasonNotInPlan)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.in.Now = now
			if got := Evaluate(tt.in); show(got) != show(tt.want) {
				t.Errorf("Evaluate = %s, want %s", show(got), show(tt.want))
			}
		})
	}
}

func TestEvaluateReturnsFreshPointers(t *testing.T) {
	t.Parallel()
	plan := limited(5)
	d := Evaluate(Input{Feature: projects, Plan: plan, Subscription: active, Used: 1, Now: now})
	if d.Limit == nil || d.Limit == plan.Limit {
		t.Fatalf("Limit = %p, want a fresh pointer (input %p)", d.Limit, plan.Limit)
	}
	*d.Limit, *d.Remaining = 99, 99
	if *plan.Limit != 5 {
		t.Errorf("changing the decision changed the plan's limit to %d", *plan.Limit)
	}
}

func TestEffectiveSeats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		grants []Grant
		want   int
	}{
		{"no grants", nil, 10},
		{"active extra seats", []Grant{{Kind: GrantExtraSeats, Amount: 3}, {Kind: GrantExtraSeats, Amount: 2, ExpiresAt: now.Add(time.Hour)}}, 15},
		{"expired extra seats ignored", []Grant{{Kind: GrantExtraSeats, Amount: 3, ExpiresAt: now}}, 10},
		{"other kinds ignored", []Grant{{Kind: GrantExtraLimit, Amount: 3}, {Kind: GrantFeature, Amount: 3}}, 10},
		{"never below zero", []Grant{{Kind: GrantExtraSeats, Amount: -30}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := EffectiveSeats(10, tt.grants, now); got != tt.want {
				t.Errorf("EffectiveSeats = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPeriods(t *testing.T) {
	t.Parallel()
	utc := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tokyo := time.FixedZone("JST", 9*3600)
	tests := []struct {
		name       string
		period     Period
		at         time.Time
		start, end time.Time
	}{
		{"day", Daily, now, utc(2025, 3, 15), utc(2025, 3, 16)},
		{"month", Monthly, now, utc(2025, 3, 1), utc(2025, 4, 1)},
		{"year", Yearly, now, utc(2025, 1, 1), utc(2026, 1, 1)},
		{"empty is monthly", "", now, utc(2025, 3, 1), utc(2025, 4, 1)},
		{"december rolls the year", Monthly, utc(2024, 12, 31).Add(23 * time.Hour), utc(2024, 12, 1), utc(2025, 1, 1)},
		{"leap day", Daily, utc(2024, 2, 29).Add(time.Hour), utc(2024, 2, 29), utc(2024, 3, 1)},
		{"start instant belongs to its period", Monthly, utc(2025, 4, 1), utc(2025, 4, 1), utc(2025, 5, 1)},
		// 1 April 08:00 in Tokyo is still 31 March in UTC.
		{"calendar is UTC", Monthly, time.Date(2025, 4, 1, 8, 0, 0, 0, tokyo), utc(2025, 3, 1), utc(2025, 4, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := PeriodStart(tt.period, tt.at); !got.Equal(tt.start) || got.Location() != time.UTC {
				t.Errorf("PeriodStart = %v, want %v", got, tt.start)
			}
			if got := PeriodEnd(tt.period, tt.at); !got.Equal(tt.end) || got.Location() != time.UTC {
				t.Errorf("PeriodEnd = %v, want %v", got, tt.end)
			}
		})
	}
}

func TestSubscriptionStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sub     SubscriptionState
		status  Status
		inGrace bool
	}{
		{"active", SubscriptionState{Status: Active}, Active, false},
		{"past due in grace", *pastDue(time.Hour, 0), PastDue, true},
		{"past due at grace end", *pastDue(DefaultGracePeriod, 0), Suspended, false},
		{"past due custom grace", *pastDue(2*time.Hour, 3*time.Hour), PastDue, true},
		{"past due without start", SubscriptionState{Status: PastDue}, Suspended, false},
		{"expired trial reported as stored", *trial(-time.Hour), Trialing, false},
		{"canceled", SubscriptionState{Status: Canceled}, Canceled, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.sub.EffectiveStatus(now); got != tt.status {
				t.Errorf("EffectiveStatus = %s, want %s", got, tt.status)
			}
			if got := tt.sub.InGrace(now); got != tt.inGrace {
				t.Errorf("InGrace = %v, want %v", got, tt.inGrace)
			}
		})
	}
}

func FuzzEvaluate(f *testing.F) {
	f.Add(uint8(1), uint8(1), true, uint8(0), true, true, true, int64(10), int64(9), uint8(0), int64(0), int64(0), int64(0), int64(0), int64(0))
	f.Add(uint8(3), uint8(2), false, uint8(2), false, false, false, int64(0), int64(-5), uint8(7), int64(-1<<62), int64(1<<62), int64(-3600), int64(7), int64(3600))
	f.Add(uint8(2), uint8(0), true, uint8(1), true, true, true, int64(1<<62), int64(-1<<62), uint8(255), int64(1<<63-1), int64(1<<63-1), int64(0), int64(0), int64(0))
	statuses := []Status{Active, Trialing, PastDue, Suspended, Canceled, "unknown"}
	kinds := []FeatureKind{Boolean, Limit, Metered, ""}
	f.Fuzz(func(t *testing.T, status, kind uint8, seatBased bool, seat uint8, hasPlan, planOn, hasLimit bool,
		limit, used int64, grantMask uint8, amountA, amountB, expiresA, trialEnd, pastDueSince int64) {
		in := Input{
			Feature: Feature{Key: "f", Kind: kinds[int(kind)%len(kinds)]},
			Subscription: &SubscriptionState{
				Status: statuses[int(status)%len(statuses)], SeatBased: seatBased,
				TrialEndsAt:  now.Add(time.Duration(trialEnd) * time.Second),
				PastDueSince: now.Add(-time.Duration(pastDueSince) * time.Second),
			},
			Seat: SeatCheck(seat % 3),
			Used: used,
			Now:  now,
		}
		if status%7 == 6 {
			in.Subscription = nil
		}
		if hasPlan {
			in.Plan = &PlanValue{Enabled: planOn}
			if hasLimit {
				in.Plan.Limit = &limit
			}
		}
		expires := now.Add(time.Duration(expiresA) * time.Second)
		all := []Grant{
			featureGrant("f", true, expires), featureGrant("f", false, expires),
			extraLimit("f", amountA, time.Time{}), extraLimit("f", amountB, expires),
			{Kind: GrantExtraSeats, FeatureKey: "f", Amount: amountA}, featureGrant("g", true, time.Time{}),
			extraLimit("g", amountB, time.Time{}), featureGrant("f", true, time.Time{}),
		}
		for i, g := range all {
			if grantMask&(1<<i) != 0 {
				in.Grants = append(in.Grants, g)
			}
		}

		d := Evaluate(in)
		if d.HasAccess && d.Reason != ReasonOK && d.Reason != ReasonPastDueGrace {
			t.Errorf("access with reason %s", d.Reason)
		}
		if !d.HasAccess && (d.Reason == ReasonOK || d.Reason == ReasonPastDueGrace) {
			t.Errorf("denied with reason %s", d.Reason)
		}
		if d.Remaining != nil && *d.Remaining < 0 {
			t.Errorf("Remaining = %d", *d.Remaining)
		}
		if (d.Limit == nil) != (d.Remaining == nil) {
			t.Errorf("Limit and Remaining disagree: %s", show(d))
		}
		if d.Limit != nil && d.HasAccess && d.Used >= *d.Limit {
			t.Errorf("access at or over the limit: %s", show(d))
		}
		if in.Feature.Kind != Limit && in.Feature.Kind != Metered && (d.Limit != nil || d.Used != 0) {
			t.Errorf("non-limit feature carries figures: %s", show(d))
		}
		if in.Plan != nil && d.Limit != nil && d.Limit == in.Plan.Limit {
			t.Error("decision aliases the plan's limit")
		}
		// The answer must not depend on the order the store lists grants in.
		rev := in
		rev.Grants = slices.Clone(in.Grants)
		slices.Reverse(rev.Grants)
		if again := Evaluate(rev); show(again) != show(d) {
			t.Errorf("grant order changed the decision: %s vs %s", show(again), show(d))
		}
	})
}
