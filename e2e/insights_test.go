package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/checks"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// newLiveSession is newSession with the change listener running, as
// `entitle serve` has it, so that open pages hear of changes.
func newLiveSession(t *testing.T) *session {
	t.Helper()
	return newLiveSessionAt(t, desktopWidth)
}

// newLiveSessionAt is newLiveSession in a window width px wide.
func newLiveSessionAt(t *testing.T, width int64) *session {
	t.Helper()
	s := storetest.NewDemo(t, nil)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var name string
	if err := s.DB().Get(&name, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}
	cache := checks.New(s, logger, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = cache.Run(ctx, storetest.ServerURL(name)) }()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(10 * time.Second); !cache.Live(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the change listener did not connect")
		}
	}
	srv := httptest.NewServer(web.New(web.Options{Store: s, Logger: logger, Checks: cache,
		SessionSecret: []byte("e2e-secret-e2e-secret-e2e-secret!!")}))
	t.Cleanup(srv.Close)
	return open(t, srv.URL, s, width)
}

// waitText waits until the element's text is want (the page changes by
// itself: no reload).
func (s *session) waitText(id, want string) {
	s.t.Helper()
	s.run(doJS(`() => (document.querySelector('[data-testid="` + id + `"]') || {}).textContent === ` + strconv.Quote(want) + ` || null`))
}

func TestAdminReclaimsIdleSeatsAndSeesChangesLive(t *testing.T) {
	t.Parallel()
	s := newLiveSession(t)
	s.login("admin@globex.test", store.DemoPassword)
	s.run(waitVisible(tid("current-account")), chromedp.Navigate(s.base+"/insights"), waitVisible(tid("compliance")))
	if got := get(s, attributeOf(tid("compliance"), "data-status")); got != "compliant" {
		t.Errorf("status %q", got)
	}
	for id, want := range map[string]string{"insight-purchased": "10", "insight-assigned": "7", "insight-idle": "2"} {
		if got := s.textOf(id); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	s.run(waitVisible(`[data-chart="chart-seats-analytics"] svg[role="img"] polyline`))
	// The stream is open before anything changes.
	s.run(doJS(`() => document.getElementById('insights-stream').dataset.live === '1' || null`))
	s.screenshot("insights")

	// Preview, then confirm: the two idle seats go back to the pool.
	s.run(press(tid("reclaim-preview")), waitVisible(tid("reclaim-confirm")))
	if n := get(s, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="reclaim-row"][data-outcome="reclaimed"]').length`)); n != 2 {
		t.Fatalf("the preview reclaims %d seats", n)
	}
	s.screenshot("preview")
	s.run(press(tid("reclaim-confirm")), waitVisible(`[data-testid="reclaim-preview-result"][data-done="true"]`))
	s.waitText("insight-assigned", "5")
	s.waitText("insight-idle", "0")
	s.run(doJS(`() => document.getElementById('insights-stream').dataset.live === '1' || null`))

	// A second person assigns a seat in another browser session; the first
	// page shows it without a reload.
	other := open(t, s.base, s.store, desktopWidth)
	other.login("owner@globex.test", store.DemoPassword)
	other.run(
		waitVisible(tid("current-account")),
		chromedp.Navigate(s.base+"/seats"),
		waitVisible(tid("assign-email")),
		typeInto(tid("assign-email"), "erin@globex.test"),
		press(tid("assign-submit")),
		waitVisible(tid("pool-assigned")),
	)
	s.waitText("insight-assigned", "6")
	s.screenshot("live")
}

func TestOperatorOpensTheVendorInsights(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.staffLogin("ops@acme.test")
	s.run(press(`nav[aria-label="Console"] a[href="/admin/insights"]`), waitVisible(tid("vendor-totals")))
	// The stream replaces the figures while the test reads them: read and
	// click in one step each, never through a node found earlier.
	if got := s.textOf("vendor-sold"); got != "38" {
		t.Errorf("seats sold %q", got)
	}
	s.click(`[data-testid="vendor-waste"] a[href="/admin/accounts/globex"]`)
	s.run(waitVisible(tid("admin-plan")))
	s.screenshot("vendor")
}
