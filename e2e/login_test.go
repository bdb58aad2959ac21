package e2e

import (
	"github.com/chromedp/chromedp"

	"testing"

	"github.com/entitle-dev/entitle/store"
)

// Typing an address asks the server for a single sign-on hint; pressing
// Sign in while that request runs must still sign in (the button used to
// be disabled by the hint's request, so the press did nothing).
func TestSignInIsNotHeldUpByTheSingleSignOnHint(t *testing.T) {
	t.Parallel()
	for _, width := range []int64{desktopWidth, phoneWidth} {
		s := newSessionAt(t, width)
		s.run(
			chromedp.Navigate(s.base+"/login"),
			doJS(`() => { document.addEventListener("htmx:beforeRequest", () => {
				window.submitDisabledDuringHint = document.querySelector('[data-testid="login-submit"]').disabled }); return true }`),
			typeInto(`input[name="email"]`, "owner@globex.test"),
		)
		disabled := get(s, untilJS[bool](`() => window.submitDisabledDuringHint === undefined ? null : window.submitDisabledDuringHint`))
		if disabled {
			t.Fatalf("at %d px the Sign in button was disabled while the single sign-on hint loaded", width)
		}
		s.run(
			typeInto(`input[name="password"]`, store.DemoPassword),
			press(tid("login-submit")),
			waitVisible(tid("current-account")),
		)
	}
}
