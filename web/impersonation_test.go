package web_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// newConsolePortal is newPortal with a movable clock, and the router, so
// that tests can walk its route table.
func newConsolePortal(t *testing.T) (*portal, *echo.Echo, *storetest.Clock) {
	t.Helper()
	clock := storetest.NewClock(time.Now().UTC().Truncate(time.Second))
	s := storetest.NewDemo(t, clock)
	e := web.New(web.Options{Store: s, Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SessionSecret: []byte("test-secret-test-secret-test-secret!")})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &portal{t: t, srv: srv, store: s, client: newClient()}, e, clock
}

// impersonate starts a support session in account from its console page;
// it returns the response to the form.
func (p *portal) impersonate(c *http.Client, slug, mode, reason, minutes string) *http.Response {
	p.t.Helper()
	_, doc := p.get(c, "/admin/accounts/"+slug)
	res, _ := p.post(c, "/admin/accounts/"+slug+"/impersonate", url.Values{"_csrf": {csrfToken(doc)},
		"reason": {reason}, "mode": {mode}, "minutes": {minutes}, "return_to": {"/admin/accounts/" + slug}})
	return res
}

// consoleSend makes a request with the CSRF token, as an htmx request when htmx.
func (p *portal) consoleSend(c *http.Client, method, path, token string, htmx bool) (*http.Response, *goquery.Document) {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.srv.URL+path, strings.NewReader(url.Values{"_csrf": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", token)
	if htmx {
		req.Header.Set("HX-Request", "true")
	}
	res, err := c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	doc, _ := goquery.NewDocumentFromReader(res.Body)
	return res, doc
}

func (p *portal) consoleCount(query string, args ...any) int {
	p.t.Helper()
	var n int
	if err := p.store.DB().Get(&n, query, args...); err != nil {
		p.t.Fatal(err)
	}
	return n
}

var consoleRouteParam = regexp.MustCompile(`:[A-Za-z_]+`)

func TestReadOnlyImpersonationRefusesEveryStateChangingRoute(t *testing.T) {
	t.Parallel()
	p, e, _ := newConsolePortal(t)
	c := p.staffLogin("support@acme.test")
	if res := p.impersonate(c, "globex", "read", "TICKET-42 seat question", "30"); res.StatusCode != http.StatusSeeOther ||
		res.Header.Get("Location") != "/" {
		t.Fatalf("start impersonation: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, doc := p.get(c, "/")
	if res.StatusCode != http.StatusOK || text(doc, "current-account") != "Globex" {
		t.Fatalf("overview as Globex: %d, account %q", res.StatusCode, text(doc, "current-account"))
	}
	for id, want := range map[string]string{"impersonation-staff": "support@acme.test", "impersonation-mode": "read-only",
		"impersonation-reason": "TICKET-42 seat question", "impersonation-time-left": "30 min left"} {
		if got := text(doc, id); got != want {
			t.Errorf("banner %s = %q, want %q", id, got, want)
		}
	}
	if doc.Find(`[data-testid="end-impersonation"]`).Length() != 1 {
		t.Error("the banner has no button to end the session")
	}
	token := csrfToken(doc)

	// Every state-changing route outside the console, from the router's own
	// table (routes added later are walked too), plus one that does not exist.
	var targets []string
	for _, r := range e.Routes() {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			continue
		}
		if r.Path == "/admin" || strings.HasPrefix(r.Path, "/admin/") {
			continue
		}
		// Machine endpoints take API keys, SCIM tokens or Stripe signatures,
		// never a browser session, so impersonation does not apply there.
		if strings.HasPrefix(r.Path, "/api/") || strings.HasPrefix(r.Path, "/scim/") || strings.HasPrefix(r.Path, "/webhooks/") {
			continue
		}
		path := strings.ReplaceAll(consoleRouteParam.ReplaceAllString(r.Path, "1"), "*", "x")
		targets = append(targets, r.Method+" "+path)
	}
	if len(targets) < 3 { // at least /login, /logout and /settings/support
		t.Fatalf("only %d state-changing routes found: %v", len(targets), targets)
	}
	targets = append(targets, "POST /no-such-route", "DELETE /seats/1")
	before := p.consoleCount(`SELECT count(*) FROM audit_entry WHERE action = 'impersonation.request' AND after->>'refused' = 'true'`)
	for _, target := range targets {
		method, path, _ := strings.Cut(target, " ")
		for _, htmx := range []bool{false, true} {
			res, doc := p.consoleSend(c, method, path, token, htmx)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(text(doc, "error-message"), "read-only support session") {
				t.Errorf("%s (htmx %v): %d %q, want 403 and the read-only message", target, htmx, res.StatusCode, text(doc, "error-message"))
			}
			if htmx && res.Header.Get("HX-Retarget") != "#errors" {
				t.Errorf("%s: the htmx refusal is not retargeted to #errors", target)
			}
		}
	}
	refused := p.consoleCount(`SELECT count(*) FROM audit_entry WHERE action = 'impersonation.request' AND after->>'refused' = 'true'`) - before
	if refused != 2*len(targets) {
		t.Errorf("%d refused requests audited, want %d", refused, 2*len(targets))
	}
	// Nothing changed: still impersonating (the refused /logout did nothing),
	// and the consent is untouched.
	if res, doc := p.get(c, "/"); res.StatusCode != http.StatusOK || text(doc, "impersonation-mode") != "read-only" {
		t.Fatalf("after the walk: %d", res.StatusCode)
	}
	if n := p.consoleCount(`SELECT count(*) FROM account WHERE support_access`); n != 0 {
		t.Errorf("%d accounts changed their consent", n)
	}
}

func TestWriteImpersonationNeedsTheRoleAndTheCustomersConsent(t *testing.T) {
	t.Parallel()
	p, _, _ := newConsolePortal(t)
	started := `SELECT count(*) FROM impersonation_session`

	support := p.staffLogin("support@acme.test")
	if res := p.impersonate(support, "globex", "write", "TICKET-7", "30"); res.StatusCode != http.StatusForbidden {
		t.Errorf("support (no support_admin role) in write mode: %d, want 403", res.StatusCode)
	}
	lead := p.staffLogin("lead@acme.test")
	_, doc := p.get(lead, "/admin/accounts/globex")
	if _, disabled := doc.Find(`[data-testid="impersonate-mode-write"]`).Attr("disabled"); !disabled {
		t.Error("write mode is offered although Globex has not consented")
	}
	res, _ := p.post(lead, "/admin/accounts/globex/impersonate", url.Values{"_csrf": {csrfToken(doc)},
		"reason": {"TICKET-7"}, "mode": {"write"}, "minutes": {"30"}})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("write mode without consent: %d, want 403", res.StatusCode)
	}
	if n := p.consoleCount(started); n != 0 {
		t.Fatalf("%d impersonation sessions started without consent", n)
	}

	// The owner consents; now the support admin may write.
	owner := p.login("owner@globex.test")
	_, doc = p.get(owner, "/settings/support")
	if v, _ := doc.Find(`[data-testid="support-access-state"]`).Attr("data-allowed"); v != "false" {
		t.Fatalf("consent before = %q", v)
	}
	p.post(owner, "/settings/support", url.Values{"_csrf": {csrfToken(doc)}, "allow": {"true"}})
	if n := p.consoleCount(`SELECT count(*) FROM audit_entry WHERE action = 'account.support_access' AND actor_label = 'owner@globex.test'`); n != 1 {
		t.Fatalf("consent audited %d times", n)
	}
	if res := p.impersonate(lead, "globex", "write", "TICKET-7", "60"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("write mode with consent: %d", res.StatusCode)
	}
	_, doc = p.get(lead, "/")
	if got := text(doc, "impersonation-mode"); got != "write access" {
		t.Fatalf("banner mode = %q", got)
	}
	token := csrfToken(doc)
	if res, _ := p.consoleSend(lead, http.MethodPost, "/logout", token, false); res.StatusCode == http.StatusForbidden {
		t.Fatalf("write session refused a change: %d", res.StatusCode)
	}
	// Support can never grant itself consent, even in write mode.
	if res, _ := p.consoleSend(lead, http.MethodPost, "/settings/support", token, false); res.StatusCode != http.StatusForbidden {
		t.Fatalf("impersonator changing consent: %d, want 403", res.StatusCode)
	}

	// Consent withdrawn: the running write session is read-only from its next request.
	_, doc = p.get(owner, "/settings/support")
	p.post(owner, "/settings/support", url.Values{"_csrf": {csrfToken(doc)}, "allow": {"false"}})
	res, doc = p.consoleSend(lead, http.MethodPost, "/logout", token, false)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(text(doc, "error-message"), "read-only") {
		t.Fatalf("after consent withdrawn: %d %q", res.StatusCode, text(doc, "error-message"))
	}
}

func TestImpersonationExpiresAndReturnsTheStaffMemberToTheConsole(t *testing.T) {
	t.Parallel()
	p, _, clock := newConsolePortal(t)
	c := p.staffLogin("support@acme.test")
	p.impersonate(c, "globex", "read", "TICKET-9", "15")
	if res, _ := p.get(c, "/"); res.StatusCode != http.StatusOK {
		t.Fatalf("impersonating: %d", res.StatusCode)
	}
	clock.Advance(14 * time.Minute)
	if _, doc := p.get(c, "/"); text(doc, "impersonation-time-left") != "1 min left" {
		t.Errorf("time left = %q", text(doc, "impersonation-time-left"))
	}
	clock.Advance(2 * time.Minute)
	res, _ := p.get(c, "/")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/accounts/globex" {
		t.Fatalf("first request after expiry: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, doc := p.get(c, "/admin/accounts/globex")
	if res.StatusCode != http.StatusOK || !strings.Contains(text(doc, "flash"), "expired") {
		t.Fatalf("back in the console: %d, flash %q", res.StatusCode, text(doc, "flash"))
	}
	if got := text(doc, "current-staff"); got != "support@acme.test · support" {
		t.Errorf("the console session was replaced: %q", got)
	}
	var row struct {
		Ended  bool   `db:"ended"`
		Reason string `db:"end_reason"`
	}
	if err := p.store.DB().Get(&row, `SELECT ended_at = expires_at AS ended, end_reason FROM impersonation_session`); err != nil {
		t.Fatal(err)
	}
	if !row.Ended || row.Reason != "expired" {
		t.Errorf("impersonation row = %+v, want ended at its expiry", row)
	}
	if res, _ := p.get(c, "/"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Errorf("after expiry the staff member still reaches the portal: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestEndingImpersonationReturnsWhereTheStaffMemberWas(t *testing.T) {
	t.Parallel()
	p, _, _ := newConsolePortal(t)
	c := p.staffLogin("support@acme.test")
	p.impersonate(c, "initech", "read", "TICKET-11", "")
	// The console stays the staff member's own, and offers the way back.
	if _, doc := p.get(c, "/admin"); !strings.Contains(text(doc, "console-impersonating"), "support session in Initech") {
		t.Errorf("console notice = %q", text(doc, "console-impersonating"))
	}
	_, doc := p.get(c, "/")
	res, _ := p.post(c, "/admin/impersonation/end", url.Values{"_csrf": {csrfToken(doc)}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/accounts/initech" {
		t.Fatalf("end: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, doc := p.get(c, "/admin/accounts/initech"); res.StatusCode != http.StatusOK || !strings.Contains(text(doc, "flash"), "ended") {
		t.Fatalf("console after ending: %d %q", res.StatusCode, text(doc, "flash"))
	}
	if res, _ := p.get(c, "/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("portal after ending: %d, want a redirect to /login", res.StatusCode)
	}
	// The default time box is 30 minutes.
	if n := p.consoleCount(`SELECT count(*) FROM impersonation_session WHERE expires_at - started_at = interval '30 minutes'`); n != 1 {
		t.Errorf("default duration not 30 minutes")
	}
}

func TestImpersonationNeedsAReasonAndABoundedDuration(t *testing.T) {
	t.Parallel()
	p, _, _ := newConsolePortal(t)
	c := p.staffLogin("support@acme.test")
	for _, tc := range []struct{ reason, minutes string }{{"  ", "30"}, {"TICKET-1", "600"}, {"TICKET-1", "1"}} {
		if res := p.impersonate(c, "globex", "read", tc.reason, tc.minutes); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("reason %q, %s minutes: %d, want 422", tc.reason, tc.minutes, res.StatusCode)
		}
	}
	ops := p.staffLogin("ops@acme.test")
	if res := p.impersonate(ops, "globex", "read", "TICKET-1", "30"); res.StatusCode != http.StatusForbidden {
		t.Errorf("operator impersonating: %d, want 403", res.StatusCode)
	}
	if n := p.consoleCount(`SELECT count(*) FROM impersonation_session`); n != 0 {
		t.Errorf("%d sessions started", n)
	}
}

func TestImpersonatedRequestsAreAuditedWithBothIdentities(t *testing.T) {
	t.Parallel()
	p, _, _ := newConsolePortal(t)
	c := p.staffLogin("support@acme.test")
	p.impersonate(c, "globex", "read", "TICKET-5", "30")
	p.get(c, "/")
	p.get(c, "/settings/support")

	type entry struct {
		ActorType    string `db:"actor_type"`
		ActorLabel   string `db:"actor_label"`
		Impersonator string `db:"impersonator"`
		TargetID     string `db:"target_id"`
		After        []byte `db:"after"`
	}
	var reqs []entry
	if err := p.store.DB().Select(&reqs, `
SELECT e.actor_type, e.actor_label, e.impersonator, e.target_id, e.after FROM audit_entry e
JOIN account a ON a.id = e.account_id AND a.slug = 'globex'
WHERE e.action = 'impersonation.request' ORDER BY e.seq`); err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 2 || reqs[0].TargetID != "GET /" || reqs[1].TargetID != "GET /settings/support" {
		t.Fatalf("audited requests = %+v", reqs)
	}
	for _, r := range reqs {
		if r.ActorType != "user" || r.ActorLabel != "owner@globex.test" || r.Impersonator != "support@acme.test" {
			t.Errorf("request entry identities = %s %s via %q", r.ActorType, r.ActorLabel, r.Impersonator)
		}
	}
	var start entry
	if err := p.store.DB().Get(&start, `SELECT actor_type, actor_label, impersonator, target_id, after FROM audit_entry
WHERE action = 'impersonation.start'`); err != nil {
		t.Fatal(err)
	}
	var after map[string]any
	_ = json.Unmarshal(start.After, &after)
	if start.ActorType != "staff" || start.ActorLabel != "support@acme.test" || after["reason"] != "TICKET-5" ||
		after["mode"] != "read" || after["expires_at"] == nil {
		t.Errorf("impersonation.start = %+v %v", start, after)
	}
	if brk, _, err := p.store.VerifyAudit(t.Context()); err != nil || brk != nil {
		t.Fatalf("audit chain: %v %v", brk, err)
	}
}

func TestCustomerSeesTheSupportSessionInTheirAccount(t *testing.T) {
	t.Parallel()
	p, _, _ := newConsolePortal(t)
	c := p.staffLogin("support@acme.test")
	p.impersonate(c, "globex", "read", "TICKET-77 billing question", "60")
	_, doc := p.get(c, "/")
	p.post(c, "/admin/impersonation/end", url.Values{"_csrf": {csrfToken(doc)}})

	owner := p.login("owner@globex.test")
	res, doc := p.get(owner, "/settings/support")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/settings/support: %d", res.StatusCode)
	}
	rows := doc.Find(`[data-testid="impersonation-row"]`)
	if rows.Length() != 1 {
		t.Fatalf("%d support sessions shown, want 1", rows.Length())
	}
	for id, want := range map[string]string{"impersonation-row-staff": "support@acme.test",
		"impersonation-row-reason": "TICKET-77 billing question", "impersonation-row-mode": "read-only",
		"impersonation-row-state": "ended by staff"} {
		if got := text(doc, id); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	// The account's own audit chain holds the session (the /audit page lists it).
	if n := p.consoleCount(`SELECT count(*) FROM audit_entry e JOIN account a ON a.id = e.account_id AND a.slug = 'globex'
WHERE e.action IN ('impersonation.start', 'impersonation.end') AND e.after->>'reason' = 'TICKET-77 billing question'`); n != 2 {
		t.Errorf("%d impersonation entries in Globex's audit chain, want 2", n)
	}
	// Another account sees none of it.
	_, doc = p.get(p.login("owner@initech.test"), "/settings/support")
	if n := doc.Find(`[data-testid="impersonation-row"]`).Length(); n != 0 {
		t.Errorf("Initech sees %d of Globex's support sessions", n)
	}
	// Members cannot open the page.
	if res, _ := p.get(p.login("alice@globex.test"), "/settings/support"); res.StatusCode != http.StatusForbidden {
		t.Errorf("member on /settings/support: %d", res.StatusCode)
	}
}

// A support session is not offered what it may not open: a person's
// profile (it answers 403 to the session) has no link in its top bar, and
// the customer's own session keeps it.
func TestASupportSessionIsNotOfferedAPersonsProfile(t *testing.T) {
	t.Parallel()
	p, _, _ := newConsolePortal(t)
	c := p.staffLogin("support@acme.test")
	p.impersonate(c, "globex", "read", "TICKET-12", "15")
	_, doc := p.get(c, "/members")
	if doc.Find(`[data-testid="impersonation-banner"]`).Length() != 1 {
		t.Fatal("no support session banner on /members")
	}
	if n := doc.Find(`[data-testid="profile-link"]`).Length(); n != 0 {
		t.Errorf("the support session's top bar links to a profile (%d links), which answers it 403", n)
	}
	if res, _ := p.get(c, "/profile"); res.StatusCode != http.StatusForbidden {
		t.Errorf("/profile in a support session: %d, want 403", res.StatusCode)
	}
	owner := p.login("owner@globex.test")
	if _, doc := p.get(owner, "/members"); doc.Find(`[data-testid="profile-link"]`).Length() != 1 {
		t.Error("the customer's own top bar lost its Profile link")
	}
}
