package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/twofactor"
)

// linkAfter finds the first link to path in a mail body.
func linkAfter(t *testing.T, body, path string) string {
	t.Helper()
	link := regexp.MustCompile(`https?://\S+` + regexp.QuoteMeta(path) + `[A-Za-z0-9_-]+`).FindString(body)
	if link == "" {
		t.Fatalf("no %s link in the mail: %q", path, body)
	}
	return link
}

// signUpFromPricing walks /pricing → the plan's button → the sign-up form
// → the link from the outbox → "Create my account", and waits for the page
// it lands on to show landing.
func (s *session) signUpFromPricing(plan, email, company, landing string) {
	s.t.Helper()
	s.run(
		chromedp.Navigate(s.base+"/pricing"),
		chromedp.WaitVisible(tid("pricing")),
	)
	s.screenshot("pricing")
	s.run(
		chromedp.Click(tid("pricing-action-"+plan)),
		chromedp.WaitVisible(tid("signup-form")),
		chromedp.SendKeys(tid("signup-email"), email),
		chromedp.SendKeys(tid("signup-name"), "Vera Visitor"),
		chromedp.SendKeys(tid("signup-password"), "vera-password-1"),
		chromedp.SendKeys(tid("signup-company"), company),
		chromedp.Click(tid("signup-submit")),
		chromedp.WaitVisible(tid("signup-sent")),
	)
	s.screenshot("check-inbox")
	s.run(
		chromedp.Navigate(linkAfter(s.t, s.mailTo(email), "/signup/verify/")),
		chromedp.WaitVisible(tid("verify-form")),
		chromedp.Click(tid("verify-submit")),
		chromedp.WaitVisible(tid(landing)),
	)
}

// clickAndLoad clicks a button that loads another page and waits until
// the new page is there (the old one is marked stale first).
func (s *session) clickAndLoad(button string) {
	s.t.Helper()
	get(s, chromedp.Evaluate[bool](`document.body.dataset.stale = "1"; true`))
	s.run(chromedp.Click(tid(button)), chromedp.WaitVisible(`body:not([data-stale])`))
}

func TestVisitorSignsUpForBusinessAndInvitesAColleague(t *testing.T) {
	t.Parallel()
	s := newBillingSession(t)
	s.signUpFromPricing("business", "vera@vandelay.test", "Vandelay Industries", "product")
	s.reloadUntil("/", tid("trial-countdown"))
	if got := s.textOf("trial-countdown"); !strings.Contains(got, "14 days left") {
		t.Errorf("countdown = %q", got)
	}
	if got := s.textOf("current-account"); got != "Vandelay Industries" {
		t.Errorf("account = %q", got)
	}
	s.screenshot("trial")
	s.run(
		chromedp.Navigate(s.base+"/members"),
		chromedp.WaitVisible(tid("invite-form")),
		chromedp.SendKeys(tid("invite-emails"), "art@vandelay.test"),
		chromedp.Click(tid("invite-submit")),
		chromedp.WaitVisible(tid("invite-result")),
	)
	s.waitFor(`document.querySelector('[data-testid="invite-result"]').dataset.outcome === "invited"`)
	if !strings.Contains(s.mailTo("art@vandelay.test"), "/invitations/") {
		t.Error("the colleague got no invitation")
	}
	s.screenshot("colleague-invited")
}

func TestVisitorBuysTeamThroughTheSimulatorCheckout(t *testing.T) {
	t.Parallel()
	s := newBillingSession(t)
	s.signUpFromPricing("team", "buyer@kramerica.test", "Kramerica", "checkout-form")
	s.run(chromedp.SetValue(tid("checkout-seats"), "3"))
	s.screenshot("checkout")
	s.clickAndLoad("checkout-pay")
	s.reloadUntil("/", `[data-testid="plan-status"].status-active`)
	if plan, seats := s.textOf("plan-name"), s.textOf("seats-purchased"); plan != "Team" || seats != "3" {
		t.Errorf("after checkout: %s with %s seats", plan, seats)
	}
	s.screenshot("active")
}

func TestForgottenPasswordResetEndsTheOldSession(t *testing.T) {
	t.Parallel()
	old := newSession(t)
	old.signIn("owner@umbrella.test")

	s := old.as()
	s.run(
		chromedp.Navigate(s.base+"/login"),
		chromedp.WaitVisible(tid("forgot-link")),
		chromedp.Click(tid("forgot-link")),
		chromedp.WaitVisible(tid("forgot-form")),
		chromedp.SendKeys(tid("forgot-email"), "owner@umbrella.test"),
		chromedp.Click(tid("forgot-submit")),
		chromedp.WaitVisible(tid("flash")),
	)
	s.run(
		chromedp.Navigate(linkAfter(t, s.mailTo("owner@umbrella.test"), "/password/reset/")),
		chromedp.WaitVisible(tid("password-form")),
		chromedp.SendKeys(tid("new-password"), "umbrella-new-password"),
		chromedp.Click(tid("password-submit")),
		chromedp.WaitVisible(tid("login-form")),
	)
	s.screenshot("reset-done")
	s.login("owner@umbrella.test", "umbrella-new-password")
	s.run(chromedp.WaitVisible(tid("current-account")))

	// The browser signed in before the reset is signed out.
	old.run(chromedp.Navigate(old.base+"/members"), chromedp.WaitVisible(tid("login-form")))
	old.screenshot("old-session-gone")
}

func TestPersonInTwoAccountsSwitchesBetweenThem(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.login(store.DemoTwoAccountPerson, store.DemoPassword)
	s.run(chromedp.WaitVisible(tid("account-choices")))
	s.screenshot("choose")
	s.clickAndLoad("choose-account-initech")
	if got := s.textOf("current-account"); got != "Initech" {
		t.Fatalf("after choosing: %q", got)
	}
	s.run(chromedp.SetValue(tid("account-switcher-select"), "umbrella"))
	s.clickAndLoad("account-switcher-submit")
	if got := s.textOf("current-account"); got != "Umbrella" {
		t.Fatalf("after switching: %q", got)
	}
	s.screenshot("switched")
}

func TestAdminMadeByStaffCreateEnrolsTOTPAndSignsInWithACode(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	link, err := s.store.CreateStaff(context.Background(), store.SystemActor("entitle staff create"),
		store.NewStaff{Email: "root@vendor.test", Role: "admin", BaseURL: s.base})
	if err != nil {
		t.Fatal(err)
	}
	s.run(
		chromedp.Navigate(link),
		chromedp.WaitVisible(tid("password-form")),
		chromedp.SendKeys(tid("new-password"), "root-staff-password"),
		chromedp.Click(tid("password-submit")),
		chromedp.WaitVisible(tid("admin-login-form")),
	)
	staffSignIn := func() {
		s.run(
			chromedp.Navigate(s.base+"/admin/login"),
			chromedp.WaitVisible(tid("admin-login-form")),
			chromedp.SendKeys(`input[name="email"]`, "root@vendor.test"),
			chromedp.SendKeys(`input[name="password"]`, "root-staff-password"),
			chromedp.Click(tid("admin-login-submit")),
		)
	}
	staffSignIn()
	s.run(chromedp.WaitVisible(tid("two-factor-required")))
	s.screenshot("enrol")
	secret := s.textOf("two-factor-secret")
	code, err := twofactor.Code(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.run(
		chromedp.SendKeys(tid("enrol-code"), code),
		chromedp.Click(tid("enrol-submit")),
		chromedp.WaitVisible(tid("recovery-codes")),
	)
	s.screenshot("recovery-codes")
	s.run(
		chromedp.Click(tid("recovery-codes-done")),
		chromedp.WaitVisible(tid("current-staff")),
		chromedp.Click(tid("admin-logout")),
		chromedp.WaitVisible(tid("admin-login-form")),
	)
	staffSignIn()
	// The enrolment's code was used in its step: the next step's is valid.
	next, _ := twofactor.Code(secret, time.Now().Add(twofactor.Period))
	s.run(
		chromedp.WaitVisible(tid("code-form")),
		chromedp.SendKeys(tid("code"), next),
		chromedp.Click(tid("code-submit")),
	)
	if got := s.textOf("current-staff"); got != "root@vendor.test · admin" {
		t.Fatalf("signed in as %q", got)
	}
	s.screenshot("signed-in")
}

func TestOperatorCreatesAnAccountAndItsOwnerAccepts(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	ops := s.staff("ops@acme.test")
	ops.run(
		chromedp.Navigate(ops.base+"/admin"),
		chromedp.Click(tid("new-account")),
		chromedp.WaitVisible(tid("new-account-form")),
		chromedp.SendKeys(tid("new-account-name"), "Stark Industries"),
		chromedp.SendKeys(tid("new-account-owner"), "tony@stark.test"),
		chromedp.SetValue(tid("new-account-plan"), "business"),
		chromedp.Click(tid("new-account-trial")),
		chromedp.SendKeys(tid("new-account-external-id"), "crm-4711"),
		chromedp.Click(tid("new-account-submit")),
		chromedp.WaitVisible(tid("flash")),
	)
	if got := ops.textOf("flash"); !strings.Contains(got, "Stark Industries is created") {
		t.Errorf("flash = %q", got)
	}
	ops.screenshot("created")
	owner := s.as()
	owner.run(
		chromedp.Navigate(invitationLink.FindString(s.mailTo("tony@stark.test"))),
		chromedp.WaitVisible(tid("accept-form")),
		chromedp.SendKeys(tid("accept-name"), "Tony Stark"),
		chromedp.SendKeys(tid("accept-password"), "i-am-iron-man"),
		chromedp.Click(tid("accept-submit")),
	)
	if got := owner.textOf("current-account"); got != "Stark Industries" {
		t.Fatalf("the owner lands in %q", got)
	}
	owner.screenshot("owner-accepted")
}
