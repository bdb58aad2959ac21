package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// signUpAndVerify signs email up for plan and opens the verification link:
// the page that says what creating the account starts.
func (p *portal) signUpAndVerify(c *http.Client, email, plan string) (link string, doc *goquery.Document) {
	p.t.Helper()
	if res, _ := p.submit(c, "/signup?plan="+plan, "/signup", signupForm(email, plan)); res.StatusCode != http.StatusSeeOther {
		p.t.Fatalf("sign-up for %q: %d", plan, res.StatusCode)
	}
	link = p.linkIn(email, "signup_verify", "/signup/verify/")
	_, doc = p.get(c, link)
	return link, doc
}

func TestSignupTrialOwnerHoldsASeatFromTheStart(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	c := newClient()
	link, _ := p.signUpAndVerify(c, "vera@vandelay.test", "business")
	if res, _ := p.submit(c, link, link, url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("verify: %d", res.StatusCode)
	}
	process(t, b)
	_, doc := p.get(c, "/")
	licence := doc.Find(`[data-testid="my-licence"]`)
	if holds := licence.AttrOr("data-holds", ""); holds != "true" {
		t.Errorf("the owner who signed up: %q (holds %s), want a seat of the trial", strings.Join(strings.Fields(licence.Text()), " "), holds)
	}
	if purchased, assigned := text(doc, "seats-purchased"), text(doc, "seats-assigned"); purchased != "5" || assigned != "1" {
		t.Errorf("seats: %s purchased, %s assigned; want 5 and 1", purchased, assigned)
	}
	_, doc = p.get(c, "/seats")
	var holders []string
	doc.Find(`[data-testid="holder-row"]`).Each(func(_ int, r *goquery.Selection) { holders = append(holders, r.AttrOr("data-email", "")) })
	if strings.Join(holders, " ") != "vera@vandelay.test" {
		t.Errorf("/seats lists %v as holding seats", holders)
	}
	// Audited as any seat given, in the account's own log.
	if n := countRows(t, p, `SELECT count(*) FROM audit_entry e JOIN account a ON a.id = e.account_id
		WHERE a.name = 'Vandelay Industries' AND e.action = 'seat.assign' AND e.actor_label = 'sign-up'`); n != 1 {
		t.Errorf("seat.assign audit entries by the sign-up: %d, want 1", n)
	}
}

func TestSignupCheckoutOwnerHoldsASeatOfWhatTheyBought(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	c := newClient()
	link, _ := p.signUpAndVerify(c, "buyer@vandelay.test", "team")
	p.submit(c, link, link, url.Values{})
	res, _ := p.submit(c, "/billing/checkout?plan=team", "/billing/checkout", url.Values{"plan": {"team"}, "seats": {"3"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("pay: %d", res.StatusCode)
	}
	process(t, b)
	_, doc := p.get(c, "/")
	if holds, assigned := doc.Find(`[data-testid="my-licence"]`).AttrOr("data-holds", ""), text(doc, "seats-assigned"); holds != "true" || assigned != "1" {
		t.Errorf("after checkout the buyer holds a seat: %s, %s assigned", holds, assigned)
	}
}

// Free has no seats: one who signs up for it holds none, and gets their
// seat when they upgrade to a plan with seats, as if they had signed up
// for it.
func TestSignupFreeOwnerGetsASeatWhenUpgradingToAPlanWithSeats(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	c := newClient()
	link, _ := p.signUpAndVerify(c, "vera@vandelay.test", "free")
	if res, _ := p.submit(c, link, link, url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("verify: %d", res.StatusCode)
	}
	process(t, b)
	_, doc := p.get(c, "/billing")
	if got := text(doc, "billing-plan"); got != "Free" {
		t.Fatalf("plan = %q", got)
	}
	p.post(c, "/billing/simulator/card", url.Values{"_csrf": {csrfToken(doc)}})
	if res, refused := p.htmx(c, http.MethodPost, "/billing/change", csrfToken(doc), url.Values{"plan": {"team"}}); res.StatusCode >= 400 {
		t.Fatalf("upgrade to Team: %d %q", res.StatusCode, text(refused, "error-message"))
	}
	process(t, b)
	_, doc = p.get(c, "/")
	licence := doc.Find(`[data-testid="my-licence"]`)
	if holds := licence.AttrOr("data-holds", ""); holds != "true" {
		t.Errorf("after upgrading to Team the owner who signed up: %q (holds %s), want a seat", strings.Join(strings.Fields(licence.Text()), " "), holds)
	}
	if assigned := text(doc, "seats-assigned"); assigned != "1" {
		t.Errorf("seats assigned after the upgrade: %s, want 1", assigned)
	}
	// A later change of plan gives no second seat, nor one to anybody else.
	if n := countRows(t, p, `SELECT count(*) FROM audit_entry e JOIN account a ON a.id = e.account_id
		WHERE a.name = 'Vandelay Industries' AND e.action = 'seat.assign' AND e.actor_label = 'sign-up'`); n != 1 {
		t.Errorf("seat.assign audit entries by the sign-up: %d, want 1", n)
	}
}
