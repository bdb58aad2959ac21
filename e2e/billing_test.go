package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// newBillingSession is newSession with the billing worker running, as in
// `entitle serve`: the simulator's webhooks land while the browser waits.
func newBillingSession(t *testing.T) *session {
	t.Helper()
	return newBillingSessionAt(t, desktopWidth)
}

// newBillingSessionAt is newBillingSession in a window width px wide.
func newBillingSessionAt(t *testing.T, width int64) *session {
	t.Helper()
	s, start := newBillingSessionHeld(t, width)
	start()
	return s
}

// newBillingSessionHeld is newBillingSessionAt with billing's worker held
// until start is called: a journey sees the page as it is before the
// provider's events are applied.
func newBillingSessionHeld(t *testing.T, width int64) (sess *session, start func()) {
	t.Helper()
	s := storetest.NewDemo(t, nil)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := billing.New(s, nil, logger, billing.Config{WorkerInterval: 200 * time.Millisecond, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	start = func() {
		wg.Add(1)
		go func() { defer wg.Done(); b.Worker.Run(ctx) }()
	}
	srv := httptest.NewServer(web.New(web.Options{Store: s, Logger: logger, Billing: b,
		SessionSecret: []byte("e2e-secret-e2e-secret-e2e-secret!!")}))
	t.Cleanup(func() { srv.Close(); cancel(); wg.Wait() })
	b.PublicURL = srv.URL
	return open(t, srv.URL, s, width), start
}

// staff is a second person (vendor staff) in their own browser context.
func (s *session) staff(email string) *session {
	s.t.Helper()
	st := open(s.t, s.base, s.store, desktopWidth)
	st.run(
		chromedp.Navigate(st.base+"/admin/login"),
		waitVisible(tid("admin-login-form")),
		typeInto(`input[name="email"]`, email),
		typeInto(`input[name="password"]`, store.DemoPassword),
		press(tid("admin-login-submit")),
		waitReady(tid("current-staff")),
	)
	return st
}

// simulate presses one of the console's simulator buttons for an account.
func (s *session) simulate(slug, button string) {
	s.t.Helper()
	s.run(
		chromedp.Navigate(s.base+"/admin/accounts/"+slug+"/billing"),
		waitVisible(tid(button)),
	)
	// Mark this page, so that waiting below ends on the page the form's
	// redirect loads, not on this one.
	get(s, chromedp.Evaluate[bool](`document.body.dataset.stale = "1"; true`))
	s.run(
		press(tid(button)),
		waitVisible(`body:not([data-stale]) [data-testid="sim-state"]`),
	)
}

// reloadUntil reloads path until an element matching sel is there (the
// worker applies the simulator's webhooks in the background).
func (s *session) reloadUntil(path, sel string) {
	s.t.Helper()
	for range 100 {
		s.run(chromedp.Navigate(s.base+path), waitReady("body"))
		if get(s, chromedp.Evaluate[bool](`!!document.querySelector(`+"`"+sel+"`"+`)`)) {
			return
		}
		time.Sleep(100 * time.Millisecond) // polling for the webhook, not a timed assertion
	}
	s.screenshot("failure")
	s.t.Fatalf("%s never showed %s", path, sel)
}

func TestGlobexOwnerUpgradesTeamToBusiness(t *testing.T) {
	t.Parallel()
	s := newBillingSession(t)
	s.login("owner@globex.test", store.DemoPassword)
	s.run(
		waitVisible(tid("entitlements")),
		chromedp.Navigate(s.base+"/billing"),
		waitVisible(tid("plan-comparison")),
		press(tid("choose-business")),
		waitVisible(tid("proration-amount")),
	)
	if got := s.textOf("proration-amount"); !strings.HasPrefix(got, "$") {
		t.Fatalf("prorated amount = %q", got)
	}
	if !s.inView("change-confirm") { // the preview is above the plans table the button is in
		t.Error("after Upgrade the preview is off-screen: the click seems to do nothing")
	}
	if gap := get(s, chromedp.Evaluate[float64](`(b => b.nextElementSibling.getBoundingClientRect().left - b.getBoundingClientRect().right)(document.querySelector('[data-testid="confirm-change"]'))`)); gap < 8 {
		t.Errorf("\"Not now\" is %.0f px from the Confirm button: they read as one", gap)
	}
	s.screenshot("upgrade-confirm")
	s.run(
		press(tid("confirm-change")),
		waitVisible(`[data-testid="billing-plan"][data-plan="business"]`),
		waitGone(tid("billing-pending")),
	)
	if got := s.textOf("billing-status"); got != "Active" {
		t.Errorf("status after upgrade = %q", got)
	}
	s.screenshot("upgraded")
	s.run(chromedp.Navigate(s.base+"/"), waitVisible(tid("entitlements")))
	if got := s.textOf("plan-name"); got != "Business" {
		t.Fatalf("overview plan = %q, want Business", got)
	}
}

func TestInitechTrialIsConvertedAfterAddingACard(t *testing.T) {
	t.Parallel()
	s := newBillingSession(t)
	s.login("owner@initech.test", store.DemoPassword)
	s.run(waitVisible(tid("trial-countdown")))
	if got := s.textOf("trial-countdown"); !strings.Contains(got, "10 days left") {
		t.Errorf("countdown = %q", got)
	}
	s.run(
		chromedp.Navigate(s.base+"/billing"),
		waitVisible(tid("billing-trial-days")),
		press(tid("open-portal")),
		waitVisible(tid("sim-add-card")),
		press(tid("sim-add-card")),
		waitVisible(`[data-testid="sim-card"][data-has-card="true"]`),
	)
	if got := s.textOf("sim-card"); !strings.Contains(got, "4242") {
		t.Fatalf("card = %q", got)
	}
	ops := s.staff("ops@acme.test")
	ops.simulate("initech", "sim-advance") // the trial ends
	ops.screenshot("trial-ended")
	s.reloadUntil("/", `[data-testid="plan-status"].status-active`)
	if plan, status := s.textOf("plan-name"), s.textOf("plan-status"); plan != "Business" || status != "Active" {
		t.Fatalf("after the trial: %s, %s", plan, status)
	}
	s.screenshot("converted")
}

func TestUmbrellaGraceSuspensionAndReactivation(t *testing.T) {
	t.Parallel()
	s := newBillingSession(t)
	ops := s.staff("ops@acme.test")
	s.login("owner@umbrella.test", store.DemoPassword)
	s.run(waitVisible(tid("banner-past-due")))

	ops.simulate("umbrella", "sim-succeed") // the open invoice is paid
	s.reloadUntil("/", `[data-testid="plan-status"].status-active`)

	ops.simulate("umbrella", "sim-fail")
	ops.simulate("umbrella", "sim-advance") // the renewal fails
	s.reloadUntil("/", tid("banner-past-due"))
	if got := s.textOf("banner-past-due"); !strings.Contains(got, "Access continues until") {
		t.Errorf("grace banner = %q", got)
	}
	s.screenshot("grace")

	ops.simulate("umbrella", "sim-advance") // the retry fails too
	s.reloadUntil("/", tid("banner-suspended"))
	// The page that first shows the banner may have read the features a
	// moment before the webhook landed (two reads in one request): read
	// them from a page loaded after it.
	s.run(chromedp.Navigate(s.base+"/"), waitVisible(tid("banner-suspended")))
	reasons := get(s, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="feature-access"]')].map(td => td.dataset.reason)`))
	for _, r := range reasons {
		if r != "suspended" {
			t.Errorf("a feature answers %q while suspended", r)
		}
	}
	s.screenshot("suspended")

	ops.simulate("umbrella", "sim-succeed") // paid: reactivated
	s.reloadUntil("/", `[data-testid="plan-status"].status-active`)
	if n := get(s, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid^="banner-"]').length`)); n != 0 {
		t.Errorf("%d banners after reactivation", n)
	}
	s.screenshot("reactivated")
}
