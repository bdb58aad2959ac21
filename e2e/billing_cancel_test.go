package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Cancel at period end asks first; once the subscription is ending, the
// add-ons say why they cannot change, and Resume brings their controls back.
func TestGlobexOwnerConfirmsCancelAtPeriodEndThenResumes(t *testing.T) {
	t.Parallel()
	s := newBillingSession(t)
	s.signIn("owner@globex.test")
	s.acceptConfirms() // Cancel at period end asks first
	s.run(
		chromedp.Navigate(s.base+"/billing"),
		waitVisible(tid("review-addon-extra_api_calls")),
		press(tid("cancel")),
		waitVisible(tid("billing-cancel-notice")),
		waitGone(tid("billing-pending")),
		waitVisible(tid("billing-done")),
	)
	if asked := s.confirmed(); len(asked) != 1 || !strings.HasPrefix(asked[0], "Cancel Team? It ends on ") {
		t.Errorf("before canceling, the page asked %q", asked)
	}
	if got := s.textOf("addon-locked-extra_api_calls"); !strings.Contains(got, "resume it to change add-ons") {
		t.Errorf("where the add-on controls were: %q", got)
	}
	s.screenshot("canceling")
	s.run(
		press(tid("resume")),
		waitGone(tid("billing-cancel-notice")),
		waitGone(tid("billing-pending")),
		waitVisible(tid("review-addon-extra_api_calls")),
	)
	if asked := s.confirmed(); len(asked) != 1 {
		t.Errorf("Resume asked again: %q", asked)
	}
}
