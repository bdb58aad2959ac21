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
		s.tableFitsThePhone(page.path, page.table)
	}
}

// The vendor's staff open a customer's account from a phone too: each of
// its tables reads as cards (the subscriptions table was cut off at the
// card's edge at 390 px, its period end and Stripe id out of sight; the
// audit entries gave each column 65 to 95 px, a word a line and 17,119 px
// for 20 entries, an actor cut as "support@acm|est"; a support session's
// reason and a Stripe event's error were cut at the edge). The tables are
// shared with the console's audit log and failed events, which fit too.
func TestTheConsolesAccountTablesFitAPhone(t *testing.T) {
	t.Parallel()
	s := newSessionAt(t, phoneWidth)
	withEveryConsoleTable(t, s.store)
	s.staffLoginWithCode("admin@acme.test")
	s.run(chromedp.Navigate(s.base+"/admin/accounts/globex"), waitVisible(tid("admin-subscriptions")))
	for _, table := range []string{"admin-subscriptions", "admin-pilots", "admin-grants", "admin-members",
		"stripe-events", "impersonations", "audit-entries"} {
		s.tableFitsThePhone("/admin/accounts/globex", table)
	}
	for _, page := range []struct{ path, table string }{
		{"/admin/audit", "audit-entries"},
		{"/admin/events", "stripe-events"},
	} {
		s.run(chromedp.Navigate(s.base+page.path), waitVisible(tid(page.table)))
		s.tableFitsThePhone(page.path, page.table)
	}
}

// withEveryConsoleTable gives Globex a row in each table of its console
// page, with the long words support writes: a grant, a support session
// with a ticket's reason, and a failed Stripe event with its error.
func withEveryConsoleTable(t *testing.T, st *store.Store) {
	t.Helper()
	if _, err := st.DB().Exec(`
INSERT INTO entitlement_grant (account_id, kind, product_id, amount, reason, expires_at, created_by)
SELECT a.id, 'extra_seats', s.product_id, 2, 'Onboarding workshop for the finance team, agreed on the renewal call', now() + interval '30 days', 'ops@acme.test'
FROM account a JOIN subscription s ON s.account_id = a.id WHERE a.slug = 'globex' LIMIT 1;
INSERT INTO impersonation_session (staff_id, account_id, reason, mode, started_at, expires_at, ended_at, end_reason)
SELECT st.id, a.id, 'TICKET-4821: the owner cannot see the seats bought yesterday on the seats page', 'read', now() - interval '2 hours', now() - interval '90 minutes', now() - interval '100 minutes', 'ended'
FROM staff_user st, account a WHERE st.email = 'support@acme.test' AND a.slug = 'globex';
INSERT INTO stripe_event (id, type, account_id, created, payload, attempts, last_error)
SELECT 'evt_1QfailedWithALongIdentifier', 'customer.subscription.updated', id, now(), '{"id":"evt_1QfailedWithALongIdentifier","type":"customer.subscription.updated"}', 3,
 'subscription sub_1QxYz not found for customer cus_Globex: the event names a subscription this account never had'
FROM account WHERE slug = 'globex'`); err != nil {
		t.Fatal(err)
	}
}

// tableFitsThePhone fails the test when a cell, button or box of the table
// lies outside the window, or a cell with words is squeezed too narrow to
// read.
func (s *session) tableFitsThePhone(path, table string) {
	s.t.Helper()
	outside := get(s, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="`+table+`"] td, [data-testid="`+table+`"] button, [data-testid="`+table+`"] select')]
		.filter(e => e.getClientRects().length && (e.getBoundingClientRect().right > window.innerWidth + 1 || e.getBoundingClientRect().left < -1))
		.map(e => e.tagName + " " + e.textContent.trim().slice(0, 40))`))
	if len(outside) > 0 {
		s.t.Errorf("%s at %d px: %d parts of the %s table lie outside the window, e.g. %q", path, phoneWidth, len(outside), table, outside[0])
	}
	if cell := get(s, chromedp.Evaluate[float64](`Math.min(1e9, ...[...document.querySelectorAll('[data-testid="`+table+`"] tbody td')]
		.filter(e => e.getClientRects().length && e.textContent.trim().length > 12).map(e => e.getBoundingClientRect().width))`)); cell < 200 {
		s.t.Errorf("%s at %d px: a cell of the %s table with words is %.0f px wide, too narrow to read", path, phoneWidth, table, cell)
	}
}
