package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/store"
)

// staffLogin signs in to the vendor console through its own form.
func (s *session) staffLogin(email string) {
	s.t.Helper()
	s.run(
		chromedp.Navigate(s.base+"/admin/login"),
		chromedp.WaitVisible(tid("admin-login-form")),
		chromedp.SendKeys(`input[name="email"]`, email),
		chromedp.SendKeys(`input[name="password"]`, store.DemoPassword),
		chromedp.Click(tid("admin-login-submit")),
		chromedp.WaitVisible(tid("account-search")),
	)
}

func TestSupportImpersonatesGlobexReadOnlyAndIsRefusedAChange(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.staffLogin("support@acme.test")

	// Find Globex by one of its members' email.
	s.run(
		chromedp.SendKeys(tid("account-search-q"), "carol@globex.test"),
		chromedp.Click(tid("account-search-submit")),
		chromedp.WaitVisible(`[data-testid="account-search-total"]`),
	)
	s.run(chromedp.Poll[chromedp.Void](`document.querySelectorAll('[data-testid="admin-account-row"]').length === 1`))
	slugs := get(s, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="admin-account-row"]')].map(r => r.dataset.slug)`))
	if strings.Join(slugs, " ") != "globex" {
		t.Fatalf("search by member email found %v", slugs)
	}
	s.run(chromedp.Click(tid("admin-account-link")), chromedp.WaitVisible(tid("impersonate-form")))
	s.screenshot("account")
	if got := s.textOf("admin-plan"); !strings.HasPrefix(got, "Team") {
		t.Errorf("account page plan = %q", got)
	}

	// Impersonate read-only (the default) for the default 30 minutes.
	s.run(
		chromedp.SendKeys(tid("impersonate-reason"), "TICKET-1234 seat question"),
		chromedp.Click(tid("impersonate-submit")),
		chromedp.WaitVisible(tid("impersonation-banner")),
	)
	for id, want := range map[string]string{"impersonation-staff": "support@acme.test", "impersonation-mode": "read-only",
		"impersonation-reason": "TICKET-1234 seat question", "current-account": "Globex"} {
		if got := s.textOf(id); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	if got := s.textOf("impersonation-time-left"); got != "30 min left" && got != "29 min left" {
		t.Errorf("time left = %q", got)
	}
	s.screenshot("banner")

	// Assigning a seat on the seats page is refused with a clear message
	// on the same page, the address kept, and nothing is assigned.
	s.run(
		chromedp.Navigate(s.base+"/seats"),
		chromedp.WaitVisible(tid("assign-form")),
		chromedp.SendKeys(tid("assign-email"), "frank@globex.test"),
		chromedp.Click(tid("assign-submit")),
		chromedp.WaitVisible(`[data-testid="flash"][data-error="true"]`),
	)
	if got := s.textOf("flash"); !strings.Contains(got, "read-only support session") {
		t.Errorf("refusal = %q", got)
	}
	if loc := get(s, chromedp.Location()); !strings.HasSuffix(loc, "/seats") {
		t.Errorf("the refusal left the browser on %s", loc)
	}
	s.waitFor(`document.querySelector('[data-testid="assign-email"]').value === "frank@globex.test"`)
	var held int
	if err := s.store.DB().Get(&held, `SELECT count(*) FROM seat_assignment sa JOIN membership m ON m.id = sa.membership_id
		JOIN app_user u ON u.id = m.user_id WHERE u.email = 'frank@globex.test'`); err != nil || held != 0 {
		t.Errorf("frank holds %d seats after a refused assignment (%v)", held, err)
	}
	s.screenshot("refused")

	// End the session: back on Globex's console page, still signed in.
	s.run(chromedp.Click(tid("end-impersonation")), chromedp.WaitVisible(tid("impersonate-form")))
	if got := s.textOf("flash"); !strings.Contains(got, "ended") {
		t.Errorf("flash = %q", got)
	}
	if got := s.textOf("current-staff"); got != "support@acme.test · support" {
		t.Errorf("current staff = %q", got)
	}
	if loc := get(s, chromedp.Location()); !strings.HasSuffix(loc, "/admin/accounts/globex") {
		t.Errorf("after ending: %s", loc)
	}
	var n int
	if err := s.store.DB().Get(&n, `SELECT count(*) FROM impersonation_session WHERE ended_at IS NOT NULL AND end_reason = 'ended'`); err != nil || n != 1 {
		t.Errorf("ended sessions: %d %v", n, err)
	}
}
