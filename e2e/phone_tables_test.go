package e2e

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// On a phone, the tables of the pages an admin uses every day (members,
// seats, pending invitations, the audit log, the overview's entitlements,
// billing's add-ons, the profile's sessions) read as one card per row: every cell, button and
// box is within the window, with nothing to scroll sideways to (the
// members table was 844 px wide in a 329 px card, its Remove buttons out of
// sight; the audit log gave "What happened" 95 px, a word a line).
func TestDailyTablesFitAPhone(t *testing.T) {
	t.Parallel()
	s := newSessionAt(t, phoneWidth)
	owner := storetest.Principal(t, s.store, "owner@globex.test")
	if _, err := s.store.Invite(context.Background(), owner, store.InviteRequest{
		Addresses: "someone.with.a.long.name@globex.test", Role: licensing.Member, BaseURL: s.base}); err != nil {
		t.Fatal(err)
	}
	s.signIn("owner@globex.test")
	for _, page := range []struct{ path, table string }{
		{"/members", "member-table"},
		{"/members", "pending-table"},
		{"/seats", "holder-table"},
		{"/audit", "audit-table"},
		{"/", "entitlements"},
		{"/billing", "addons-table"},
		{"/profile", "profile-sessions"},
	} {
		s.run(chromedp.Navigate(s.base+page.path), waitVisible(tid(page.table)))
		outside := get(s, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="`+page.table+`"] td, [data-testid="`+page.table+`"] button, [data-testid="`+page.table+`"] select')]
			.filter(e => e.getClientRects().length && (e.getBoundingClientRect().right > window.innerWidth + 1 || e.getBoundingClientRect().left < -1))
			.map(e => e.tagName + " " + e.textContent.trim().slice(0, 40))`))
		if len(outside) > 0 {
			t.Errorf("%s at %d px: %d parts of the table lie outside the window, e.g. %q", page.path, phoneWidth, len(outside), outside[0])
		}
		if cell := get(s, chromedp.Evaluate[float64](`Math.min(1e9, ...[...document.querySelectorAll('[data-testid="`+page.table+`"] tbody td')]
			.filter(e => e.getClientRects().length && e.textContent.trim().length > 12).map(e => e.getBoundingClientRect().width))`)); cell < 200 {
			t.Errorf("%s at %d px: a cell with words is %.0f px wide, too narrow to read", page.path, phoneWidth, cell)
		}
	}
}
