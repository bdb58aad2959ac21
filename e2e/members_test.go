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
	s.run(chromedp.WaitReady(tid("current-account")))
}

// waitFor waits until a JavaScript condition on the page holds.
func (s *session) waitFor(condition string) {
	s.t.Helper()
	get(s, chromedp.Poll[bool](condition, chromedp.WithPollingTimeout(0)))
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
		chromedp.WaitVisible(tid("invite-form")),
		chromedp.SendKeys(tid("invite-emails"), "newbie@globex.test, alice@globex.test"),
		chromedp.Click(tid("invite-submit")),
		chromedp.WaitVisible(tid("invite-result")),
	)
	admin.waitFor(`[...document.querySelectorAll('[data-testid="invite-result"]')].map(r => r.dataset.outcome).join(" ") === "invited already_member"`)
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
		chromedp.WaitVisible(tid("accept-form")),
		chromedp.SendKeys(tid("accept-name"), "Nelly Newbie"),
		chromedp.SendKeys(tid("accept-password"), "nelly-password-1"),
		chromedp.Click(tid("accept-submit")),
		chromedp.WaitVisible(tid("my-licence")),
	)
	if got := get(newbie, chromedp.Evaluate[string](`document.querySelector('[data-testid="my-licence"]').dataset.holds`)); got != "false" {
		t.Fatalf("before assignment the member holds a seat: %s", got)
	}
	newbie.screenshot("no-seat-yet")

	// The admin assigns a seat on the seats page.
	admin.run(
		chromedp.Navigate(admin.base+"/seats"),
		chromedp.WaitVisible(tid("assign-form")),
		chromedp.SendKeys(tid("assign-email"), "newbie@globex.test"),
		chromedp.Click(tid("assign-submit")),
		chromedp.WaitVisible(tid("seat-results")),
	)
	if got := admin.textOf("pool-assigned"); got != "8" {
		t.Errorf("assigned after one more: %s", got)
	}
	admin.waitFor(`document.querySelector('[data-testid="holder-row"][data-email="newbie@globex.test"]') !== null`)

	// The member sees the licence: only their own, no account figures.
	newbie.run(chromedp.Navigate(newbie.base+"/"), chromedp.WaitVisible(tid("my-licence")))
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
		chromedp.WaitVisible(tid("csv-form")),
		chromedp.SetUploadFiles(tid("csv-file"), []string{file}),
		chromedp.Click(tid("csv-submit")),
		chromedp.WaitVisible(tid("csv-confirm")),
	)
	rows := get(s, chromedp.Evaluate[string](`[...document.querySelectorAll('[data-testid="seat-result"]')].map(r => r.dataset.outcome).join(" ")`))
	if rows != "assigned assigned already_held unknown_member malformed" {
		t.Fatalf("preview rows: %s", rows)
	}
	if got := s.textOf("pool-assigned"); got != "7" {
		t.Fatalf("the preview changed seats: %s assigned", got)
	}
	s.screenshot("csv-preview")
	s.run(chromedp.Click(tid("csv-confirm")), chromedp.WaitVisible(`[data-testid="seat-results"][data-preview="false"]`))
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
	s.run(chromedp.Navigate(s.base+"/members"), chromedp.WaitVisible(tid("member-search")))
	if n := get(s, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="member-row"]').length`)); n != 9 {
		t.Fatalf("%d rows before searching", n)
	}
	s.run(chromedp.SendKeys(tid("member-search"), "car"))
	s.waitFor(`document.querySelectorAll('[data-testid="member-row"]').length === 1`)
	if got := get(s, chromedp.Evaluate[string](`document.querySelector('[data-testid="member-row"]').dataset.email`)); got != "carol@globex.test" {
		t.Fatalf("search found %s", got)
	}
	if loc := get(s, chromedp.Location()); !strings.HasSuffix(loc, "/members?q=car") {
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
		chromedp.WaitVisible(tid("bulk-seats")),
		chromedp.Click(row("erin@globex.test")+tid("member-select")),
		chromedp.Click(row("frank@globex.test")+tid("member-select")),
		chromedp.Click(tid("bulk-assign")),
		chromedp.WaitVisible(tid("seat-results")),
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
		chromedp.Click(row("frank@globex.test")+tid("member-select")),
		chromedp.Click(tid("bulk-assign")),
		chromedp.WaitVisible(`#errors `+tid("error-message")),
	)
	if msg := s.textOf("error-message"); !strings.Contains(msg, "No seat left") {
		t.Fatalf("error: %q", msg)
	}
	s.screenshot("no-seat-left")
}
