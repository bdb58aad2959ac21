package licensing

import (
	"testing"
	"time"
)

func TestAPersonCreatedBySSOGetsTheDefaultRoleUnlessARuleSetsOne(t *testing.T) {
	t.Parallel()
	jit := func(id int64, groups ...GroupMembership) Person {
		p := scimUser(id, groups...)
		p.DefaultRole = "billing"
		return p
	}
	rules := []Rule{{ID: 1, GroupID: 1, Role: "admin", Priority: 1}, {ID: 2, GroupID: 2, Product: "a", Priority: 1}}
	d := Provision(ProvisioningInput{People: []Person{jit(1), jit(2, onDay(1, 0)), jit(3, onDay(2, 0)), scimUser(4)},
		Rules: rules, Pools: []Pool{{"a", 5}}})
	for id, want := range map[int64]string{1: "billing", 2: "admin", 3: "billing", 4: RoleMember} {
		if got := d.Members[id]; !got.Admitted || got.Role != want {
			t.Errorf("person %d: %+v, want admitted as %s", id, got, want)
		}
	}
}

func TestSSOIsDecidedByTheEvaluationFunction(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	sso := Feature{Key: FeatureSSO, Kind: Boolean}
	state := func(status Status, enabled bool, grants ...Grant) AccountState {
		return AccountState{Products: []ProductState{{Product: "p", Plan: &PlanRef{Key: "x"},
			Subscription: &SubscriptionState{Status: status}, Features: []Feature{sso},
			Values: map[string]PlanValue{FeatureSSO: {Enabled: enabled}}, Grants: grants}}}
	}
	if !SSOAllowed(state(Active, true), now).HasAccess {
		t.Error("an active plan with sso does not allow it")
	}
	if d := SSOAllowed(state(Active, false), now); d.HasAccess || d.Reason != ReasonNotInPlan {
		t.Errorf("a plan without sso: %+v", d)
	}
	if SSOAllowed(state(Suspended, true), now).HasAccess {
		t.Error("a suspended account keeps sso")
	}
	if SSOAllowed(AccountState{}, now).HasAccess {
		t.Error("an account without products has sso")
	}
	if EmailDomain("Jared@Hooli.TEST ") != "hooli.test" || EmailDomain("nobody") != "" {
		t.Error("EmailDomain")
	}
}
