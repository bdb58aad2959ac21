package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// waitQuiet waits until htmx has no request running and nothing being
// swapped or settled, so that a button just swapped in has its htmx
// behaviour before it is pressed.
func (s *session) waitQuiet() {
	s.t.Helper()
	s.waitFor(`!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')`)
}

func pendingRowSel(email string) string {
	return `[data-testid="pending-row"][data-email="` + email + `"] `
}

// An admin resends one invitation and revokes another, then does it again
// to two more, without a reload: each answer appears beside its row and
// names the person, and every button keeps working.
func TestResendThenRevokeInvitationsInARowWithoutAReload(t *testing.T) {
	t.Parallel()
	atBothWidths(t, func(t *testing.T, width int64) {
		s := newSessionAt(t, width)
		s.signIn("owner@globex.test")
		s.run(
			chromedp.Navigate(s.base+"/members"),
			waitVisible(tid("invite-form")),
			typeInto(tid("invite-emails"), "nina@globex.test, omar@globex.test, pia@globex.test, quinn@globex.test"),
			press(tid("invite-submit")),
			waitVisible(tid("invite-result")),
		)
		// The pending card reloads itself with the four invitations.
		s.waitFor(`document.querySelectorAll('[data-testid="pending-row"]').length === 4`)
		s.waitQuiet()
		get(s, chromedp.Evaluate[bool](`window.confirm = () => true; true`)) // Revoke asks first
		firstLink := invitationLink.FindString(s.mailTo("nina@globex.test"))

		for _, pair := range [][2]string{{"nina@globex.test", "omar@globex.test"}, {"pia@globex.test", "quinn@globex.test"}} {
			resend, revoke := pair[0], pair[1]
			s.waitQuiet()
			s.click(pendingRowSel(resend) + tid("pending-resend"))
			s.waitFor(`document.querySelector('` + pendingRowSel(resend) + `[data-testid="pending-result"]')?.textContent.trim() === "Invitation sent again to ` + resend + `; the earlier link no longer works."`)
			s.waitQuiet()
			s.click(pendingRowSel(revoke) + tid("pending-revoke"))
			s.waitFor(`document.querySelector('` + pendingRowSel(revoke) + `')?.dataset.outcome === "revoked"`)
			s.waitFor(`document.querySelector('` + pendingRowSel(revoke) + `[data-testid="pending-result"]')?.textContent.trim() === "Invitation to ` + revoke + ` revoked; the link no longer works."`)
			// The member table follows: the revoked person is no longer listed as invited.
			s.waitFor(`!document.querySelector('[data-testid="member-row"][data-email="` + revoke + `"]')`)
		}
		if link := invitationLink.FindString(s.mailTo("nina@globex.test")); link == firstLink || link == "" {
			t.Fatalf("resending mailed no new link (%q)", link)
		}
		s.screenshot("invitations-resent-revoked")

		// Select every pending one and revoke them together.
		s.waitQuiet()
		s.run(press(tid("pending-select-all")))
		s.click(tid("pending-revoke-selected"))
		s.waitFor(`[...document.querySelectorAll('[data-testid="pending-row"]')].every(r => r.dataset.outcome === "revoked")`)
		if !get(s, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth + 1`)) {
			t.Errorf("the members page scrolls sideways at %d px", width)
		}
	})
}

// The audit log reads as sentences, with the changed fields before → after.
func TestAuditLogReadsAsSentences(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.signIn("owner@globex.test")
	s.run(chromedp.Navigate(s.base+"/members"), waitVisible(tid("member-table")))
	s.run(setValue(memberRow("bob@globex.test")+tid("role-select"), "admin"))
	s.click(memberRow("bob@globex.test") + tid("role-save"))
	s.waitFor(`document.querySelector('#member-flash [data-testid="flash"]')?.textContent === "bob@globex.test is now Admin."`)

	s.run(chromedp.Navigate(s.base+"/audit"), waitVisible(tid("audit-table")))
	s.waitFor(`document.querySelector('[data-testid="audit-row"][data-action="member.role"] [data-testid="audit-sentence"]')?.textContent.trim() === "Role of bob@globex.test changed to Admin by owner@globex.test"`)
	s.waitFor(`document.querySelector('[data-testid="audit-row"][data-action="member.role"] [data-testid="audit-change"][data-field="role"]')?.textContent.replace(/\s+/g, " ").trim() === "role: member → admin"`)
	if raw := get(s, chromedp.Evaluate[bool](`[...document.querySelectorAll('[data-testid="audit-row"]')].some(r => r.textContent.includes('{"'))`)); raw {
		t.Error("the audit page still shows raw JSON")
	}
	s.screenshot("audit-sentences")
}

// Typing in the member search announces how many people match.
func TestMemberSearchCountIsAnnounced(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	s.signIn("owner@globex.test")
	s.run(
		chromedp.Navigate(s.base+"/members"),
		waitVisible(tid("member-search")),
		typeInto(tid("member-search"), "carol"),
	)
	s.waitFor(`document.querySelector('#live-announce[aria-live="polite"]')?.textContent === "1 member"`)
}

// With more members than a page holds, Next and Previous show the new page
// from its first row, as a page loaded anew would: the pager sits below
// fifty rows, on a phone screens below the table's start.
func TestPagingTheMembersShowsTheNewPageFromItsFirstRow(t *testing.T) {
	t.Parallel()
	atBothWidths(t, func(t *testing.T, width int64) {
		s := newSessionAt(t, width)
		owner := storetest.Principal(t, s.store, "owner@globex.test")
		var addresses []string
		for i := range 95 { // 104 members with the demo's 9: pages of 50, 50 and 4
			addresses = append(addresses, fmt.Sprintf("pager%02d@globex.test", i))
		}
		if _, err := s.store.Invite(context.Background(), owner, store.InviteRequest{Addresses: strings.Join(addresses, " "),
			Role: licensing.Member, BaseURL: s.base}); err != nil {
			t.Fatal(err)
		}
		s.signIn("owner@globex.test")
		s.run(chromedp.Navigate(s.base+"/members"), waitVisible(tid("member-table")))
		rows := func() int {
			return get(s, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="member-row"]').length`))
		}
		for _, step := range []struct{ press, url string }{{"page-next", "after="}, {"page-prev", "before="}} {
			s.waitQuiet()
			s.click(tid(step.press))
			s.waitFor(`location.search.includes("` + step.url + `") && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')`)
			if n := rows(); n != 50 {
				t.Fatalf("after %s: %d rows, want 50", step.press, n)
			}
			if !s.inView("member-total") {
				t.Errorf("after %s at %d px the new page's first rows are out of sight (window at %v px)", step.press, width,
					get(s, chromedp.Evaluate[float64](`window.scrollY`)))
			}
		}
	})
}

// On a long members page every role box shows its role whole, and what a
// role change answers is seen where the person is: the confirmation and a refusal stay at the window's top while
// the row stays in view (the confirmation was 1,136 px above the window,
// and a refusal scrolled the page to its top), and a refused role is put
// back in its box.
func TestARoleChangeIsAnsweredWhereThePersonIs(t *testing.T) {
	t.Parallel()
	atBothWidths(t, func(t *testing.T, width int64) {
		s := newSessionAt(t, width)
		owner := storetest.Principal(t, s.store, "owner@globex.test")
		var addresses []string
		for i := range 40 {
			addresses = append(addresses, fmt.Sprintf("long%02d@globex.test", i))
		}
		// A long address: the watcher fails the journey when a column
		// squeezes it into a word split over two lines.
		addresses = append(addresses, "newbie.walker.from.marketing@globex.test")
		if _, err := s.store.Invite(context.Background(), owner, store.InviteRequest{Addresses: strings.Join(addresses, " "),
			Role: licensing.Member, BaseURL: s.base}); err != nil {
			t.Fatal(err)
		}
		s.signIn("owner@globex.test")
		s.run(chromedp.Navigate(s.base+"/members"), waitVisible(tid("member-table")))
		// Every role box is as wide as its longest role ("Membe" at 1280 px
		// once an invitation's "Resend or revoke" widened its column).
		if squeezed := get(s, chromedp.Evaluate[int](`[...document.querySelectorAll('[data-testid="role-select"]')].filter(sel => {
			const free = sel.cloneNode(true); free.style.cssText = "position:absolute;display:inline-block;width:auto";
			document.body.append(free); const want = free.offsetWidth; free.remove(); return sel.offsetWidth < want - 1 }).length`)); squeezed > 0 {
			t.Errorf("at %d px, %d role boxes are narrower than their roles", width, squeezed)
		}
		seen := func(sel string) bool {
			return get(s, untilJS[bool](`() => { const e = document.querySelector(`+strconv.Quote(sel)+`); if (!e) return null;
				const r = e.getBoundingClientRect(); return r.bottom > 0 && r.top < window.innerHeight }`))
		}
		for _, c := range []struct {
			email, role, answer, where string
		}{
			{"long39@globex.test", "admin", "long39@globex.test is now Admin.", "#member-flash"},
			{"owner@globex.test", "member", "An account needs at least one active owner", "#errors"},
		} {
			row := `[data-testid="member-row"][data-email="` + c.email + `"] `
			s.waitQuiet()
			s.run(doJS(`() => { document.querySelector(` + strconv.Quote(row) + `).scrollIntoView({block: "end"}); return window.scrollY > 300 || null }`))
			s.run(setValue(row+tid("role-select"), c.role))
			s.click(row + tid("role-save"))
			s.waitFor(`document.querySelector("` + c.where + `").textContent.includes(` + strconv.Quote(c.answer) + `)`)
			s.waitQuiet()
			if !seen(c.where + " .flash") {
				t.Errorf("at %d px, %q is out of sight (window at %v px)", width, c.answer, get(s, chromedp.Evaluate[float64](`window.scrollY`)))
			}
			if !seen(row) {
				t.Errorf("at %d px, the row of %s left the window after its role change", width, c.email)
			}
			// The answer on top is this one: the last one was cleared when
			// the form was sent (it covered the refusal, pinned to its spot).
			if top := get(s, chromedp.Evaluate[bool](`(() => { const r = document.querySelector("`+c.where+` .flash").getBoundingClientRect();
				return !!document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)?.closest("`+c.where+`") })()`)); !top {
				t.Errorf("at %d px, %q is covered by another answer", width, c.answer)
			}
			// Pinned to the top, the answer can be put away: it covers the
			// table's headings while the page is scrolled.
			s.click(c.where + " " + tid("flash-dismiss"))
			s.waitFor(`document.querySelector("` + c.where + `").textContent.trim() === ""`)
		}
		if role := get(s, valueOf(`[data-testid="member-row"][data-email="owner@globex.test"] `+tid("role-select"))); role != "owner" {
			t.Errorf("at %d px, after the refusal the owner's role box shows %q, want owner", width, role)
		}
	})
}
