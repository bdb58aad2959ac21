package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/store"
)

func TestOwnerLogsInAndSeesTheOverview(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.login("owner@globex.test", store.DemoPassword)
	s.run(waitVisible(tid("entitlements")))
	for id, want := range map[string]string{
		"plan-name": "Team", "plan-status": "Active", "seats-purchased": "10", "seats-assigned": "7",
	} {
		if got := s.textOf(id); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	rows := get(s, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="entitlement-row"]')].map(r =>
		r.dataset.feature + ":" + r.querySelector('[data-testid="feature-access"]').dataset.reason)`))
	if got := strings.Join(rows, " "); got != "dashboards:ok exports:not_in_plan sso:not_in_plan api_calls:ok projects:ok desktop_floating:ok workstations:ok" {
		t.Errorf("entitlement matrix = %s", got)
	}
	if got := s.textOf("feature-used"); got == "" {
		t.Error("no usage shown")
	}
	s.screenshot("overview")

	// Signing out lands on the login page; the overview is then out of reach.
	s.run(press(tid("logout")), waitVisible(tid("login-form")))
	s.run(chromedp.Navigate(s.base+"/"), waitVisible(tid("login-form")))
	loc := get(s, location())
	if !strings.HasSuffix(loc, "/login") {
		t.Errorf("after sign-out, / went to %s", loc)
	}
}

func TestWrongPasswordIsRefusedWithoutSayingWhy(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.login("owner@globex.test", "not-the-password")
	if got := s.textOf("login-error"); got != "Wrong email or password." {
		t.Errorf("login error = %q", got)
	}
	email := get(s, valueOf(`input[name="email"]`))
	if email != "owner@globex.test" {
		t.Errorf("the form forgot the email: %q", email)
	}
	s.screenshot("wrong-password")
}

func TestPastDueAccountSeesTheGraceBanner(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.login("owner@umbrella.test", store.DemoPassword)
	if got := s.textOf("banner-past-due"); !strings.Contains(got, "past due") {
		t.Errorf("banner = %q", got)
	}
	s.screenshot("past-due")
}
