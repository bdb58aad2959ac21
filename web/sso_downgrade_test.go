package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/entitle-dev/entitle/store"
)

func TestADowngradeThatDropsSSOWarnsOwnersThenStopsSSOAtThePeriodEnd(t *testing.T) {
	t.Parallel()
	r, b := newSSORigWithBilling(t)
	ctx := context.Background()
	r.store.DB().MustExec(`UPDATE sso_config SET require_sso = true WHERE account_id = $1`, r.hooli)

	if _, err := b.ChangePlan(ctx, store.Actor{Type: "user", Label: "owner@hooli.test"}, r.hooli, "business", "http://portal.test/billing"); err != nil {
		t.Fatal(err)
	}
	process(t, b)
	// Scheduled, not yet in effect: both owners are told once; SSO goes on.
	if n := r.count(`SELECT count(*) FROM outbox WHERE account_id = $1 AND kind = 'sso_downgrade'`, r.hooli); n != 2 {
		t.Fatalf("%d downgrade notices, want one per owner (2)", n)
	}
	process(t, b)
	if n := r.count(`SELECT count(*) FROM outbox WHERE account_id = $1 AND kind = 'sso_downgrade'`, r.hooli); n != 2 {
		t.Fatalf("owners told again: %d notices", n)
	}
	res := r.signInThroughIdP(newClient(), "jared@hooli.test")
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("SSO before the period end: %d", res.StatusCode)
	}

	// The period ends: the plan changes, SSO stops, passwords are back.
	if err := b.Sim.AdvanceToPeriodEnd(ctx, r.hooli); err != nil {
		t.Fatal(err)
	}
	process(t, b)
	c := newClient()
	_, doc := r.get(c, "/login")
	res, page := r.post(c, "/login", url.Values{"_csrf": {csrfToken(doc)}, "email": {"jared@hooli.test"}, "password": {""}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(page, "login-error"), "password") {
		t.Fatalf("after the downgrade an empty password answered %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	r.login("cto@hooli.test") // require SSO no longer applies
	_, doc = r.get(r.login("owner@hooli.test"), "/settings/sso")
	if doc.Find(`[data-testid="sso-not-in-plan"]`).Length() != 1 {
		t.Fatal("the settings page does not explain that SSO left the plan")
	}
	// Without SSO, the owners' password sign-ins are ordinary ones.
	if n := r.count(`SELECT count(*) FROM audit_entry WHERE account_id = $1 AND action = 'sso.break_glass.sign_in'`, r.hooli); n != 0 {
		t.Fatalf("break-glass recorded after SSO stopped: %d", n)
	}
}
