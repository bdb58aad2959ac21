package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// The settings menu is shut when a settings page opens (open, it covered
// the page's first lines), its summary marks where the person is, and it
// closes as a menu does: on a click beside it and on Escape. On a phone,
// opening it leaves the main links where they were.
func TestTheSettingsMenuOpensWhenAskedAndClosesLikeAMenu(t *testing.T) {
	t.Parallel()
	atBothWidths(t, func(t *testing.T, width int64) {
		s := newSessionAt(t, width)
		s.signIn("owner@globex.test")
		s.run(chromedp.Navigate(s.base+"/settings/api-keys"), waitVisible("main h1"))
		menuOpen := `document.querySelector('[data-testid="nav-settings"]').open`
		if get(s, chromedp.Evaluate[bool](menuOpen)) {
			t.Fatalf("the settings menu is open when /settings/api-keys opens at %d px", width)
		}
		if !get(s, chromedp.Evaluate[bool](`document.querySelector('[data-testid="nav-settings-summary"]').classList.contains('active')`)) {
			t.Errorf("on a settings page, the menu's summary is not marked as the current place at %d px", width)
		}
		if width == phoneWidth {
			s.click(tid("menu-toggle"))
		}
		firstLink := `Math.round(document.querySelector('.nav-main a').getBoundingClientRect().left)`
		before := get(s, chromedp.Evaluate[int](firstLink))
		s.click(tid("nav-settings-summary"))
		s.waitFor(menuOpen)
		if after := get(s, chromedp.Evaluate[int](firstLink)); after != before {
			t.Errorf("opening the settings menu moved the first link from x=%d to x=%d at %d px", before, after, width)
		}
		s.click("main h1")
		s.waitFor("!" + menuOpen)

		s.click(tid("nav-settings-summary"))
		s.waitFor(menuOpen)
		// Escape from a link inside the menu, as a keyboard user would.
		s.run(doJS(`() => { document.querySelector('[data-testid="nav-settings"] ul a').focus();
			document.activeElement.dispatchEvent(new KeyboardEvent("keydown", {key: "Escape", bubbles: true})); return true }`))
		s.waitFor("!" + menuOpen)
		if !get(s, chromedp.Evaluate[bool](`document.activeElement === document.querySelector('[data-testid="nav-settings-summary"]')`)) {
			t.Errorf("after Escape, focus is not back on the settings menu's summary at %d px", width)
		}
	})
}
