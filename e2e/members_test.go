package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/store"
)

var invitationLink = regexp.MustCompile(`https?://\S+/invitations/[A-Za-z0-9_-]+`)

// as opens a second person's browser (own cookies) on the same portal.
func (s *session) as() *session {
	return open(s.t, s.base, s.store, s.width)
}

// signIn logs in with the demo password and waits for the overview.
func (s *session) signIn(email string) {
	s.t.Helper()
	s.login(email, store.DemoPassword)
	s.run(waitReady(tid("current-account")))
}

// waitFor waits until a JavaScript condition on the page holds.
func (s *session) waitFor(condition string) {
	s.t.Helper()
	s.run(doJS(`() => (` + condition + `) || null`))
}

// mailTo reads the latest mail to an address from the outbox (what SMTP
// would deliver; the vendor console shows the same rows).
func (s *session) mailTo(address string) string {
	s.t.Helper()
	var body string
	if err := s.store.DB().Get(&body, `SELECT body FROM outbox WHERE to_address = $1 ORDER BY id DESC LIMIT 1`, address); err != nil {
		s.t.Fatalf("no mail to %s: %v", address, err)
	}
	return body
}

func TestInviteAcceptAssignAndTheMemberSeesTheirLicence(t *testing.T) {
	t.Parallel()
	admin := newSession(t)
	admin.signIn("admin@globex.test")

	// The admin invites a new person from the members page (htmx answers
	// per address, and the table reloads with the invited member).
	admin.run(
		chromedp.Navigate(admin.base+"/members"),
		waitVisible(tid("invite-form")),
		typeInto(tid("invite-emails"), "newbie@globex.test, alice@globex.test"),
		press(tid("invite-submit")),
		waitVisible(tid("invite-result")),
	)
	admin.waitFor(`[...document.querySelectorAll('[data-testid="invite-result"]')].map(r => r.dataset.outcome).join(" ") === "invited already_member"`)
	// Both were handled, so the box is empty: pressing Send again cannot
	// mail a second link that voids the first.
	admin.waitFor(`document.querySelector('[data-testid="invite-emails"]').value === ""`)
	admin.waitFor(`document.querySelector('[data-testid="member-row"][data-email="newbie@globex.test"] [data-testid="member-status"]')?.textContent === "Invited"`)
	admin.screenshot("invited")

	// The invitee opens the link from the mail, sets a name and a password.
	link := invitationLink.FindString(admin.mailTo("newbie@globex.test"))
	if link == "" {
		t.Fatal("no invitation link in the mail")
	}
	newbie := admin.as()
	newbie.run(
		chromedp.Navigate(link),
		waitVisible(tid("accept-form")),
		typeInto(tid("accept-name"), "Nelly Newbie"),
		typeInto(tid("accept-password"), "nelly-password-1"),
		press(tid("accept-submit")),
		waitVisible(tid("my-licence")),
	)
	if got := get(newbie, chromedp.Evaluate[string](`document.querySelector('[data-testid="my-licence"]').dataset.holds`)); got != "false" {
		t.Fatalf("before assignment the member holds a seat: %s", got)
	}
	newbie.screenshot("no-seat-yet")

	// The admin assigns a seat on the seats page.
	admin.run(
		chromedp.Navigate(admin.base+"/seats"),
		waitVisible(tid("assign-form")),
		typeInto(tid("assign-email"), "newbie@globex.test"),
		press(tid("assign-submit")),
		waitVisible(tid("seat-results")),
	)
	if got := admin.textOf("pool-assigned"); got != "8" {
		t.Errorf("assigned after one more: %s", got)
	}
	admin.waitFor(`document.querySelector('[data-testid="holder-row"][data-email="newbie@globex.test"]') !== null`)

	// The member sees the licence: only their own, no account figures.
	newbie.run(chromedp.Navigate(newbie.base+"/"), waitVisible(tid("my-licence")))
	if got := newbie.textOf("my-licence"); !strings.Contains(got, "You hold a seat of Acme Analytics") {
		t.Errorf("licence line: %q", got)
	}
	holds := get(newbie, chromedp.Evaluate[string](`document.querySelector('[data-testid="my-licence"]').dataset.holds`))
	figures := get(newbie, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="seats-purchased"]').length`))
	nav := get(newbie, chromedp.Evaluate[string](`[...document.querySelectorAll('nav[aria-label="Portal"] a')].map(a => a.textContent).join(",")`))
	// A member's navigation: their overview and their own devices.
	if holds != "true" || figures != 0 || nav != "Overview,Devices" {
		t.Errorf("member view: holds %s, seat figures %d, nav %q", holds, figures, nav)
	}
	newbie.screenshot("licence")
}

func TestSeatCSVWithGoodAndBrokenRows(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.signIn("owner@globex.test")
	file := filepath.Join(t.TempDir(), "seats.csv")
	content := "email\nfrank@globex.test\nerin@globex.test\nalice@globex.test\nstranger@globex.test\nthis is not an address\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	s.run(
		chromedp.Navigate(s.base+"/seats"),
		waitVisible(tid("csv-form")),
		uploadFiles(tid("csv-file"), []string{file}),
		press(tid("csv-submit")),
		waitVisible(tid("csv-confirm")),
	)
	rows := get(s, chromedp.Evaluate[string](`[...document.querySelectorAll('[data-testid="seat-result"]')].map(r => r.dataset.outcome).join(" ")`))
	if rows != "assigned assigned already_held unknown_member malformed" {
		t.Fatalf("preview rows: %s", rows)
	}
	if got := s.textOf("pool-assigned"); got != "7" {
		t.Fatalf("the preview changed seats: %s assigned", got)
	}
	s.screenshot("csv-preview")
	s.run(press(tid("csv-confirm")), waitVisible(`[data-testid="seat-results"][data-preview="false"]`))
	rows = get(s, chromedp.Evaluate[string](`[...document.querySelectorAll('[data-testid="seat-result"]')].map(r => r.dataset.input + "=" + r.dataset.outcome).join(" ")`))
	if rows != "frank@globex.test=assigned erin@globex.test=assigned" {
		t.Fatalf("applied rows: %s", rows)
	}
	if got := s.textOf("pool-assigned"); got != "9" {
		t.Errorf("assigned after the file: %s", got)
	}
	s.screenshot("csv-applied")
}

func TestMemberSearchSwapsTheTableAsTheAdminTypes(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.signIn("owner@globex.test")
	s.run(chromedp.Navigate(s.base+"/members"), waitVisible(tid("member-search")))
	if n := get(s, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="member-row"]').length`)); n != 9 {
		t.Fatalf("%d rows before searching", n)
	}
	s.run(typeInto(tid("member-search"), "car"))
	s.waitFor(`document.querySelectorAll('[data-testid="member-row"]').length === 1`)
	if got := get(s, chromedp.Evaluate[string](`document.querySelector('[data-testid="member-row"]').dataset.email`)); got != "carol@globex.test" {
		t.Fatalf("search found %s", got)
	}
	if loc := get(s, location()); !strings.HasSuffix(loc, "/members?q=car") {
		t.Errorf("the address bar did not follow the search: %s", loc)
	}
	s.screenshot("search")
}

func TestSelectionGetsTheLastSeatAndTheRestIsToldNoSeatLeft(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	// Globex: 8 seats, 7 assigned: one left.
	if _, err := s.store.DB().Exec(`UPDATE subscription SET seats = 8 WHERE account_id = (SELECT id FROM account WHERE slug = 'globex')`); err != nil {
		t.Fatal(err)
	}
	s.signIn("owner@globex.test")
	row := func(email string) string { return `[data-testid="member-row"][data-email="` + email + `"] ` }
	s.run(
		chromedp.Navigate(s.base+"/members"),
		waitVisible(tid("bulk-seats")),
		press(row("erin@globex.test")+tid("member-select")),
		press(row("frank@globex.test")+tid("member-select")),
		press(tid("bulk-assign")),
		waitVisible(tid("seat-results")),
	)
	got := get(s, chromedp.Evaluate[string](`[...document.querySelectorAll('[data-testid="seat-result"]')].map(r => r.dataset.input + "=" + r.dataset.outcome).join(" ")`))
	if got != "erin@globex.test=assigned frank@globex.test=no_seat_left" {
		t.Fatalf("results: %s", got)
	}
	// The table reloads by itself and shows Erin's seat.
	s.waitFor(`document.querySelector('[data-testid="member-row"][data-email="erin@globex.test"] [data-testid="member-seats"]').textContent.includes("Acme Analytics")`)
	s.screenshot("selection")

	// Frank alone: refused, and the page says why.
	s.run(
		press(row("frank@globex.test")+tid("member-select")),
		press(tid("bulk-assign")),
		waitVisible(`#errors `+tid("error-message")),
	)
	if msg := s.textOf("error-message"); !strings.Contains(msg, "No seat left") {
		t.Fatalf("error: %q", msg)
	}
	s.screenshot("no-seat-left")
}
