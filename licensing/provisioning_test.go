package licensing

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

var provisionedSince = time.Date(2025, time.January, 1, 9, 0, 0, 0, time.UTC)

// onDay is the time a person joined a group: day n after provisionedSince.
func onDay(group int64, n int) GroupMembership {
	return GroupMembership{GroupID: group, Since: provisionedSince.AddDate(0, 0, n)}
}

func scimUser(id int64, groups ...GroupMembership) Person {
	return Person{MembershipID: id, Active: true, Provisioned: true, Groups: groups}
}

func gone(p Person) Person { p.Active = false; return p }

func ruleSeat(id int64, product string, rule int64) Seat {
	return Seat{MembershipID: id, Product: product, Source: SourceRule, RuleID: rule}
}

func manualSeat(id int64, product string) Seat {
	return Seat{MembershipID: id, Product: product, Source: SourceManual}
}

func pinnedSeat(id int64, product string) Seat {
	return Seat{MembershipID: id, Product: product, Source: SourceManual, Pinned: true}
}

// seatLines renders seats as "product/membership how", e.g. "a/3 rule 1".
func seatLines(seats []Seat) []string {
	out := []string{}
	for _, s := range seats {
		how := fmt.Sprintf("rule %d", s.RuleID)
		if s.Source != SourceRule {
			how = string(s.Source)
		}
		if s.Pinned {
			how = "pinned"
		}
		out = append(out, fmt.Sprintf("%s/%d %s", s.Product, s.MembershipID, how))
	}
	return out
}

// waitingLines renders the waiting list as "product#position membership: reason".
func waitingLines(ws []Waiting) []string {
	out := []string{}
	for _, w := range ws {
		out = append(out, fmt.Sprintf("%s#%d %d: %s", w.Product, w.Position, w.MembershipID, w.Reason))
	}
	return out
}

func revokedLines(rs []Revocation) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s/%d: %s", r.Seat.Product, r.Seat.MembershipID, r.Cause))
	}
	return out
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %s\n want %s", what, strings.Join(got, " | "), strings.Join(want, " | "))
	}
}

func TestProvisionSeats(t *testing.T) {
	t.Parallel()
	// Rule 1: group 1 gets product a at priority 1; rule 2: group 2, priority 2.
	rules := []Rule{
		{ID: 1, GroupID: 1, Product: "a", Priority: 1},
		{ID: 2, GroupID: 2, Product: "a", Priority: 2},
	}
	pool := func(n int) []Pool { return []Pool{{Product: "a", Seats: n}} }
	tests := []struct {
		name        string
		in          ProvisioningInput
		seats       []string
		waiting     []string
		revoked     []string
		overAlloced map[string]int
	}{
		{
			name: "short pool: rule priority, then earliest group membership, then membership id",
			in: ProvisioningInput{Rules: rules, Pools: pool(2), People: []Person{
				scimUser(1, onDay(2, 0)), scimUser(2, onDay(1, 5)), scimUser(4, onDay(1, 3)), scimUser(3, onDay(1, 3)),
			}},
			seats:   []string{"a/3 rule 1", "a/4 rule 1"},
			waiting: []string{"a#1 2: no seat free", "a#2 1: no seat free"},
		},
		{
			name: "membership id breaks a full tie",
			in: ProvisioningInput{Rules: rules, Pools: pool(1), People: []Person{
				scimUser(7, onDay(1, 2)), scimUser(5, onDay(1, 2)),
			}},
			seats:   []string{"a/5 rule 1"},
			waiting: []string{"a#1 7: no seat free"},
		},
		{
			name: "a group listed twice counts from the earliest membership",
			in: ProvisioningInput{Rules: rules, Pools: pool(1), People: []Person{
				scimUser(1, onDay(1, 5), onDay(1, 1)), scimUser(2, onDay(1, 3)),
			}},
			seats:   []string{"a/1 rule 1"},
			waiting: []string{"a#1 2: no seat free"},
		},
		{
			name: "a person in both groups stands by the better rule",
			in: ProvisioningInput{Rules: rules, Pools: pool(1), People: []Person{
				scimUser(1, onDay(2, 0)), scimUser(2, onDay(2, 1), onDay(1, 9)),
			}},
			seats:   []string{"a/2 rule 1"},
			waiting: []string{"a#1 1: no seat free"},
		},
		{
			name: "deprovisioning revokes every seat, pinned and manual too",
			in: ProvisioningInput{Rules: rules, Pools: pool(5), People: []Person{
				gone(scimUser(1, onDay(1, 0))), gone(scimUser(2)), gone(scimUser(3)),
			}, Held: []Seat{ruleSeat(1, "a", 1), manualSeat(2, "a"), pinnedSeat(3, "a")}},
			revoked: []string{
				"a/1: seat held by a deactivated user", "a/2: seat held by a deactivated user",
				"a/3: seat held by a deactivated user",
			},
		},
		{
			name: "pinned, then manual seats count against the pool first",
			in: ProvisioningInput{Rules: rules, Pools: pool(3), People: []Person{
				scimUser(1), scimUser(2, onDay(1, 0)), scimUser(3, onDay(1, 1)), scimUser(4, onDay(1, 2)),
				{MembershipID: 5, Active: true},
			}, Held: []Seat{pinnedSeat(1, "a"), manualSeat(5, "a")}},
			seats:   []string{"a/1 pinned", "a/2 rule 1", "a/5 manual"},
			waiting: []string{"a#1 3: no seat free", "a#2 4: no seat free"},
		},
		{
			name: "over-allocated by hand seats: nobody loses one, every rule candidate waits",
			in: ProvisioningInput{Rules: rules, Pools: pool(1), People: []Person{
				scimUser(1, onDay(1, 0)), scimUser(2, onDay(1, 0)), scimUser(3, onDay(1, 0)),
			}, Held: []Seat{pinnedSeat(1, "a"), manualSeat(2, "a"), ruleSeat(3, "a", 1)}},
			seats:       []string{"a/1 pinned", "a/2 manual"},
			waiting:     []string{"a#1 3: " + CauseDisplaced},
			revoked:     []string{"a/3: " + CauseDisplaced},
			overAlloced: map[string]int{"a": 1},
		},
		{
			name: "stability: a holder keeps the seat against a better-standing newcomer",
			in: ProvisioningInput{Rules: rules, Pools: pool(1), People: []Person{
				scimUser(1, onDay(1, 0)), scimUser(2, onDay(2, 9)),
			}, Held: []Seat{ruleSeat(2, "a", 2)}},
			seats:   []string{"a/2 rule 2"},
			waiting: []string{"a#1 1: no seat free"},
		},
		{
			name: "pool smaller than the holders: the lowest standing lose first",
			in: ProvisioningInput{Rules: rules, Pools: pool(2), People: []Person{
				scimUser(1, onDay(2, 0)), scimUser(2, onDay(1, 4)), scimUser(3, onDay(1, 2)), scimUser(4),
			}, Held: []Seat{ruleSeat(1, "a", 2), ruleSeat(2, "a", 1), ruleSeat(3, "a", 1), pinnedSeat(4, "a")}},
			seats:   []string{"a/3 rule 1", "a/4 pinned"},
			waiting: []string{"a#1 2: " + CauseDisplaced, "a#2 1: " + CauseDisplaced},
			revoked: []string{"a/1: " + CauseDisplaced, "a/2: " + CauseDisplaced},
		},
		{
			name: "a rule seat goes when its person leaves the group; a manual seat stays",
			in: ProvisioningInput{Rules: rules, Pools: pool(5), People: []Person{scimUser(1), scimUser(2)},
				Held: []Seat{ruleSeat(1, "a", 1), manualSeat(2, "a")}},
			seats:   []string{"a/2 manual"},
			revoked: []string{"a/1: " + CauseNoRule},
		},
		{
			name: "a kept seat keeps its rule while it matches, else takes the best one",
			in: ProvisioningInput{Rules: rules, Pools: pool(5), People: []Person{
				scimUser(1, onDay(1, 0), onDay(2, 0)), scimUser(2, onDay(1, 0)),
			}, Held: []Seat{ruleSeat(1, "a", 2), ruleSeat(2, "a", 99)}},
			seats: []string{"a/1 rule 2", "a/2 rule 1"},
		},
		{
			name: "unknown memberships and products without a subscription",
			in: ProvisioningInput{Rules: append(rules, Rule{ID: 3, GroupID: 1, Product: "z", Priority: 1}),
				Pools: pool(5), People: []Person{scimUser(1, onDay(1, 0)), scimUser(2)},
				Held: []Seat{ruleSeat(1, "z", 3), pinnedSeat(2, "z"), manualSeat(9, "a")}},
			seats:       []string{"a/1 rule 1", "z/2 pinned"},
			revoked:     []string{"a/9: " + CauseUnknownMember, "z/1: " + CauseNoPool},
			overAlloced: map[string]int{"z": 1},
		},
		{
			name: "rules do not govern memberships the identity provider does not manage",
			in: ProvisioningInput{Rules: rules, Pools: pool(5), People: []Person{
				{MembershipID: 1, Active: true, Groups: []GroupMembership{onDay(1, 0)}}, {MembershipID: 2, Active: true},
			}, Held: []Seat{ruleSeat(2, "a", 1)}},
			revoked: []string{"a/2: " + CauseNoRule},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := Provision(tt.in)
			sameLines(t, "seats", seatLines(d.Seats), tt.seats)
			sameLines(t, "waiting", waitingLines(d.Waiting), tt.waiting)
			sameLines(t, "revoked", revokedLines(d.Revoked), tt.revoked)
			if tt.overAlloced == nil {
				tt.overAlloced = map[string]int{}
			}
			if !maps.Equal(d.OverAllocated, tt.overAlloced) {
				t.Errorf("OverAllocated = %v, want %v", d.OverAllocated, tt.overAlloced)
			}
		})
	}
}

func TestProvisionAdmission(t *testing.T) {
	t.Parallel()
	rules := []Rule{
		{ID: 1, GroupID: 1, Role: "admin", Product: "a", Priority: 2},
		{ID: 2, GroupID: 2, Role: "billing", Priority: 1},
		{ID: 3, GroupID: 3, Product: "a", Priority: 1},
	}
	people := []Person{
		scimUser(1, onDay(1, 0), onDay(2, 0)), // admin (priority 2) and billing (priority 1)
		scimUser(2, onDay(1, 0)),              // admin
		scimUser(3, onDay(3, 0)),              // seat-only rule: member
		scimUser(4),                           // no rule
		scimUser(5),                           // no rule, manual seat
		gone(scimUser(6, onDay(1, 0))),        // deprovisioned
		{MembershipID: 7, Active: true},       // not managed by the identity provider
	}
	held := []Seat{manualSeat(5, "a")}
	admitted := func(role, cause string) Admission { return Admission{Admitted: true, Role: role, Cause: cause} }
	ruled := map[int64]Admission{
		1: admitted("billing", CauseMatchesRule),
		2: admitted("admin", CauseMatchesRule),
		3: admitted(RoleMember, CauseMatchesRule),
		6: {Cause: CauseIdPDeactivated},
	}
	with := func(extra map[int64]Admission) map[int64]Admission {
		m := maps.Clone(ruled)
		maps.Copy(m, extra)
		return m
	}
	tests := []struct {
		policy UnmatchedPolicy
		want   map[int64]Admission
	}{
		{UnmatchedMember, with(map[int64]Admission{
			4: admitted(RoleMember, CauseUnmatchedAdmit), 5: admitted(RoleMember, CauseUnmatchedAdmit)})},
		{"", with(map[int64]Admission{
			4: admitted(RoleMember, CauseUnmatchedAdmit), 5: admitted(RoleMember, CauseUnmatchedAdmit)})},
		{UnmatchedDeny, with(map[int64]Admission{
			4: {Cause: CauseUnmatchedDeny}, 5: admitted(RoleMember, CauseHandSeat)})},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			t.Parallel()
			d := Provision(ProvisioningInput{People: people, Rules: rules, Pools: []Pool{{"a", 10}}, Held: held, Unmatched: tt.policy})
			if !maps.Equal(d.Members, tt.want) {
				t.Errorf("Members:\n got  %v\n want %v", d.Members, tt.want)
			}
		})
	}
	if UnmatchedPolicy("").Valid() || UnmatchedPolicy("admit").Valid() || !UnmatchedDeny.Valid() || !UnmatchedMember.Valid() {
		t.Error("Valid accepts only member and deny")
	}
}

func changeLines(cs []Change) []string {
	out := []string{}
	for _, c := range cs {
		line := fmt.Sprintf("%s %d", c.Kind, c.MembershipID)
		if c.Product != "" {
			line += fmt.Sprintf(" %s rule %d", c.Product, c.RuleID)
		}
		if c.Role != "" {
			line += " as " + c.Role
		}
		out = append(out, line+": "+c.Reason)
	}
	return out
}

func TestDiffRepairsDrift(t *testing.T) {
	t.Parallel()
	rules := []Rule{{ID: 1, GroupID: 1, Role: "admin", Product: "a", Priority: 1}, {ID: 2, GroupID: 2, Product: "a", Priority: 2}}
	in := ProvisioningInput{
		Rules: rules, Pools: []Pool{{"a", 2}},
		People: []Person{
			gone(scimUser(1, onDay(1, 0))), // still holds a seat and is still admitted
			scimUser(2, onDay(1, 1)),       // waited; the deactivated user's seat frees one for them
			scimUser(3, onDay(2, 0)),       // holds a seat by rule 1, which no longer matches
			scimUser(4, onDay(2, 1)),       // waits behind 2
		},
		Held: []Seat{ruleSeat(1, "a", 1), ruleSeat(3, "a", 1)},
	}
	have := Actual{
		Seats:   in.Held,
		Waiting: []Waiting{{MembershipID: 2, Product: "a"}, {MembershipID: 4, Product: "a"}},
		Members: map[int64]Admission{1: {Admitted: true, Role: "admin"}, 2: {Admitted: true, Role: RoleMember}, 3: {Admitted: true, Role: RoleMember}},
	}
	want := Provision(in)
	sameLines(t, "changes", changeLines(Diff(want, have)), []string{
		"unassign 1 a rule 1: " + CauseDeactivated,
		"unwait 2 a rule 0: " + CauseServed,
		"dismiss 1: " + CauseIdPDeactivated,
		"admit 4 as member: " + CauseMatchesRule,
		"role 2 as admin: " + CauseMatchesRule,
		"retag 3 a rule 2: " + CauseRetagged,
		"assign 2 a rule 1: " + CauseServed,
	})
	if again := Diff(want, applied(want)); len(again) != 0 {
		t.Errorf("Diff of the desired state against itself: %v", changeLines(again))
	}
}

func TestDiffRestoresAndQueues(t *testing.T) {
	t.Parallel()
	want := Desired{
		Seats:   []Seat{pinnedSeat(1, "a"), ruleSeat(2, "a", 7)},
		Waiting: []Waiting{{MembershipID: 3, Product: "a", RuleID: 7, Position: 1, Reason: CauseNoSeatFree}},
	}
	have := Actual{
		Seats:   []Seat{manualSeat(9, "a")},
		Waiting: []Waiting{{MembershipID: 8, Product: "a"}},
	}
	sameLines(t, "changes", changeLines(Diff(want, have)), []string{
		"unassign 9 a rule 0: " + CauseNotDesired,
		"unwait 8 a rule 0: " + CauseNoLongerWaits,
		"assign 1 a rule 0: " + CauseRestored,
		"assign 2 a rule 7: " + CauseRuleSeat,
		"wait 3 a rule 7: " + CauseNoSeatFree,
	})
}

func TestPreviewSeatChange(t *testing.T) {
	t.Parallel()
	in := ProvisioningInput{
		Rules: []Rule{{ID: 1, GroupID: 1, Product: "a", Priority: 1}, {ID: 2, GroupID: 2, Product: "a", Priority: 2}},
		Pools: []Pool{{"a", 5}, {"b", 1}},
		People: []Person{
			scimUser(1, onDay(2, 0)), scimUser(2, onDay(1, 3)), scimUser(3, onDay(1, 1)), scimUser(4, onDay(2, 1)), scimUser(5),
		},
		Held: []Seat{pinnedSeat(5, "a")},
	}
	tests := []struct {
		seats  int
		losing []int64
		over   int
	}{
		{5, nil, 0},
		{9, nil, 0},
		{4, []int64{4}, 0},
		{2, []int64{4, 1, 2}, 0},
		{0, []int64{4, 1, 2, 3}, 1},
	}
	for _, tt := range tests {
		losing, over := PreviewSeatChange(in, "a", tt.seats)
		if !slices.Equal(losing, tt.losing) || over != tt.over {
			t.Errorf("PreviewSeatChange(a, %d) = %v, %d; want %v, %d", tt.seats, losing, over, tt.losing, tt.over)
		}
	}
	if losing, _ := PreviewSeatChange(in, "b", 0); len(losing) != 0 {
		t.Errorf("another product's preview moves %v", losing)
	}
}

// applied is the actual state once every change of Diff has been made.
func applied(d Desired) Actual {
	return Actual{Seats: d.Seats, Waiting: d.Waiting, Members: d.Members}
}
