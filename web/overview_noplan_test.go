package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// An account left without a plan ("Not now" at checkout) is sent to
// choose one on Billing from its overview; a person whose role may not
// buy is told who can, and is offered no link to a page that refuses them.
func TestAnAccountWithoutAPlanIsSentToChooseOne(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	owner := newClient()
	link, _ := p.signUpAndVerify(owner, "quitter@vandelay.test", "team")
	if res, _ := p.submit(owner, link, link, url.Values{}); res.Header.Get("Location") != "/billing/checkout?plan=team" {
		t.Fatalf("verify for a paid plan: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, doc := p.get(owner, "/billing/checkout?plan=team")
	notNow := doc.Find(`[data-testid="checkout-cancel"]`).AttrOr("href", "")
	process(t, b)

	_, doc = p.get(owner, notNow)
	if got := text(doc, "plan-name"); got != "No subscription" {
		t.Fatalf("the overview after Not now: plan %q", got)
	}
	choose := doc.Find(`[data-testid="choose-plan"]`)
	if choose.AttrOr("href", "") != "/billing" || !strings.Contains(choose.Text(), "Choose a plan") {
		t.Errorf("the owner's way to a plan: %q → %q", strings.TrimSpace(choose.Text()), choose.AttrOr("href", ""))
	}
	if res, doc := p.get(owner, choose.AttrOr("href", "")); res.StatusCode != http.StatusOK || doc.Find(`[data-testid="choose-team"]`).Length() != 1 {
		t.Errorf("the link leads to %d without Team to choose", res.StatusCode)
	}

	// A member invited into the account may not buy.
	_, doc = p.get(owner, "/members")
	p.postAndFollow(owner, "/members/invite", url.Values{"_csrf": {csrfToken(doc)}, "role": {"member"}, "emails": {"mo@vandelay.test"}})
	invite := p.linkIn("mo@vandelay.test", "invitation", "/invitations/")
	member := newClient()
	if res, _ := p.submit(member, invite, invite, url.Values{"name": {"Mo Member"}, "password": {"a long enough password"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept the invitation: %d", res.StatusCode)
	}
	_, doc = p.get(member, "/")
	if got := squashed(doc, "choose-plan-who"); got != "A person with the Owner or Billing role chooses the plan, on Billing." ||
		doc.Find(`[data-testid="choose-plan"]`).Length() != 0 {
		t.Errorf("a member of an account without a plan reads %q (and %d links)", got, doc.Find(`[data-testid="choose-plan"]`).Length())
	}
}
