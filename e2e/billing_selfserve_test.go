package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// newSelfServeSession is a browser width px wide on a portal whose billing
// worker runs, as in `entitle serve`: the simulator's webhooks land while
// the browser waits, and nobody uses the console.
func newSelfServeSession(t *testing.T, width int64) *session {
	t.Helper()
	s := storetest.NewDemo(t, nil)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := billing.New(s, nil, logger, billing.Config{WorkerInterval: 200 * time.Millisecond, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b.Worker.Run(ctx) }()
	srv := httptest.NewServer(web.New(web.Options{Store: s, Logger: logger, Billing: b,
		SessionSecret: []byte("e2e-secret-e2e-secret-e2e-secret!!")}))
	t.Cleanup(func() { srv.Close(); cancel(); wg.Wait() })
	b.PublicURL = srv.URL
	return open(t, srv.URL, s, width)
}

func atBothWidths(t *testing.T, journey func(t *testing.T, width int64)) {
	for _, width := range []int64{desktopWidth, phoneWidth} {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			t.Parallel()
			journey(t, width)
		})
	}
}

func TestUmbrellaPaysItsWayOutOfPastDueFromThePortal(t *testing.T) {
	t.Parallel()
	atBothWidths(t, func(t *testing.T, width int64) {
		s := newSelfServeSession(t, width)
		s.signIn("owner@umbrella.test")
		s.run(waitVisible(tid("banner-past-due")), press(tid("banner-past-due-link")), waitVisible(tid("billing-open-invoice")))
		if got := s.textOf("pay-now"); got != "Pay now $36.00" {
			t.Errorf("pay button = %q", got)
		}
		s.screenshot("invoice-due")

		// The card on file declines: the refusal says what to do, on the page.
		s.run(press(tid("pay-now")), waitVisible(`#errors [data-testid="error-message"]`))
		if got := s.textOf("error-message"); !strings.Contains(got, "Update the payment method") {
			t.Errorf("refusal = %q", got)
		}
		s.screenshot("declined")

		s.run(
			press(tid("update-payment-method")),
			waitVisible(`[data-testid="sim-card"][data-declines="true"]`),
			press(tid("sim-add-card")),
			waitVisible(`[data-testid="sim-card"][data-declines="false"]`),
			press(tid("back-to-billing")),
			waitVisible(tid("pay-now")),
			press(tid("pay-now")),
			waitVisible(tid("billing-done")),
		)
		if got := s.textOf("billing-done"); got != "Payment received. You are on Team, 3 seats, $36.00 a month." {
			t.Errorf("confirmation = %q", got)
		}
		if got := s.textOf("billing-status"); got != "Active" {
			t.Errorf("status after paying = %q", got)
		}
		s.run(waitGone(tid("banner-past-due"))) // the page that confirms the payment has no past-due banner
		s.screenshot("paid")
		s.run(chromedp.Navigate(s.base+"/"), waitVisible(`[data-testid="plan-status"].status-active`), waitGone(tid("banner-past-due")))
	})
}

func TestInitechConvertsItsTrialFromBilling(t *testing.T) {
	t.Parallel()
	atBothWidths(t, func(t *testing.T, width int64) {
		s := newSelfServeSession(t, width)
		s.signIn("owner@initech.test")
		s.run(chromedp.Navigate(s.base+"/billing"), waitVisible(tid("convert-now")))
		if got := s.textOf("convert-now"); got != "Convert now: $145.00 a month" {
			t.Errorf("convert button = %q", got)
		}
		if got := s.textOf("billing-trial-days"); !strings.HasPrefix(got, "10 days left") {
			t.Errorf("trial = %q", got)
		}
		s.run(press(tid("convert-now")), waitVisible(tid("convert-needs-card")))
		s.screenshot("asks-for-a-card")
		s.run(
			press(tid("convert-add-card")),
			waitVisible(`[data-testid="sim-card"][data-has-card="false"]`),
			press(tid("sim-add-card")),
			waitVisible(`[data-testid="sim-card"][data-has-card="true"]`),
			press(tid("back-to-billing")),
			waitVisible(tid("convert-now")),
			press(tid("convert-now")),
			waitVisible(tid("confirm-convert")),
		)
		if got := s.textOf("convert-charge"); got != "$145.00" {
			t.Errorf("charge = %q", got)
		}
		s.screenshot("convert-confirm")
		s.run(press(tid("confirm-convert")), waitVisible(tid("billing-done")))
		if got := s.textOf("billing-done"); got != "Trial converted. You are on Business, 5 seats, $145.00 a month." {
			t.Errorf("confirmation = %q", got)
		}
		s.screenshot("converted")
		s.run(chromedp.Navigate(s.base+"/"), waitVisible(`[data-testid="plan-status"].status-active`))
		if got := s.textOf("plan-name"); got != "Business" {
			t.Errorf("overview plan = %q", got)
		}
	})
}
