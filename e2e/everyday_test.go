package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Everyday use of the portal: every row action works any number of times,
// forms come back to their page, refusals stay on the form, Back after
// signing out shows nothing, and a phone gets a menu.

func memberRow(email string) string { return `[data-testid="member-row"][data-email="` + email + `"] ` }

func TestEveryMemberRowActionWorksAgainAndAgainWithoutAReload(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.signIn("owner@globex.test")
	s.run(chromedp.Navigate(s.base+"/members"), waitVisible(tid("member-table")))
	s.acceptConfirms() // Remove asks first

	// One role select per row is the role: change it and save, twice in a row.
	for _, who := range []string{"bob@globex.test", "carol@globex.test"} {
		s.run(setValue(memberRow(who)+tid("role-select"), "admin"))
		s.click(memberRow(who) + tid("role-save"))
		s.waitFor(`document.querySelector('#member-flash [data-testid="flash"]')?.textContent === "` + who + ` is now Admin."`)
		s.waitFor(`document.querySelector('` + memberRow(who) + `[data-testid="member-role"]')?.dataset.role === "admin"`)
	}
	// Then remove someone, then the bulk assign: still alive.
	s.click(memberRow("dave@globex.test") + tid("remove-member"))
	// (answered in place, or by the page the form's redirect loads when the
	// click beat htmx to a freshly swapped table: both say it)
	s.waitFor(`[...document.querySelectorAll('[data-testid="flash"]')].some(f => f.textContent.trim().startsWith("dave@globex.test removed"))`)
	s.waitFor(`!document.querySelector('` + memberRow("dave@globex.test") + `')`)
	if asked := s.confirmed(); len(asked) != 1 || !strings.HasPrefix(asked[0], "Remove dave@globex.test?") {
		t.Errorf("before removing, the page asked %q", asked)
	}
	if n := get(s, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="member-row"] [data-testid="member-role"]').length === document.querySelectorAll('[data-testid="member-row"]').length ? 1 : 0`)); n != 1 {
		t.Errorf("the role is not shown once per row")
	}
	// Assign seat is disabled with nobody selected. The page's script
	// disables it once the new table has settled (the button works without
	// the script, so the page is sent with it enabled).
	s.waitFor(`document.querySelector('[data-testid="bulk-assign"]').disabled`)
	s.run(press(memberRow("erin@globex.test") + tid("member-select")))
	s.click(tid("bulk-assign"))
	s.waitFor(`document.querySelector('[data-testid="seat-result"][data-input="erin@globex.test"]')?.dataset.outcome === "assigned"`)
	s.screenshot("members")
}

func TestBackAfterSigningOutShowsNoAccountPage(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.signIn("owner@globex.test")
	s.run(chromedp.Navigate(s.base+"/members"), waitVisible(tid("member-table")))
	s.run(press(tid("logout")))
	s.run(waitVisible(tid("login-form")))
	get(s, chromedp.Evaluate[bool](`document.body.dataset.left = "1"; setTimeout(() => history.back(), 0); true`))
	s.run(waitReady(`body:not([data-left])`))
	if n := get(s, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="member-row"]').length`)); n != 0 {
		t.Fatalf("Back after signing out shows %d members from the browser's cache", n)
	}
	s.run(waitVisible(tid("login-form")))
}

func TestPlainFormsComeBackToTheirPageWithAMessage(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.signIn("owner@globex.test")
	s.run(
		chromedp.Navigate(s.base+"/seats"),
		waitVisible(tid("assign-form")),
		typeInto(tid("assign-email"), "frank@globex.test"),
	)
	s.run(press(tid("assign-submit")))
	s.run(waitVisible(tid("flash")))
	if loc := get(s, location()); !strings.HasSuffix(loc, "/seats") {
		t.Fatalf("after assigning the browser sits on %s", loc)
	}
	if got := s.textOf("pool-assigned"); got != "8" {
		t.Fatalf("assigned: %s", got)
	}
	// Reloading shows the page again: nothing is sent twice, and the
	// message was shown once.
	s.run(chromedp.Reload(), waitVisible(tid("assign-form")))
	if got := s.textOf("pool-assigned"); got != "8" {
		t.Errorf("a reload changed the seats: %s assigned", got)
	}
	if n := get(s, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="flash"]').length`)); n != 0 {
		t.Errorf("the message shows again after a reload")
	}
}

func TestRefusedFormsSayWhyBesideTheFieldAndKeepTheInput(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.signIn("owner@globex.test")

	// "Unassign selected" waits for a selection.
	s.run(chromedp.Navigate(s.base+"/seats"), waitVisible(tid("unassign-selected")))
	if !get(s, chromedp.Evaluate[bool](`document.querySelector('[data-testid="unassign-selected"]').disabled`)) {
		t.Errorf("Unassign selected is enabled with nobody selected")
	}

	// A 200,000-character address: refused beside the field, the page no
	// wider than the window (the watcher fails the test on sideways scroll).
	long := strings.Repeat("a", 200000) + "@globex.test"
	get(s, chromedp.Evaluate[bool](`document.querySelector('[data-testid="assign-email"]').value = "`+long+`"; true`))
	s.run(press(tid("assign-submit")))
	s.run(waitVisible(`[data-testid="field-error"][data-field="email"]`))
	if got := s.textOf("field-error"); !strings.Contains(got, "too long") {
		t.Errorf("field error: %q", got)
	}
	if focused := get(s, chromedp.Evaluate[string](`document.activeElement.dataset.testid || ""`)); focused != "assign-email" {
		t.Errorf("focus is on %q, not on the field in error", focused)
	}
	s.screenshot("long-address")

	// A CSV file over 2 MB: the message is beside the file field.
	file := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(file, []byte(strings.Repeat("someone@globex.test\n", 110000)), 0o644); err != nil {
		t.Fatal(err)
	}
	s.run(uploadFiles(tid("csv-file"), []string{file}))
	s.run(press(tid("csv-submit")))
	s.run(waitVisible(`[data-testid="field-error"][data-field="file"]`))
	if got := s.textOf("flash"); !strings.Contains(got, "larger than 2 MB") {
		t.Errorf("flash: %q", got)
	}

	// An API key name that is too long: the message beside it, the name kept.
	s.run(chromedp.Navigate(s.base+"/settings/api-keys"), waitVisible(tid("create-api-key-form")))
	get(s, chromedp.Evaluate[bool](`const i = document.querySelector('[data-testid="api-key-name"]'); i.removeAttribute("maxlength"); i.value = "`+strings.Repeat("n", 120)+`"; true`))
	s.click(tid("create-api-key"))
	s.run(waitVisible(tid("api-key-error")))
	if got := get(s, chromedp.Evaluate[string](`document.querySelector('[data-testid="api-key-name"]').value`)); got != strings.Repeat("n", 120) {
		t.Errorf("the name was not kept: %q", got)
	}
}

// A company with a long name, signed in with a long address: the top bar
// stays one row at 1280 px (its Settings and Sign out dropped to a second
// row, doubling the bar), the name and address cut short with "…" and whole
// on hover.
func TestALongNameAndAddressKeepTheTopBarOneRow(t *testing.T) {
	t.Parallel()
	s := newSessionAt(t, desktopWidth)
	const name, email = "Vandelay Industries International Holdings", "nora.delacroix-whitfield@vandelay-industries.example"
	if _, err := s.store.DB().Exec(`UPDATE account SET name = $1 WHERE slug = 'globex'`, name); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.DB().Exec(`UPDATE app_user SET email = $1 WHERE email = 'owner@globex.test'`, email); err != nil {
		t.Fatal(err)
	}
	s.signIn(email)
	tops := get(s, chromedp.Evaluate[[]float64](`[...document.querySelectorAll('.topbar .brand, .topbar nav a, .topbar summary, [data-testid="logout"]')]
		.filter(e => e.checkVisibility()).map(e => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2))`))
	for _, top := range tops {
		if top < tops[0]-4 || top > tops[0]+4 {
			t.Errorf("at %d px the top bar takes more than one row: its parts' middles lie at %v px", desktopWidth, tops)
			break
		}
	}
	if got := get(s, chromedp.Evaluate[string](`document.querySelector('[data-testid="current-user"] [title]').title`)); got != email {
		t.Errorf("the address's full text on hover = %q", got)
	}
}

func TestAPhoneGetsAMenuAndNoSidewaysScroll(t *testing.T) {
	t.Parallel()
	s := newSessionAt(t, phoneWidth)
	s.signIn("owner@globex.test")
	// Until the page's script runs, the navigation shows (the menu button
	// needs the script); once it has, the navigation waits for the button.
	s.waitFor(`document.documentElement.classList.contains("js")`)
	if visible := get(s, chromedp.Evaluate[bool](`!!document.querySelector('nav[aria-label="Portal"]').getClientRects().length`)); visible {
		t.Errorf("the navigation shows before the menu is opened")
	}
	s.run(press(tid("menu-toggle")), waitVisible(`nav[aria-label="Portal"]`))
	s.run(press(tid("nav-settings")+" summary"), press(`nav a[href="/settings/api-keys"]`), waitVisible(tid("create-api-key-form")))
	if got := get(s, chromedp.Evaluate[string](`document.querySelector('nav [aria-current="page"]').getAttribute("href")`)); got != "/settings/api-keys" {
		t.Errorf("aria-current on %q", got)
	}
	s.run(chromedp.Navigate(s.base+"/members"), waitVisible(tid("member-table")))
	// The members table reads as cards on a phone: nothing to scroll to.
	if wide := get(s, chromedp.Evaluate[bool](`(t => t.scrollWidth > t.clientWidth + 1)(document.querySelector('[data-testid="member-table"]'))`)); wide {
		t.Errorf("the members table at %d px scrolls sideways", phoneWidth)
	}
	s.audit()
	s.screenshot("members")
	// The plans compared are a grid wider than a phone: it scrolls inside
	// the page, and a shadow on its right edge says more is hidden there.
	s.run(chromedp.Navigate(s.base+"/billing"), waitVisible(".matrix-scroll"))
	hint := get(s, chromedp.Evaluate[string](`(() => {
		const box = document.querySelector('.matrix-scroll');
		return box.scrollWidth > box.clientWidth ? getComputedStyle(box).backgroundImage : 'fits the phone';
	})()`))
	if !strings.Contains(hint, "radial-gradient") {
		t.Errorf("the plans compared at %d px show no sign that they scroll: %s", phoneWidth, hint)
	}
}
