package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// apiCallsLimit reads the overview's api_calls limit and where it comes from.
func (s *session) apiCallsLimit() (limit, source string) {
	s.t.Helper()
	s.run(chromedp.Navigate(s.base+"/"), waitVisible(tid("entitlements")))
	row := `[data-testid="entitlement-row"][data-feature="api_calls"] `
	limit = get(s, chromedp.Evaluate[string](`(() => { const c = document.querySelector('`+row+`[data-testid="feature-limit"]');
		return c ? c.firstChild.textContent.trim() : "" })()`))
	source = get(s, chromedp.Evaluate[string](`(() => { const e = document.querySelector('`+row+`[data-testid="limit-source"]');
		return e ? e.textContent.trim() : "" })()`))
	return limit, source
}

func TestGlobexOwnerBuysAnAddOnAndSeesTheRaisedLimit(t *testing.T) {
	t.Parallel()
	atBothWidths(t, func(t *testing.T, width int64) {
		s := newBillingSessionAt(t, width)
		s.signIn("owner@globex.test")
		if limit, source := s.apiCallsLimit(); limit != "50,000" || source != "" {
			t.Fatalf("before: limit %q, source %q", limit, source)
		}

		// Two units of Extra API calls: preview, confirm, wait for Stripe.
		row := `[data-testid="addon-row"][data-addon="extra_api_calls"]`
		s.run(
			chromedp.Navigate(s.base+"/billing"),
			waitVisible(tid("billing-addons")),
			waitVisible(row+`[data-units="0"]`),
			setValue(tid("addon-units-input-extra_api_calls"), "2"),
			press(tid("review-addon-extra_api_calls")),
			waitVisible(tid("addon-confirm")),
		)
		if got := s.textOf("addon-limit-after"); got != "70,000" {
			t.Errorf("preview limit after = %q", got)
		}
		if got := s.textOf("proration-amount"); !strings.HasPrefix(got, "$") {
			t.Errorf("prorated amount = %q", got)
		}
		s.screenshot("addon-confirm")
		s.run(
			press(tid("confirm-addon")),
			waitVisible(row+`[data-units="2"]`),
			waitGone(tid("billing-pending")),
			waitVisible(tid("billing-done")),
		)
		if got := s.textOf("billing-done"); got != "Add-ons saved. You are on Team, 10 seats, $140.00 a month." {
			t.Errorf("confirmation = %q", got)
		}
		s.screenshot("addon-bought")
		if limit, source := s.apiCallsLimit(); limit != "70,000" || source != "50,000 plan + 20,000 from Extra API calls (2 units)" {
			t.Errorf("after buying: limit %q, source %q", limit, source)
		}
		s.screenshot("raised-limit")

		// Removed, the limit goes back to the plan's.
		s.run(
			chromedp.Navigate(s.base+"/billing"),
			waitVisible(row+`[data-units="2"]`),
			press(tid("remove-addon-extra_api_calls")),
			waitVisible(`[data-testid="addon-confirm"][data-units="0"]`),
		)
		if got := s.textOf("addon-limit-after"); got != "50,000" {
			t.Errorf("removal preview limit after = %q", got)
		}
		s.run(
			press(tid("confirm-addon")),
			waitVisible(row+`[data-units="0"]`),
			waitGone(tid("billing-pending")),
		)
		if limit, source := s.apiCallsLimit(); limit != "50,000" || source != "" {
			t.Errorf("after removing: limit %q, source %q", limit, source)
		}
	})
}
