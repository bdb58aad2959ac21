package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestUmbrellaPaysItsWayOutOfPastDueFromThePortal(t *testing.T) {
	t.Parallel()
	atBothWidths(t, func(t *testing.T, width int64) {
		s := newBillingSessionAt(t, width)
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
		s := newBillingSessionAt(t, width)
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
		s.run(addCardAndAskToConvert()...)
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

// addCardAndAskToConvert starts on a trial's "add a card first" answer:
// it adds a card in the simulator, goes back to Billing and asks to convert
// again, ending on the conversion's confirmation.
func addCardAndAskToConvert() []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		press(tid("convert-add-card")),
		waitVisible(`[data-testid="sim-card"][data-has-card="false"]`),
		press(tid("sim-add-card")),
		waitVisible(`[data-testid="sim-card"][data-has-card="true"]`),
		press(tid("back-to-billing")),
		waitVisible(tid("convert-now")),
		press(tid("convert-now")),
		waitVisible(tid("confirm-convert")),
	}
}
