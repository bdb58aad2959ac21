package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// The grant form shows only the fields of the kind chosen, and a grant of
// extra seats is given with them.
func TestGrantFormShowsOnlyTheChosenKindsFields(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.staffLogin("ops@acme.test")
	s.run(chromedp.Navigate(s.base+"/admin/accounts/globex"), waitVisible(tid("grant-form")))
	shown := func(id string) string {
		return `getComputedStyle(document.querySelector('[data-testid="` + id + `"]')).display !== "none"`
	}
	s.waitFor(shown("grant-fields-feature") + ` && ` + shown("grant-fields-switch") + ` && !(` + shown("grant-fields-product") + `) && !(` + shown("grant-fields-amount") + `)`)
	s.run(setValue(tid("grant-kind"), "extra_seats"))
	s.waitFor(`!(` + shown("grant-fields-feature") + `) && !(` + shown("grant-fields-switch") + `) && ` + shown("grant-fields-product") + ` && ` + shown("grant-fields-amount"))
	s.screenshot("grant-extra-seats")
	s.run(
		typeInto(tid("grant-amount"), "3"),
		typeInto(tid("grant-reason"), "Pilot of the new team"),
	)
	s.submit(tid("grant-submit"))
	s.waitFor(`[...document.querySelectorAll('[data-testid="admin-grant"]')].some(g => g.dataset.kind === "extra_seats")`)
	s.run(setValue(tid("grant-kind"), "extra_limit"))
	s.waitFor(shown("grant-fields-feature") + ` && !(` + shown("grant-fields-switch") + `) && ` + shown("grant-fields-amount"))
}
