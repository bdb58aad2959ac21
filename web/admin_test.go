package web_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/twofactor"
)

// staffLogin signs in to the console and returns the client.
func (p *portal) staffLogin(email string) *http.Client {
	p.t.Helper()
	c := newClient()
	_, doc := p.get(c, "/admin/login")
	res, _ := p.post(c, "/admin/login", url.Values{"_csrf": {csrfToken(doc)}, "email": {email}, "password": {store.DemoPassword}})
	if res.Header.Get("Location") == "/admin/login/code" { // the demo's support admin and admin sign in with a code
		res = p.enterStaffCode(c)
	}
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
	var accounts int
	if err := p.store.DB().Get(&accounts, `SELECT count(*) FROM account`); err != nil || accounts < 3 {
		t.Fatalf("demo accounts %d, %v", accounts, err)
	}
	if n := doc.Find(`[data-testid="admin-account-row"]`).Length(); n != accounts {
		t.Errorf("%d accounts listed, want all %d", n, accounts)
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

// enterStaffCode answers the console's two-factor step with the demo
// secret's code: the current step's, or the next one's when this person's
// current code was used already (a second sign-in within 30 seconds).
func (p *portal) enterStaffCode(c *http.Client) *http.Response {
	p.t.Helper()
	_, doc := p.get(c, "/admin/login/code")
	var res *http.Response
	for _, at := range []time.Time{time.Now(), time.Now().Add(twofactor.Period)} {
		code, err := twofactor.Code(store.DemoTOTPSecret, at)
		if err != nil {
			p.t.Fatal(err)
		}
		res, _ = p.post(c, "/admin/login/code", url.Values{"_csrf": {csrfToken(doc)}, "code": {code}})
		if res.StatusCode == http.StatusSeeOther {
			break
		}
	}
	return res
}
