package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// auditRow is the newest row of the account's audit log with this action,
// as the person reading /audit sees it: who, and what happened.
func auditRow(t *testing.T, p *portal, c *http.Client, action string) (who, what string) {
	t.Helper()
	_, doc := p.get(c, "/audit")
	row := doc.Find(`[data-testid="audit-row"][data-action="` + action + `"]`).First()
	if row.Length() == 0 {
		t.Fatalf("/audit has no %s row", action)
	}
	squash := func(s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }
	return squash(row.Find(`[data-testid="audit-row-actor"]`)), squash(row.Find(`[data-testid="audit-sentence"]`))
}

// Cancel at period end asks first, and the audit log names who pressed it
// (and, under impersonation, the staff member); while the subscription
// is ending, the add-ons say why they cannot change.
func TestCancelAndResumeAreAuditedAsThePersonWhoAsked(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	owner := p.login("owner@globex.test")
	_, doc := p.get(owner, "/billing")
	form := doc.Find(`[data-testid="cancel"]`).Closest("form")
	if q := form.AttrOr("hx-confirm", ""); !strings.HasPrefix(q, "Cancel Team? It ends on ") {
		t.Errorf("Cancel at period end asks %q before it is sent", q)
	}

	res, _ := p.post(owner, "/billing/cancel", url.Values{"_csrf": {csrfToken(doc)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %d", res.StatusCode)
	}
	process(t, b)
	_, doc = p.get(owner, res.Header.Get("Location"))
	if text(doc, "billing-cancel-notice") == "" {
		t.Fatal("no notice that the subscription ends")
	}
	row := `[data-testid="addon-row"][data-addon="extra_api_calls"] `
	if doc.Find(row+`[data-testid="review-addon-extra_api_calls"]`).Length() != 0 {
		t.Error("an ending subscription offers add-on changes")
	}
	if got := strings.Join(strings.Fields(doc.Find(row+`[data-testid="addon-locked-extra_api_calls"]`).Text()), " "); !strings.Contains(got, "resume it to change add-ons") {
		t.Errorf("where the add-on controls were: %q", got)
	}
	res, refused := p.htmx(owner, http.MethodGet, "/billing/addons?addon=extra_api_calls&units=1", csrfToken(doc), nil)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(refused, "error-message"), "resume it first") {
		t.Errorf("a crafted add-on purchase while ending: %d %q", res.StatusCode, text(refused, "error-message"))
	}
	if who, what := auditRow(t, p, owner, "billing.subscription_cancel"); who != "owner@globex.test" ||
		what != "Cancellation of Team at period end asked for by owner@globex.test" {
		t.Errorf("audit of the cancel: %q, %q", who, what)
	}

	// A support admin, let in to write, resumes it for the owner.
	_, doc = p.get(owner, "/settings/support")
	p.post(owner, "/settings/support", url.Values{"_csrf": {csrfToken(doc)}, "allow": {"true"}})
	lead := p.staffLogin("lead@acme.test")
	_, doc = p.get(lead, "/admin/accounts/globex")
	if res, _ := p.post(lead, "/admin/accounts/globex/impersonate", url.Values{"_csrf": {csrfToken(doc)},
		"reason": {"TICKET-12 resume"}, "mode": {"write"}, "minutes": {"30"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("impersonate in write mode: %d", res.StatusCode)
	}
	_, doc = p.get(lead, "/billing")
	res, _ = p.post(lead, "/billing/resume", url.Values{"_csrf": {csrfToken(doc)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("resume: %d", res.StatusCode)
	}
	process(t, b)
	if _, doc = p.get(owner, "/billing"); text(doc, "billing-cancel-notice") != "" {
		t.Error("still ending after Resume")
	}
	if who, what := auditRow(t, p, owner, "billing.subscription_resume"); who != "owner@globex.test (by lead@acme.test, impersonating)" ||
		!strings.HasPrefix(what, "Resumption of Team asked for") {
		t.Errorf("audit of the resume: %q, %q", who, what)
	}
}

// A free plan was never paid for: no card is on file, and there is
// nothing to cancel.
func TestAFreeSignupShowsNoCardAndNoCancel(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	c := newClient()
	if res, _ := p.submit(c, "/signup?plan=free", "/signup", signupForm("vera@vandelay.test", "free")); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-up: %d", res.StatusCode)
	}
	link := p.linkIn("vera@vandelay.test", "signup_verify", "/signup/verify/")
	if res, _ := p.submit(c, link, link, url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("verify: %d", res.StatusCode)
	}
	process(t, b)
	_, doc := p.get(c, "/billing")
	if got := text(doc, "billing-plan"); got != "Free" {
		t.Fatalf("plan = %q", got)
	}
	if got := text(doc, "billing-payment-method"); got != "None on file" {
		t.Errorf("payment method of a free sign-up = %q", got)
	}
	if doc.Find(`[data-testid="cancel"]`).Length() != 0 {
		t.Error("a free plan offers Cancel at period end")
	}
	res, refused := p.htmx(c, http.MethodPost, "/billing/cancel", csrfToken(doc), nil)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(refused, "error-message"), "Free costs nothing") {
		t.Errorf("a crafted cancel of Free: %d %q", res.StatusCode, text(refused, "error-message"))
	}
	// An upgrade charges now: without a card it says to add one.
	res, refused = p.htmx(c, http.MethodPost, "/billing/change", csrfToken(doc), url.Values{"plan": {"team"}})
	if got := text(refused, "error-message"); res.StatusCode != http.StatusPaymentRequired || !strings.Contains(got, "no payment method on file") {
		t.Errorf("upgrade without a card: %d %q", res.StatusCode, got)
	}
}

// During a trial the add-ons say when they can be bought, as the plan
// area does.
func TestATrialsAddOnsSayWhenTheyCanBeBought(t *testing.T) {
	t.Parallel()
	p, _ := newBillingPortal(t)
	_, doc := p.get(p.login("owner@initech.test"), "/billing")
	rows := doc.Find(`[data-testid="addon-row"]`)
	if rows.Length() == 0 {
		t.Fatal("no add-ons listed during the trial")
	}
	rows.Each(func(_ int, row *goquery.Selection) {
		key := row.AttrOr("data-addon", "")
		got := strings.Join(strings.Fields(row.Find(`[data-testid="addon-locked-`+key+`"]`).Text()), " ")
		if !strings.Contains(got, "once the trial is converted") {
			t.Errorf("add-on %s during the trial: %q", key, got)
		}
	})
}
