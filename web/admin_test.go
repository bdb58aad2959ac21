package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/entitle-dev/entitle/store"
)

// staffLogin signs in to the console and returns the client.
func (p *portal) staffLogin(email string) *http.Client {
	p.t.Helper()
	c := newClient()
	_, doc := p.get(c, "/admin/login")
	res, _ := p.post(c, "/admin/login", url.Values{"_csrf": {csrfToken(doc)}, "email": {email}, "password": {store.DemoPassword}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin" {
		p.t.Fatalf("staff login %s: %d → %s", email, res.StatusCode, res.Header.Get("Location"))
	}
	return c
}

func TestStaffSignInToTheConsoleAndSeeAccounts(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := p.staffLogin("support@acme.test")
	res, doc := p.get(c, "/admin")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/admin: %d", res.StatusCode)
	}
	if n := doc.Find(`[data-testid="admin-account-row"]`).Length(); n != 4 {
		t.Errorf("%d accounts listed, want 4", n)
	}
	if got := text(doc, "current-staff"); got != "support@acme.test · support" {
		t.Errorf("current staff = %q", got)
	}
}

func TestCustomerSessionsNeverReachTheConsole(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := p.login("owner@globex.test")
	res, _ := p.get(c, "/admin")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/login" {
		t.Fatalf("customer on /admin: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	// Customers cannot sign in to the console with their own password either.
	_, doc := p.get(c, "/admin/login")
	res, _ = p.post(c, "/admin/login", url.Values{"_csrf": {csrfToken(doc)}, "email": {"owner@globex.test"}, "password": {store.DemoPassword}})
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("customer credentials on the console: %d, want 401", res.StatusCode)
	}
}

func TestStaffSessionsAreNotCustomerSessions(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := p.staffLogin("ops@acme.test")
	res, _ := p.get(c, "/")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("staff on the portal without impersonation: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestDisablingAStaffAccountEndsItsSession(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := p.staffLogin("support@acme.test")
	if _, err := p.store.DB().Exec(`UPDATE staff_user SET disabled_at = now() WHERE email = 'support@acme.test'`); err != nil {
		t.Fatal(err)
	}
	res, _ := p.get(c, "/admin")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("disabled staff on /admin: %d, want a redirect to the login", res.StatusCode)
	}
}
