package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// squashed is an element's text as a person reads it: spaces folded.
func squashed(doc *goquery.Document, testid string) string {
	return strings.Join(strings.Fields(doc.Find(`[data-testid="`+testid+`"]`).First().Text()), " ")
}

// cancelAtPeriodEnd has Globex's owner press "Cancel at period end" and
// lets the provider's events land.
func cancelAtPeriodEnd(t *testing.T, p *portal, process func(), owner *http.Client) {
	t.Helper()
	_, doc := p.get(owner, "/billing")
	if res, _ := p.post(owner, "/billing/cancel", url.Values{"_csrf": {csrfToken(doc)}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %d", res.StatusCode)
	}
	process()
}

// Once the plan is canceled at period end, the overview says it ends
// (with the date /billing gives) and where it is resumed, instead of
// "Current period ends" under an Active plan as if nothing were ending.
func TestTheOverviewSaysACanceledPlanEnds(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	owner := p.login("owner@globex.test")
	cancelAtPeriodEnd(t, p, func() { process(t, b) }, owner)

	_, billingDoc := p.get(owner, "/billing")
	notice := squashed(billingDoc, "billing-cancel-notice")
	_, doc := p.get(owner, "/")
	ending := squashed(doc, "plan-ending")
	if !strings.HasPrefix(ending, "Ends ") || !strings.Contains(ending, "canceled") {
		t.Fatalf("the overview of a plan canceled at period end says %q", ending)
	}
	date := strings.TrimSpace(strings.SplitN(strings.TrimPrefix(ending, "Ends "), "—", 2)[0])
	if !strings.Contains(notice, "ends on "+date) {
		t.Errorf("the overview says it ends %q, /billing says %q", date, notice)
	}
	if href := doc.Find(`[data-testid="plan-ending-resume"]`).AttrOr("href", ""); href != "/billing" {
		t.Errorf("the owner's way to resume: %q", href)
	}
	if doc.Find(`[data-testid="buy-seats"]`).Length() != 0 {
		t.Error("the overview offers Buy seats on a plan that is ending")
	}
	if _, seats := p.get(owner, "/seats"); seats.Find(`[data-testid="buy-seats"], [data-testid="waiting-buy-seats-link"]`).Length() != 0 {
		t.Error("/seats offers Buy seats on a plan that is ending")
	}

	// Support sees a customer who is leaving on the console's account page.
	_, doc = p.get(p.staffLogin("support@acme.test"), "/admin/accounts/globex")
	if got := squashed(doc, "admin-status"); got != "Active · canceled, ends "+date {
		t.Errorf("the console's account page says the subscription is %q", got)
	}

	// An admin may look at Billing but not resume: they are told who can.
	_, doc = p.get(p.login("admin@globex.test"), "/")
	if got := squashed(doc, "plan-ending"); !strings.Contains(got, "Owner or Billing role can resume it") ||
		doc.Find(`[data-testid="plan-ending-resume"]`).Length() != 0 {
		t.Errorf("an admin reads %q", got)
	}

	// Resumed, the plan runs on and the overview says so again.
	_, billingDoc = p.get(owner, "/billing")
	if res, _ := p.post(owner, "/billing/resume", url.Values{"_csrf": {csrfToken(billingDoc)}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("resume: %d", res.StatusCode)
	}
	process(t, b)
	if _, doc = p.get(owner, "/"); doc.Find(`[data-testid="plan-ending"]`).Length() != 0 {
		t.Errorf("still ending after Resume: %q", squashed(doc, "plan-ending"))
	}
}

// While the plan is canceled at period end, seats and plans do not change
// (as add-ons do not): the page says to resume first instead of offering
// the controls, a crafted request is refused in words, and nothing is
// charged or changed. Resumed, the seat change is offered again.
func TestAnEndingPlanRefusesSeatAndPlanChanges(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	owner := p.login("owner@globex.test")
	cancelAtPeriodEnd(t, p, func() { process(t, b) }, owner)
	charges := func() int {
		return countRows(t, p, `SELECT count(*) FROM billing_sim_invoice i JOIN account a ON a.id = i.account_id WHERE a.slug = 'globex'`)
	}
	before := charges()

	_, doc := p.get(owner, "/billing")
	if doc.Find(`[data-testid="review-seats"]`).Length() != 0 {
		t.Error("an ending plan offers Review seat change")
	}
	if n := doc.Find(`[data-testid^="choose-"]`).Length(); n != 0 {
		t.Errorf("an ending plan offers %d plan changes", n)
	}
	if got := squashed(doc, "billing-changes-locked"); !strings.Contains(got, "resume it to change the plan or seats") {
		t.Errorf("where the seat and plan controls were: %q", got)
	}

	token := csrfToken(doc)
	for _, r := range []struct {
		method, path string
		form         url.Values
	}{
		{http.MethodGet, "/billing/seats?seats=11", nil},
		{http.MethodPost, "/billing/seats", url.Values{"seats": {"11"}}},
		{http.MethodGet, "/billing/change?plan=business", nil},
		{http.MethodPost, "/billing/change", url.Values{"plan": {"business"}}},
		{http.MethodPost, "/billing/change", url.Values{"plan": {"free"}}},
	} {
		res, refused := p.htmx(owner, r.method, r.path, token, r.form)
		if got := text(refused, "error-message"); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(got, "resume it first") {
			t.Errorf("%s %s %v while ending: %d %q", r.method, r.path, r.form, res.StatusCode, got)
		}
	}
	// A plain form post comes back to /billing with the refusal as its flash.
	req, _ := http.NewRequest(http.MethodPost, p.srv.URL+"/billing/seats", strings.NewReader(url.Values{"_csrf": {token}, "seats": {"11"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", p.srv.URL+"/billing")
	res, err := owner.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/billing" {
		t.Fatalf("plain seat post while ending: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, doc = p.get(owner, res.Header.Get("Location"))
	if got := squashed(doc, "flash"); !strings.Contains(got, "resume it first") {
		t.Errorf("the flash after a plain seat post while ending: %q", got)
	}

	process(t, b)
	_, doc = p.get(owner, "/billing")
	if seats, plan := text(doc, "billing-seats"), text(doc, "billing-plan"); seats != "10" || plan != "Team" {
		t.Errorf("after the refused changes: %s on %s, want 10 on Team", seats, plan)
	}
	if after := charges(); after != before {
		t.Errorf("invoices: %d before, %d after the refused changes", before, after)
	}
	if n := countRows(t, p, `SELECT count(*) FROM audit_entry e JOIN account a ON a.id = e.account_id
		WHERE a.slug = 'globex' AND e.action IN ('billing.seat_change', 'billing.plan_change')`); n != 0 {
		t.Errorf("%d seat or plan change requests audited, none was made", n)
	}

	if res, _ := p.post(owner, "/billing/resume", url.Values{"_csrf": {csrfToken(doc)}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("resume: %d", res.StatusCode)
	}
	process(t, b)
	if _, doc = p.get(owner, "/billing"); doc.Find(`[data-testid="review-seats"]`).Length() != 1 || text(doc, "billing-changes-locked") != "" {
		t.Errorf("after Resume: review-seats %d, locked %q", doc.Find(`[data-testid="review-seats"]`).Length(), text(doc, "billing-changes-locked"))
	}
	if res, _ := p.htmx(owner, http.MethodGet, "/billing/seats?seats=11", csrfToken(doc), nil); res.StatusCode != http.StatusOK {
		t.Errorf("seat preview after Resume: %d", res.StatusCode)
	}
}
