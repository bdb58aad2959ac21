package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/store"
)

// pilotColumns counts the Scale pilot's columns on the page.
const pilotColumns = `document.querySelectorAll('[data-testid="plan-column"][data-plan="scale"] [data-testid="pilot-badge"]').length`

// An operator lists Initech for the Scale pilot; Initech's owner sees it
// and buys it (converting the trial first, as plan changes wait for that),
// while Globex's owner never sees it.
func TestOperatorOffersAPilotToInitechAndGlobexDoesNotSeeIt(t *testing.T) {
	t.Parallel()
	atBothWidths(t, func(t *testing.T, width int64) {
		s := newBillingSessionAt(t, width)

		// Before: Initech's owner does not see the pilot.
		s.login("owner@initech.test", store.DemoPassword)
		s.run(waitVisible(tid("entitlements")), chromedp.Navigate(s.base+"/billing"), waitVisible(tid("plan-comparison")))
		if n := get(s, chromedp.Evaluate[int](pilotColumns)); n != 0 {
			t.Fatalf("Initech sees the pilot before being listed (%d)", n)
		}

		// An operator adds Initech to the Scale pilot in the console.
		ops := s.staff("ops@acme.test")
		ops.run(
			chromedp.Navigate(ops.base+"/admin/accounts/initech"),
			waitVisible(tid("pilot-add-scale")),
			press(tid("pilot-add-scale")),
			waitVisible(`[data-testid="admin-pilot"][data-plan="scale"][data-listed="true"]`),
		)
		ops.screenshot("pilot-listed")

		// Initech's owner now sees Scale, marked as a pilot, with its own price.
		s.run(chromedp.Navigate(s.base+"/billing"), waitVisible(tid("plan-comparison")))
		if n := get(s, chromedp.Evaluate[int](pilotColumns)); n != 1 {
			t.Fatalf("Initech does not see the pilot after being listed (%d)", n)
		}
		price := get(s, chromedp.Evaluate[string](`document.querySelector('[data-testid="plan-column"][data-plan="scale"] .muted').textContent.trim()`))
		if price != "$45.00 per seat / month" {
			t.Errorf("pilot price = %q", price)
		}
		s.screenshot("initech-sees-pilot")

		// ...and buys it: the trial converts (with a card), then Scale.
		s.run(press(tid("convert-now")), waitVisible(tid("convert-add-card")))
		s.run(addCardAndAskToConvert()...)
		s.run(
			press(tid("confirm-convert")),
			waitVisible(tid("billing-done")),
			chromedp.Navigate(s.base+"/billing"),
			waitVisible(tid("choose-scale")),
			press(tid("choose-scale")),
			waitVisible(tid("change-confirm")),
			press(tid("confirm-change")),
			waitVisible(`[data-testid="billing-plan"][data-plan="scale"]`),
			waitGone(tid("billing-pending")),
		)
		s.screenshot("initech-bought-pilot")

		// Globex's owner, in another browser, does not see it.
		g := open(t, s.base, s.store, width)
		g.login("owner@globex.test", store.DemoPassword)
		g.run(waitVisible(tid("entitlements")), chromedp.Navigate(g.base+"/billing"), waitVisible(tid("plan-comparison")))
		if n := get(g, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="plan-column"][data-plan="scale"]').length`)); n != 0 {
			t.Fatalf("Globex sees the pilot (%d)", n)
		}
	})
}
