package web_test

import (
	"net/http"
	"net/url"
	"testing"
)

// Every change a buyer asks for on /billing is in the audit log as the
// person who asked (and, under impersonation, the staff member), with
// what was asked for: the provider's event that follows names no person.
func TestBillingRequestsAreAuditedAsThePersonWhoAsked(t *testing.T) {
	t.Parallel()
	type request struct {
		path string
		form url.Values
	}
	addOn := func(units string) request {
		return request{"/billing/addons", url.Values{"addon": {"extra_api_calls"}, "units": {units}}}
	}
	for _, tc := range []struct {
		name          string
		before        []request // applied first, their events processed
		ask           request
		impersonating bool
		action        string
		who, what     string
	}{
		{name: "upgrade", ask: request{"/billing/change", url.Values{"plan": {"business"}}},
			action: "billing.plan_change", what: "Upgrade from Team to Business asked for by owner@globex.test"},
		{name: "downgrade", ask: request{"/billing/change", url.Values{"plan": {"free"}}},
			action: "billing.plan_change", what: "Downgrade from Team to Free at period end asked for by owner@globex.test"},
		{name: "seats bought", ask: request{"/billing/seats", url.Values{"seats": {"12"}}},
			action: "billing.seat_change", what: "Purchase of seats for Team (10 → 12) asked for by owner@globex.test"},
		{name: "seats dropped", ask: request{"/billing/seats", url.Values{"seats": {"8"}}},
			action: "billing.seat_change", what: "Reduction of seats for Team (10 → 8) at period end asked for by owner@globex.test"},
		{name: "keep the plan", before: []request{{"/billing/change", url.Values{"plan": {"free"}}}}, ask: request{"/billing/keep", nil},
			action: "billing.keep_plan", what: "Keeping Team asked for (the change to Free at period end dropped) by owner@globex.test"},
		{name: "trial", ask: request{"/billing/trial", url.Values{"plan": {"business"}}},
			action: "billing.trial_start", what: "Trial of Business (14 days) asked for by owner@globex.test"},
		{name: "add-on bought", ask: addOn("1"),
			action: "billing.addon_set", what: "Purchase of add-on Extra API calls (1 unit) asked for by owner@globex.test"},
		{name: "add-on changed", before: []request{addOn("1")}, ask: addOn("3"),
			action: "billing.addon_set", what: "Change of add-on Extra API calls from 1 to 3 units asked for by owner@globex.test"},
		{name: "add-on removed", before: []request{addOn("1")}, ask: addOn("0"),
			action: "billing.addon_set", what: "Removal of add-on Extra API calls asked for by owner@globex.test"},
		{name: "seats bought under impersonation", ask: request{"/billing/seats", url.Values{"seats": {"12"}}}, impersonating: true,
			action: "billing.seat_change", who: "owner@globex.test (by lead@acme.test, impersonating)",
			what: "Purchase of seats for Team (10 → 12) asked for by owner@globex.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, b := newBillingPortal(t)
			owner := p.login("owner@globex.test")
			send := func(c *http.Client, r request) {
				t.Helper()
				_, doc := p.get(c, "/billing")
				form := url.Values{"_csrf": {csrfToken(doc)}}
				for k, v := range r.form {
					form[k] = v
				}
				if res, _ := p.post(c, r.path, form); res.StatusCode != http.StatusSeeOther {
					t.Fatalf("POST %s %v: %d", r.path, r.form, res.StatusCode)
				}
				process(t, b)
			}
			for _, r := range tc.before {
				send(owner, r)
			}
			asker, who := owner, "owner@globex.test"
			if tc.impersonating {
				asker, who = writeSupportSession(t, p), tc.who
			}
			send(asker, tc.ask)
			if gotWho, gotWhat := auditRow(t, p, owner, tc.action); gotWho != who || gotWhat != tc.what {
				t.Errorf("/audit reads %q, %q; want %q, %q", gotWho, gotWhat, who, tc.what)
			}
		})
	}
}

// A plan change with a promotion code is audited once, as the code's
// redemption for that change, not a second time as a plan change.
func TestAPlanChangeWithACodeIsAuditedOnceAsItsRedemption(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	owner := p.login("owner@globex.test")
	_, doc := p.get(owner, "/billing")
	if res, _ := p.post(owner, "/billing/change", url.Values{"_csrf": {csrfToken(doc)}, "plan": {"business"},
		"promotion_code": {"LAUNCH20"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("upgrade with a code: %d", res.StatusCode)
	}
	process(t, b)
	if who, what := auditRow(t, p, owner, "billing.promotion_redeem"); who != "owner@globex.test" ||
		what != "Promotion code LAUNCH20 applied to the upgrade to business by owner@globex.test" {
		t.Errorf("audit of the redemption: %q, %q", who, what)
	}
	if _, doc := p.get(owner, "/audit"); doc.Find(`[data-testid="audit-row"][data-action="billing.plan_change"]`).Length() != 0 {
		t.Error("the upgrade with a code is audited twice")
	}
}

// writeSupportSession lets support in to write on Globex's behalf and
// starts lead@acme.test's support session there.
func writeSupportSession(t *testing.T, p *portal) *http.Client {
	t.Helper()
	owner := p.login("owner@globex.test")
	_, doc := p.get(owner, "/settings/support")
	p.post(owner, "/settings/support", url.Values{"_csrf": {csrfToken(doc)}, "allow": {"true"}})
	lead := p.staffLogin("lead@acme.test")
	if res := p.impersonate(lead, "globex", "write", "TICKET-12 seats", "30"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("impersonate in write mode: %d", res.StatusCode)
	}
	return lead
}
