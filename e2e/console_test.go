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
		waitVisible(tid("admin-login-form")),
		typeInto(`input[name="email"]`, email),
		typeInto(`input[name="password"]`, store.DemoPassword),
		press(tid("admin-login-submit")),
		waitVisible(tid("account-search")),
	)
}

func TestSupportImpersonatesGlobexReadOnlyAndIsRefusedAChange(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.staffLogin("support@acme.test")

	// Find Globex by one of its members' email.
	s.run(
		typeInto(tid("account-search-q"), "carol@globex.test"),
		press(tid("account-search-submit")),
		waitVisible(`[data-testid="account-search-total"]`),
	)
	s.run(doJS(`() => document.querySelectorAll('[data-testid="admin-account-row"]').length === 1 || null`))
	slugs := get(s, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="admin-account-row"]')].map(r => r.dataset.slug)`))
	if strings.Join(slugs, " ") != "globex" {
		t.Fatalf("search by member email found %v", slugs)
	}
	s.run(press(tid("admin-account-link")), waitVisible(tid("impersonate-form")))
	s.screenshot("account")
	if got := s.textOf("admin-plan"); !strings.HasPrefix(got, "Team") {
		t.Errorf("account page plan = %q", got)
	}

	// Impersonate read-only (the default) for the default 30 minutes.
	s.run(
		typeInto(tid("impersonate-reason"), "TICKET-1234 seat question"),
		press(tid("impersonate-submit")),
		waitVisible(tid("impersonation-banner")),
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

	// On the seats page the Assign button is disabled and the banner says
	// why; a post sent anyway is refused with a clear message on the same
	// page, the address kept, and nothing is assigned.
	s.run(
		chromedp.Navigate(s.base+"/seats"),
		waitVisible(tid("assign-form")),
		typeInto(tid("assign-email"), "frank@globex.test"),
	)
	s.waitFor(`document.querySelector('[data-testid="assign-submit"]').disabled`)
	if got := s.textOf("read-only-explained"); !strings.Contains(got, "disabled") {
		t.Errorf("the banner does not say why buttons are disabled: %q", got)
	}
	get(s, chromedp.Evaluate[bool](`document.body.dataset.left = "1"; setTimeout(() => document.querySelector('[data-testid="assign-form"]').submit(), 0); true`))
	s.run(waitVisible(`[data-testid="flash"][data-error="true"]`))
	if got := s.textOf("flash"); !strings.Contains(got, "read-only support session") {
		t.Errorf("refusal = %q", got)
	}
	if loc := get(s, location()); !strings.HasSuffix(loc, "/seats") {
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
	s.run(press(tid("end-impersonation")), waitVisible(tid("impersonate-form")))
	if got := s.textOf("flash"); !strings.Contains(got, "ended") {
		t.Errorf("flash = %q", got)
	}
	if got := s.textOf("current-staff"); got != "support@acme.test · support" {
		t.Errorf("current staff = %q", got)
	}
	if loc := get(s, location()); !strings.HasSuffix(loc, "/admin/accounts/globex") {
		t.Errorf("after ending: %s", loc)
	}
	var n int
	if err := s.store.DB().Get(&n, `SELECT count(*) FROM impersonation_session WHERE ended_at IS NOT NULL AND end_reason = 'ended'`); err != nil || n != 1 {
		t.Errorf("ended sessions: %d %v", n, err)
	}
}
