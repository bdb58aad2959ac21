package e2e

import (
	"strings"
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

// The account search says what it finds, whole, and its button stands in
// line with the boxes: the placeholder was cut to "name, slug, member
// email, @dom" and the Search button sat 13 px below the boxes at 1280 px.
func TestTheAccountSearchSaysWhatItFindsWithItsButtonInLine(t *testing.T) {
	t.Parallel()
	atBothWidths(t, func(t *testing.T, width int64) {
		s := newSessionAt(t, width)
		s.staffLogin("support@acme.test")
		form := tid("account-search")
		cut := get(s, chromedp.Evaluate[[]string](`[...document.querySelectorAll('`+form+` input[placeholder]')].filter(i => {
			const st = getComputedStyle(i), ctx = document.createElement("canvas").getContext("2d");
			ctx.font = st.font;
			return ctx.measureText(i.placeholder).width > i.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight);
		}).map(i => i.placeholder)`))
		if len(cut) > 0 {
			t.Errorf("at %d px the search box's placeholder is cut: %q", width, cut[0])
		}
		shown := get(s, chromedp.Evaluate[string](`document.querySelector('`+form+`').innerText.replace(/\s+/g, " ")`))
		for _, what := range []string{"name", "slug", "member email", "@domain", "Stripe id"} {
			if !strings.Contains(shown, what) {
				t.Errorf("at %d px the search does not say it finds by %s: %q", width, what, shown)
			}
		}
		// Every box beside the button ends where it ends.
		off := get(s, chromedp.Evaluate[[]string](`(() => {
			const b = document.querySelector('`+tid("account-search-submit")+`').getBoundingClientRect();
			return [...document.querySelectorAll('`+form+` input, `+form+` select')].map(e => [e, e.getBoundingClientRect()])
				.filter(([, r]) => r.top < b.bottom && r.bottom > b.top && Math.abs(r.bottom - b.bottom) > 1)
				.map(([e, r]) => e.name + " ends " + Math.round(b.bottom - r.bottom) + " px above the button");
		})()`))
		if len(off) > 0 {
			t.Errorf("at %d px the Search button is out of line: %v", width, off)
		}
	})
}
