package web_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

func consoleRows(p *portal, c *http.Client, path string) []string {
	p.t.Helper()
	res, doc := p.get(c, path)
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("%s: %d", path, res.StatusCode)
	}
	var slugs []string
	for _, n := range doc.Find(`[data-testid="admin-account-row"]`).Nodes {
		for _, a := range n.Attr {
			if a.Key == "data-slug" {
				slugs = append(slugs, a.Val)
			}
		}
	}
	return slugs
}

func TestSupportFindsAccountsByNameEmailDomainStripeIdPlanAndStatus(t *testing.T) {
	t.Parallel()
	p, _, _ := newConsolePortal(t)
	if _, err := p.store.DB().Exec(`UPDATE account SET stripe_customer_id = 'cus_Umb42' WHERE slug = 'umbrella'`); err != nil {
		t.Fatal(err)
	}
	c := p.staffLogin("support@acme.test")
	for _, tc := range []struct{ query, want string }{
		{"q=glob", "globex"},
		{"q=erin%40globex.test", "globex"},
		{"q=%40initech.test", "initech"},
		{"q=cus_Umb42", "umbrella"},
		{"q=alice", "globex umbrella"},
		{"q=100%25", ""}, // LIKE wildcards match themselves
		{"plan=team", "globex umbrella"},
		{"status=past_due", "umbrella"},
		{"q=alice&status=active", "globex"},
	} {
		if got := strings.Join(consoleRows(p, c, "/admin?"+tc.query), " "); got != tc.want {
			t.Errorf("search %s = %q, want %q", tc.query, got, tc.want)
		}
	}
	// Paging, two accounts a page, by slug: the last page ends with
	// umbrella whatever else the demo seeds.
	var accounts int
	if err := p.store.DB().Get(&accounts, `SELECT count(*) FROM account`); err != nil || accounts < 3 {
		t.Fatalf("demo accounts %d, %v", accounts, err)
	}
	pages := (accounts + 1) / 2
	res, doc := p.get(c, "/admin?per_page=2")
	if want := fmt.Sprintf("Page 1 of %d", pages); res.StatusCode != http.StatusOK || doc.Find(`[data-testid="admin-account-row"]`).Length() != 2 || text(doc, "page-current") != want {
		t.Fatalf("page 1: %d rows, %q, want %q", doc.Find(`[data-testid="admin-account-row"]`).Length(), text(doc, "page-current"), want)
	}
	next, _ := doc.Find(`[data-testid="page-next"]`).Attr("href")
	if got := consoleRows(p, c, next); len(got) == 0 || (pages == 2 && got[len(got)-1] != "umbrella") {
		t.Errorf("page 2 (%s) = %v", next, got)
	}
}

func TestAccountPageShowsPlanSeatsMembersAuditEventsAndGrants(t *testing.T) {
	t.Parallel()
	p, _, _ := newConsolePortal(t)
	if _, err := p.store.DB().Exec(`
INSERT INTO stripe_event (id, type, account_id, created, payload, processed_at, attempts)
SELECT 'evt_applied_1', 'invoice.paid', id, now(), '{"id":"evt_applied_1"}', now(), 1 FROM account WHERE slug = 'globex'`); err != nil {
		t.Fatal(err)
	}
	c := p.staffLogin("support@acme.test")
	res, doc := p.get(c, "/admin/accounts/globex")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("account page: %d", res.StatusCode)
	}
	for id, want := range map[string]string{"admin-plan": "Team v1", "admin-status": "Active", "admin-seats": "7 of 10 assigned"} {
		if got := strings.Join(strings.Fields(text(doc, id)), " "); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	if n := doc.Find(`[data-testid="admin-member"]`).Length(); n != 9 {
		t.Errorf("%d members, want 9", n)
	}
	if n := doc.Find(`[data-testid="audit-entry"]`).Length(); n == 0 {
		t.Error("no audit entries")
	}
	if v, _ := doc.Find(`[data-testid="stripe-event"]`).Attr("data-event"); v != "evt_applied_1" {
		t.Errorf("stripe events: %q", v)
	}
	// Support may impersonate but not grant; an operator the reverse.
	if doc.Find(`[data-testid="impersonate-form"]`).Length() != 1 || doc.Find(`[data-testid="grant-form"]`).Length() != 0 {
		t.Error("support sees the wrong actions")
	}
	_, doc = p.get(p.staffLogin("ops@acme.test"), "/admin/accounts/globex")
	if doc.Find(`[data-testid="impersonate-form"]`).Length() != 0 || doc.Find(`[data-testid="grant-form"]`).Length() != 1 {
		t.Error("the operator sees the wrong actions")
	}
	if res, _ := p.get(c, "/admin/accounts/no-such-account"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown account: %d", res.StatusCode)
	}
}

func TestOperatorGrantShowsOnTheCustomersOverviewUntilRevoked(t *testing.T) {
	t.Parallel()
	p, _, clock := newConsolePortal(t)
	ops := p.staffLogin("ops@acme.test")
	_, doc := p.get(ops, "/admin/accounts/globex")
	expires := clock.Now().AddDate(0, 2, 0).Format("2006-01-02")
	for _, form := range []url.Values{
		{"kind": {"feature"}, "feature": {"analytics:exports"}, "enabled": {"true"}, "reason": {"Pilot of exports"}, "expires_at": {expires}},
		{"kind": {"extra_seats"}, "product": {"analytics"}, "amount": {"5"}, "reason": {"Onboarding wave"}, "expires_at": {expires}},
	} {
		form.Set("_csrf", csrfToken(doc))
		if res, _ := p.post(ops, "/admin/accounts/globex/grants", form); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("grant %v: %d", form, res.StatusCode)
		}
	}
	// A grant needs a reason and a future expiry.
	res, _ := p.post(ops, "/admin/accounts/globex/grants", url.Values{"_csrf": {csrfToken(doc)}, "kind": {"feature"},
		"feature": {"analytics:sso"}, "reason": {"x"}, "expires_at": {"2001-01-01"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("grant expiring in the past: %d", res.StatusCode)
	}

	owner := p.login("owner@globex.test")
	_, doc = p.get(owner, "/")
	row := doc.Find(`[data-testid="entitlement-row"][data-feature="exports"]`)
	if reason, _ := row.Find(`[data-testid="feature-access"]`).Attr("data-reason"); reason != "ok" {
		t.Errorf("exports after the grant: %q, want ok", reason)
	}
	wantUntil := "granted by the vendor until " + clock.Now().AddDate(0, 2, 0).Format("2 Jan 2006")
	if got := strings.TrimSpace(row.Find(`[data-testid="feature-granted"]`).Text()); got != wantUntil {
		t.Errorf("grant note = %q, want %q", got, wantUntil)
	}
	if got, granted, free := text(doc, "seats-purchased"), text(doc, "seats-granted"), text(doc, "seats-free"); got != "10" ||
		granted != "+5 granted by the vendor" || free != "8" {
		t.Errorf("seats with 5 granted: purchased %q, granted %q, free %q; want 10, +5 granted by the vendor, 8", got, granted, free)
	}
	if n := p.consoleCount(`SELECT count(*) FROM audit_entry WHERE action = 'grant.create' AND actor_type = 'staff' AND actor_label = 'ops@acme.test'`); n != 2 {
		t.Errorf("%d grant.create entries", n)
	}

	// Revoked: gone from the overview.
	_, doc = p.get(ops, "/admin/accounts/globex")
	if n := doc.Find(`[data-testid="admin-grant"]`).Length(); n != 2 {
		t.Fatalf("%d grants listed", n)
	}
	var grantID int64
	if err := p.store.DB().Get(&grantID, `SELECT id FROM entitlement_grant WHERE kind = 'feature'`); err != nil {
		t.Fatal(err)
	}
	path := "/admin/accounts/globex/grants/" + strconv.FormatInt(grantID, 10) + "/revoke"
	// Through another account's URL the grant is not found, and stays.
	if res, _ := p.post(ops, strings.Replace(path, "globex", "initech", 1), url.Values{"_csrf": {csrfToken(doc)}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("revoke through another account: %d", res.StatusCode)
	}
	if res, _ := p.post(ops, path, url.Values{"_csrf": {csrfToken(doc)}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	_, doc = p.get(owner, "/")
	if doc.Find(`[data-testid="entitlement-row"][data-feature="exports"] [data-testid="feature-granted"]`).Length() != 0 {
		t.Error("revoked grant still shown")
	}
	// Support cannot grant.
	if res, _ := p.post(p.staffLogin("support@acme.test"), "/admin/accounts/globex/grants", url.Values{"_csrf": {csrfToken(doc)}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("support granting: %d", res.StatusCode)
	}
}

func TestOperatorRetriesFailedWebhookEvents(t *testing.T) {
	t.Parallel()
	p, _, clock := newConsolePortal(t)
	if _, err := p.store.DB().Exec(`
INSERT INTO stripe_event (id, type, account_id, created, payload, attempts, next_attempt_at, last_error) VALUES
 ('evt_fail_1', 'customer.subscription.updated', (SELECT id FROM account WHERE slug = 'globex'), now(), '{"id":"evt_fail_1","object":"event"}', 3, now() + interval '1 hour', 'unknown price price_x'),
 ('evt_fail_2', 'invoice.paid', NULL, now(), '{"id":"evt_fail_2"}', 5, now() + interval '2 hours', 'no such customer'),
 ('evt_ok', 'invoice.paid', NULL, now(), '{"id":"evt_ok"}', 1, now(), '')`); err != nil {
		t.Fatal(err)
	}
	if res, _ := p.get(p.staffLogin("support@acme.test"), "/admin/events"); res.StatusCode != http.StatusForbidden {
		t.Errorf("support on failed events: %d", res.StatusCode)
	}
	ops := p.staffLogin("ops@acme.test")
	_, doc := p.get(ops, "/admin/events")
	if n := doc.Find(`[data-testid="stripe-event"]`).Length(); n != 2 {
		t.Fatalf("%d failed events listed, want 2", n)
	}
	row := doc.Find(`[data-event="evt_fail_1"]`)
	if got := strings.TrimSpace(row.Find(`[data-testid="stripe-event-error"]`).Text()); got != "unknown price price_x" {
		t.Errorf("reason = %q", got)
	}
	if got := strings.TrimSpace(row.Find(`[data-testid="stripe-event-attempts"]`).Text()); got != "3" {
		t.Errorf("attempts = %q", got)
	}
	if got := row.Find(`[data-testid="stripe-event-payload"]`).Text(); !strings.Contains(got, `"object": "event"`) {
		t.Errorf("payload = %q", got)
	}
	due := `SELECT count(*) FROM stripe_event WHERE next_attempt_at <= $1 AND processed_at IS NULL AND last_error <> ''`
	if res, _ := p.post(ops, "/admin/events/evt_fail_1/retry", url.Values{"_csrf": {csrfToken(doc)}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("retry one: %d", res.StatusCode)
	}
	if n := p.consoleCount(due, clock.Now()); n != 1 {
		t.Errorf("%d events due after retrying one", n)
	}
	if res, _ := p.post(ops, "/admin/events/evt_ok/retry", url.Values{"_csrf": {csrfToken(doc)}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("retrying a processed-or-pending event: %d", res.StatusCode)
	}
	res, _ := p.post(ops, "/admin/events/retry", url.Values{"_csrf": {csrfToken(doc)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("retry all: %d", res.StatusCode)
	}
	if n := p.consoleCount(due, clock.Now()); n != 2 {
		t.Errorf("%d events due after retry all", n)
	}
	if _, doc := p.get(ops, "/admin/events"); !strings.Contains(text(doc, "flash"), "2 failed events") {
		t.Errorf("flash = %q", text(doc, "flash"))
	}
	if n := p.consoleCount(`SELECT count(*) FROM stripe_event WHERE last_error <> '' AND attempts IN (3, 5)`); n != 2 {
		t.Error("retrying changed the error or the attempts")
	}
	if n := p.consoleCount(`SELECT count(*) FROM audit_entry WHERE action LIKE 'stripe_event.retry%' AND actor_label = 'ops@acme.test'`); n != 2 {
		t.Errorf("%d retries audited, want 2", n)
	}
}

func TestOperatorReadsTheMailOutbox(t *testing.T) {
	t.Parallel()
	p, _, _ := newConsolePortal(t)
	if _, err := p.store.DB().Exec(`INSERT INTO outbox (account_id, kind, to_address, subject, body, created_at, next_attempt_at)
SELECT id, 'invitation', 'new@globex.test', 'You are invited to Globex', 'Follow this link', now(), now()
FROM account WHERE slug = 'globex'`); err != nil {
		t.Fatal(err)
	}
	_, doc := p.get(p.staffLogin("ops@acme.test"), "/admin/outbox")
	if text(doc, "outbox-to") != "new@globex.test" || text(doc, "outbox-subject") != "You are invited to Globex" ||
		text(doc, "outbox-body") != "Follow this link" {
		t.Errorf("outbox: %q %q %q", text(doc, "outbox-to"), text(doc, "outbox-subject"), text(doc, "outbox-body"))
	}
	if res, _ := p.get(p.staffLogin("support@acme.test"), "/admin/outbox"); res.StatusCode != http.StatusForbidden {
		t.Errorf("support on the outbox: %d", res.StatusCode)
	}
}

func TestAdminFiltersExportsAndVerifiesTheGlobalAuditLog(t *testing.T) {
	t.Parallel()
	p, _, clock := newConsolePortal(t)
	if res, _ := p.get(p.staffLogin("ops@acme.test"), "/admin/audit"); res.StatusCode != http.StatusForbidden {
		t.Errorf("operator on the audit log: %d", res.StatusCode)
	}
	admin := p.staffLogin("admin@acme.test")
	res, doc := p.get(admin, "/admin/audit?account=globex&action=seat.")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("audit: %d", res.StatusCode)
	}
	entries := doc.Find(`[data-testid="audit-entry"]`)
	if entries.Length() != 7 {
		t.Errorf("%d globex seat entries, want 7", entries.Length())
	}
	for _, n := range entries.Nodes {
		for _, a := range n.Attr {
			if a.Key == "data-action" && a.Val != "seat.assign" {
				t.Errorf("filtered entry with action %q", a.Val)
			}
		}
	}
	if _, doc := p.get(admin, "/admin/audit?account=vendor&actor=demo&action=staff."); doc.Find(`[data-testid="audit-entry"]`).Length() != 4 {
		t.Errorf("vendor chain, demo actor: %d entries, want the 4 staff creations", doc.Find(`[data-testid="audit-entry"]`).Length())
	}
	tomorrow := clock.Now().AddDate(0, 0, 1).Format("2006-01-02")
	if _, doc := p.get(admin, "/admin/audit?from="+tomorrow); doc.Find(`[data-testid="audit-entry"]`).Length() != 0 {
		t.Error("entries from tomorrow")
	}

	csvURL, _ := doc.Find(`[data-testid="audit-csv"]`).Attr("href")
	resp, err := admin.Get(p.srv.URL + csvURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	records, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("csv: %v %q", err, resp.Header.Get("Content-Type"))
	}
	if len(records) != 8 || records[0][0] != "id" || records[1][2] != "globex" || records[1][8] != "seat.assign" {
		t.Errorf("csv: %d records, first %v", len(records), records[:min(2, len(records))])
	}

	res, doc = p.consoleSend(admin, http.MethodPost, "/admin/audit/verify", csrfToken(doc), true)
	if ok, _ := doc.Find(`[data-testid="audit-verify-result"]`).Attr("data-ok"); res.StatusCode != http.StatusOK || ok != "true" {
		t.Fatalf("verify: %d %q", res.StatusCode, text(doc, "audit-verify-result"))
	}
	// A tampered chain is reported (bypassing the append-only trigger as a superuser would).
	if _, err := p.store.DB().Exec(`ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_update;
UPDATE audit_entry SET action = 'seat.unassign' WHERE id = (SELECT max(id) FROM audit_entry WHERE action = 'seat.assign');
ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_no_update`); err != nil {
		t.Fatal(err)
	}
	_, doc = p.get(admin, "/admin/audit")
	_, doc = p.consoleSend(admin, http.MethodPost, "/admin/audit/verify", csrfToken(doc), true)
	if ok, _ := doc.Find(`[data-testid="audit-verify-result"]`).Attr("data-ok"); ok != "false" ||
		!strings.Contains(text(doc, "audit-verify-result"), "altered") {
		t.Errorf("tampered chain: %q", text(doc, "audit-verify-result"))
	}
}

func TestConsoleNavigationFollowsTheRole(t *testing.T) {
	t.Parallel()
	p, _, _ := newConsolePortal(t)
	for email, want := range map[string]string{
		"support@acme.test": "Accounts",
		"ops@acme.test":     "Accounts Failed events Mail outbox Billing Insights Webhooks",
		"admin@acme.test":   "Accounts Failed events Mail outbox Audit log Staff Billing Insights Webhooks API keys",
	} {
		_, doc := p.get(p.staffLogin(email), "/admin")
		var got []string
		doc.Find(`nav[aria-label="Console"] a`).Each(func(_ int, s *goquery.Selection) { got = append(got, s.Text()) })
		if strings.Join(got, " ") != want {
			t.Errorf("%s nav = %q, want %q", email, strings.Join(got, " "), want)
		}
	}
}
