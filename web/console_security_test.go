package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestDisablingStaffEndsTheirSessionsAndImpersonationsAtOnce(t *testing.T) {
	t.Parallel()
	p, _, _ := newConsolePortal(t)
	support := p.staffLogin("support@acme.test")
	p.impersonate(support, "globex", "read", "TICKET-3", "30")
	if res, _ := p.get(support, "/"); res.StatusCode != http.StatusOK {
		t.Fatalf("impersonating: %d", res.StatusCode)
	}
	admin := p.staffLogin("admin@acme.test")
	_, doc := p.get(admin, "/admin/staff")
	res, _ := p.post(admin, "/admin/staff/disable", url.Values{"_csrf": {csrfToken(doc)}, "email": {"support@acme.test"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", res.StatusCode)
	}
	if res, _ := p.get(support, "/"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Errorf("disabled staff on the portal: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := p.get(support, "/admin"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("disabled staff on the console: %d", res.StatusCode)
	}
	if n := p.consoleCount(`SELECT count(*) FROM impersonation_session WHERE ended_at IS NOT NULL AND end_reason = 'staff_disabled'`); n != 1 {
		t.Errorf("impersonation not ended as staff_disabled")
	}
	if n := p.consoleCount(`SELECT count(*) FROM web_session ws JOIN staff_user su ON su.id = ws.staff_id WHERE su.email = 'support@acme.test'`); n != 0 {
		t.Errorf("%d sessions left", n)
	}
	if n := p.consoleCount(`SELECT count(*) FROM audit_entry WHERE action = 'staff.disable' AND actor_label = 'admin@acme.test'`); n != 1 {
		t.Errorf("disable not audited")
	}
	// Admins cannot disable themselves; support cannot disable anyone.
	_, doc = p.get(admin, "/admin/staff")
	if res, _ := p.post(admin, "/admin/staff/disable", url.Values{"_csrf": {csrfToken(doc)}, "email": {"admin@acme.test"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("self-disable: %d", res.StatusCode)
	}
	lead := p.staffLogin("lead@acme.test")
	if res, _ := p.post(lead, "/admin/staff/disable", url.Values{"_csrf": {csrfToken(doc)}, "email": {"ops@acme.test"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("support_admin disabling staff: %d", res.StatusCode)
	}
}

func TestCustomersCannotEndOrStartImpersonations(t *testing.T) {
	t.Parallel()
	p, _, _ := newConsolePortal(t)
	c := p.login("owner@globex.test")
	_, doc := p.get(c, "/")
	for _, path := range []string{"/admin/impersonation/end", "/admin/accounts/globex/impersonate"} {
		res, _ := p.post(c, path, url.Values{"_csrf": {csrfToken(doc)}, "reason": {"x"}, "mode": {"write"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/login" {
			t.Errorf("customer POST %s: %d → %q", path, res.StatusCode, res.Header.Get("Location"))
		}
	}
}

func TestEveryConsoleChangeNeedsTheCSRFToken(t *testing.T) {
	t.Parallel()
	p, e, _ := newConsolePortal(t)
	c := p.staffLogin("admin@acme.test")
	walked := 0
	for _, r := range e.Routes() {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.Path, "/admin/") || r.Path == "/admin/login" {
			continue
		}
		path := consoleRouteParam.ReplaceAllString(r.Path, "globex")
		res, doc := p.consoleSend(c, http.MethodPost, path, "forged", false)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(text(doc, "error-message"), "did not come from this site") {
			t.Errorf("POST %s with a forged token: %d %q", path, res.StatusCode, text(doc, "error-message"))
		}
		walked++
	}
	if walked < 8 {
		t.Errorf("only %d console routes walked", walked)
	}
}
