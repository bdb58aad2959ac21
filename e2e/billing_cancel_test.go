package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// textNow reads the trimmed text of the first element with a data-testid
// as the page is now: "" when there is none (textOf waits for one).
func (s *session) textNow(id string) string {
	s.t.Helper()
	return get(s, chromedp.Evaluate[string](`(document.querySelector(`+strconv.Quote(tid(id))+`) || {textContent: ""}).textContent.trim()`))
}

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
	// Seats and plans do not change either, as the page says.
	if got := s.textNow("billing-changes-locked"); !strings.Contains(got, "resume it to change the plan or seats") {
		t.Errorf("where the seat and plan controls were: %q", got)
	}
	if n := get(s, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="review-seats"], [data-testid^="choose-"]').length`)); n != 0 {
		t.Errorf("an ending plan offers %d seat or plan changes", n)
	}
	s.screenshot("canceling")
	// The overview says the plan ends, and leads back to Resume.
	s.run(chromedp.Navigate(s.base+"/"), waitVisible(tid("plan-name")))
	if got := s.textNow("plan-ending"); !strings.HasPrefix(got, "Ends ") || !strings.Contains(got, "resume it on Billing") {
		t.Fatalf("the overview of an ending plan says %q", got)
	}
	s.screenshot("overview-ending")
	s.auditAtBothWidths()
	s.resize(desktopWidth)
	s.run(press(tid("plan-ending-resume")), waitVisible(tid("resume")))
	s.run(
		press(tid("resume")),
		waitGone(tid("billing-cancel-notice")),
		waitGone(tid("billing-pending")),
		waitVisible(tid("review-addon-extra_api_calls")),
		waitVisible(tid("review-seats")),
	)
	if asked := s.confirmed(); len(asked) != 1 {
		t.Errorf("Resume asked again: %q", asked)
	}
}
