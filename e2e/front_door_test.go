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
		waitVisible(tid("pricing")),
	)
	s.screenshot("pricing")
	s.run(
		press(tid("pricing-action-"+plan)),
		waitVisible(tid("signup-form")),
		typeInto(tid("signup-email"), email),
		typeInto(tid("signup-name"), "Vera Visitor"),
		typeInto(tid("signup-password"), "vera-password-1"),
		typeInto(tid("signup-company"), company),
		press(tid("signup-submit")),
		waitVisible(tid("signup-sent")),
	)
	s.screenshot("check-inbox")
	s.run(
		chromedp.Navigate(linkAfter(s.t, s.mailTo(email), "/signup/verify/")),
		waitVisible(tid("verify-form")),
		press(tid("verify-submit")),
		waitVisible(tid(landing)),
	)
}

// clickAndLoad clicks a button that loads another page and waits until
// the new page is there (the old one is marked stale first).
func (s *session) clickAndLoad(button string) {
	s.t.Helper()
	get(s, chromedp.Evaluate[bool](`document.body.dataset.stale = "1"; true`))
	s.run(press(tid(button)), waitVisible(`body:not([data-stale])`))
}

func TestVisitorSignsUpForBusinessAndInvitesAColleague(t *testing.T) {
	t.Parallel()
	s, startBilling := newBillingSessionHeld(t, desktopWidth)
	s.signUpFromPricing("business", "vera@vandelay.test", "Vandelay Industries", "plan-starting")
	welcome := s.textOf("flash")
	if !strings.HasPrefix(welcome, "Welcome to Entitle: your account Vandelay Industries is ready on a 14-day trial of Business") {
		t.Errorf("welcome = %q", welcome)
	}
	s.screenshot("starting")
	// Until then a placeholder stands where the plan shows, not a table
	// of entitlements all "Not in your plan"; readable at both widths.
	if got := s.textNow("plan-placeholder"); !strings.Contains(got, "appear here as soon as it has started") {
		t.Errorf("while the plan starts, the overview says %q", got)
	}
	if n := get(s, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="entitlement-row"], [data-testid="plan-name"]').length`)); n != 0 {
		t.Errorf("while the plan starts, the overview shows %d plan or entitlement lines", n)
	}
	s.auditAtBothWidths()
	s.resize(desktopWidth)
	// The page shows the trial by itself once billing's events land, and
	// the welcome stays above it.
	startBilling()
	s.run(waitVisible(tid("trial-countdown")))
	if got := s.textOf("trial-countdown"); !strings.Contains(got, "14 days left") {
		t.Errorf("countdown = %q", got)
	}
	if got := get(s, chromedp.Evaluate[string](`(document.querySelector('[data-testid="flash"]') || {}).textContent || ""`)); strings.TrimSpace(got) != welcome {
		t.Errorf("once the trial shows, the welcome reads %q", got)
	}
	if got := s.textOf("current-account"); got != "Vandelay Industries" {
		t.Errorf("account = %q", got)
	}
	if holds := get(s, chromedp.Evaluate[string](`document.querySelector('[data-testid="my-licence"]').dataset.holds`)); holds != "true" {
		t.Errorf("the owner holds no seat of the trial: %q", s.textOf("my-licence"))
	}
	s.screenshot("trial")
	s.run(
		chromedp.Navigate(s.base+"/members"),
		waitVisible(tid("invite-form")),
		typeInto(tid("invite-emails"), "art@vandelay.test"),
		press(tid("invite-submit")),
		waitVisible(tid("invite-result")),
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
	// The month's total follows the seats typed, before anything is paid.
	s.waitFor(`document.querySelector('[data-testid="checkout-total"]').textContent.includes("Total: $12.00 per month for 1 seat")`)
	s.run(setValue(tid("checkout-seats"), "3"))
	s.waitFor(`document.querySelector('[data-testid="checkout-total"]').textContent.includes("Total: $36.00 per month for 3 seats")`)
	s.screenshot("checkout")
	s.clickAndLoad("checkout-pay")
	s.reloadUntil("/", `[data-testid="plan-status"].status-active`)
	if plan, seats := s.textOf("plan-name"), s.textOf("seats-purchased"); plan != "Team" || seats != "3" {
		t.Errorf("after checkout: %s with %s seats", plan, seats)
	}
	s.screenshot("active")
}

// "Not now" at checkout leaves the account without a plan: its overview
// sends the owner to choose one on Billing.
func TestVisitorWhoSaysNotNowAtCheckoutIsSentToChooseAPlan(t *testing.T) {
	t.Parallel()
	s := newBillingSession(t)
	s.signUpFromPricing("team", "later@kramerica.test", "Kramerica", "checkout-form")
	s.clickAndLoad("checkout-cancel")
	s.run(waitVisible(tid("plan-name")))
	if plan, choose := s.textOf("plan-name"), s.textNow("choose-plan"); plan != "No subscription" || choose != "Choose a plan on Billing" {
		t.Fatalf("after Not now: plan %q, way to a plan %q", plan, choose)
	}
	s.screenshot("no-plan")
	s.auditAtBothWidths()
	s.resize(desktopWidth)
	s.clickAndLoad("choose-plan")
	s.run(waitVisible(tid("choose-team")))
}

func TestForgottenPasswordResetEndsTheOldSession(t *testing.T) {
	t.Parallel()
	old := newSession(t)
	old.signIn("owner@umbrella.test")

	s := old.as()
	s.run(
		chromedp.Navigate(s.base+"/login"),
		waitVisible(tid("forgot-link")),
		press(tid("forgot-link")),
		waitVisible(tid("forgot-form")),
		typeInto(tid("forgot-email"), "owner@umbrella.test"),
		press(tid("forgot-submit")),
		waitVisible(tid("flash")),
	)
	s.run(
		chromedp.Navigate(linkAfter(t, s.mailTo("owner@umbrella.test"), "/password/reset/")),
		waitVisible(tid("password-form")),
		typeInto(tid("new-password"), "umbrella-new-password"),
		press(tid("password-submit")),
		waitVisible(tid("login-form")),
	)
	s.screenshot("reset-done")
	s.login("owner@umbrella.test", "umbrella-new-password")
	s.run(waitVisible(tid("current-account")))

	// The browser signed in before the reset is signed out.
	old.run(chromedp.Navigate(old.base+"/members"), waitVisible(tid("login-form")))
	old.screenshot("old-session-gone")
}

func TestPersonInTwoAccountsSwitchesBetweenThem(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.login(store.DemoTwoAccountPerson, store.DemoPassword)
	s.run(waitVisible(tid("account-choices")))
	s.screenshot("choose")
	s.clickAndLoad("choose-account-initech")
	if got := s.textOf("current-account"); got != "Initech" {
		t.Fatalf("after choosing: %q", got)
	}
	s.run(setValue(tid("account-switcher-select"), "umbrella"))
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
		waitVisible(tid("password-form")),
		typeInto(tid("new-password"), "root-staff-password"),
		press(tid("password-submit")),
		waitVisible(tid("admin-login-form")),
	)
	staffSignIn := func() {
		s.run(
			chromedp.Navigate(s.base+"/admin/login"),
			waitVisible(tid("admin-login-form")),
			typeInto(`input[name="email"]`, "root@vendor.test"),
			typeInto(`input[name="password"]`, "root-staff-password"),
			press(tid("admin-login-submit")),
		)
	}
	staffSignIn()
	s.run(waitVisible(tid("two-factor-required")))
	s.screenshot("enrol")
	secret := s.textOf("two-factor-secret")
	code, err := twofactor.Code(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.run(
		typeInto(tid("enrol-code"), code),
		press(tid("enrol-submit")),
		waitVisible(tid("recovery-codes")),
	)
	s.screenshot("recovery-codes")
	s.run(
		press(tid("recovery-codes-done")),
		waitVisible(tid("current-staff")),
		press(tid("admin-logout")),
		waitVisible(tid("admin-login-form")),
	)
	staffSignIn()
	// The enrolment's code was used in its step: the next step's is valid.
	next, _ := twofactor.Code(secret, time.Now().Add(twofactor.Period))
	s.run(
		waitVisible(tid("code-form")),
		typeInto(tid("code"), next),
		press(tid("code-submit")),
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
		press(tid("new-account")),
		waitVisible(tid("new-account-form")),
		typeInto(tid("new-account-name"), "Stark Industries"),
		typeInto(tid("new-account-owner"), "tony@stark.test"),
		setValue(tid("new-account-plan"), "business"),
		press(tid("new-account-trial")),
		typeInto(tid("new-account-external-id"), "crm-4711"),
		press(tid("new-account-submit")),
		waitVisible(tid("flash")),
	)
	if got := ops.textOf("flash"); !strings.Contains(got, "Stark Industries is created") {
		t.Errorf("flash = %q", got)
	}
	ops.screenshot("created")
	owner := s.as()
	owner.run(
		chromedp.Navigate(invitationLink.FindString(s.mailTo("tony@stark.test"))),
		waitVisible(tid("accept-form")),
		typeInto(tid("accept-name"), "Tony Stark"),
		typeInto(tid("accept-password"), "i-am-iron-man"),
		press(tid("accept-submit")),
	)
	if got := owner.textOf("current-account"); got != "Stark Industries" {
		t.Fatalf("the owner lands in %q", got)
	}
	owner.screenshot("owner-accepted")
}
