package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// htmxTo is an htmx request whose element targets #target.
func (p *portal) htmxTo(c *http.Client, method, path, target, token string, form url.Values) (*http.Response, *goquery.Document) {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Target", target)
	req.Header.Set("X-CSRF-Token", token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	doc, _ := goquery.NewDocumentFromReader(res.Body)
	return res, doc
}

func TestAPromotionCodeOnAPlanChangeIsShownOrRefusedBesideItsField(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	c := p.login("owner@globex.test")
	_, page := p.get(c, "/billing")
	token := csrfToken(page)

	res, doc := p.htmxTo(c, http.MethodGet, "/billing/change?plan=business&promotion_code=nope", "billing-confirm", token, nil)
	if res.StatusCode != http.StatusUnprocessableEntity || text(doc, "error-promotion_code") != `"nope" is not a promotion code we know: check the spelling` {
		t.Errorf("unknown code: %d %q", res.StatusCode, text(doc, "error-promotion_code"))
	}
	if v, _ := doc.Find(`[data-testid="promotion-code"]`).Attr("value"); v != "nope" || doc.Find(`[data-testid="promotion-preview"]`).Length() != 0 {
		t.Errorf("the refused code: input %q, preview shown %d", v, doc.Find(`[data-testid="promotion-preview"]`).Length())
	}
	if doc.Find(`[data-testid="confirm-change"]`).Length() != 1 {
		t.Error("a refused code took the confirm button away")
	}

	// A free plan has nothing to discount: no code box is offered, and a
	// code typed anyway is refused, not spent on it.
	if _, doc := p.htmxTo(c, http.MethodGet, "/billing/change?plan=free", "billing-confirm", token, nil); doc.Find(`[data-testid="promotion-form"]`).Length() != 0 {
		t.Error("the preview of Free offers a promotion code box")
	}
	res, doc = p.htmxTo(c, http.MethodGet, "/billing/change?plan=free&promotion_code=launch20", "billing-confirm", token, nil)
	if res.StatusCode != http.StatusUnprocessableEntity || text(doc, "error-promotion_code") != "LAUNCH20 does not apply to Free: it costs nothing" {
		t.Errorf("LAUNCH20 on Free: %d %q", res.StatusCode, text(doc, "error-promotion_code"))
	}
	res, doc = p.htmxTo(c, http.MethodGet, "/billing/change?plan=business&promotion_code=launch20", "billing-confirm", token, nil)
	subtotal, off, total := text(doc, "preview-subtotal"), text(doc, "preview-discount"), text(doc, "preview-total")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(subtotal, "$") || !strings.HasPrefix(off, "-$") || !strings.HasPrefix(total, "$") {
		t.Fatalf("LAUNCH20: %d, %q %q %q", res.StatusCode, subtotal, off, total)
	}
	if got := text(doc, "proration-amount"); got != total {
		t.Errorf("charged now %q, total %q", got, total)
	}
	if v, _ := doc.Find(`form[action="/billing/change"][method="post"] input[name="promotion_code"]`).Attr("value"); v != "LAUNCH20" {
		t.Errorf("the confirm form carries %q", v)
	}

	// At confirm, a code refused by then comes back on the preview and
	// nothing changes.
	res, doc = p.htmxTo(c, http.MethodPost, "/billing/change", "billing", token, url.Values{"plan": {"business"}, "promotion_code": {"SPRING"}})
	if res.StatusCode != http.StatusUnprocessableEntity || doc.Find(`#billing [data-testid="change-confirm"]`).Length() != 1 ||
		!strings.Contains(text(doc, "error-promotion_code"), "SPRING") {
		t.Errorf("confirm with a bad code: %d, %q", res.StatusCode, text(doc, "error-promotion_code"))
	}
	res, doc = p.post(c, "/billing/change", url.Values{"_csrf": {token}, "plan": {"business"}, "promotion_code": {"SPRING"}})
	if res.StatusCode != http.StatusUnprocessableEntity || doc.Find(`[data-testid="error-promotion_code"]`).Length() != 1 {
		t.Errorf("a plain post with a bad code: %d", res.StatusCode)
	}
	process(t, b)
	if _, doc := p.get(c, "/billing"); text(doc, "billing-plan") != "Team" {
		t.Errorf("a refused code changed the plan to %q", text(doc, "billing-plan"))
	}
}

func TestABadCodeAtCheckoutIsRefusedBesideItsField(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	buyer := newClient()
	p.submit(buyer, "/signup?plan=team", "/signup", signupForm("buyer@vandelay.test", "team"))
	link := p.linkIn("buyer@vandelay.test", "signup_verify", "/signup/verify/")
	p.submit(buyer, link, link, url.Values{})
	res, doc := p.submit(buyer, "/billing/checkout?plan=team", "/billing/checkout",
		url.Values{"plan": {"team"}, "seats": {"2"}, "promotion_code": {"LAUNCH2O"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(doc, "error-promotion_code"), `"LAUNCH2O" is not a promotion code`) {
		t.Fatalf("bad code: %d %q", res.StatusCode, text(doc, "error-promotion_code"))
	}
	if v, _ := doc.Find(`[data-testid="checkout-promotion-code"]`).Attr("value"); v != "LAUNCH2O" {
		t.Errorf("the code typed was not kept: %q", v)
	}
	if n := countRows(t, p, `SELECT count(*) FROM billing_sim_subscription s JOIN membership m ON m.account_id = s.account_id
		JOIN app_user u ON u.id = m.user_id WHERE u.email = 'buyer@vandelay.test'`); n != 0 {
		t.Errorf("a refused code started %d subscriptions", n)
	}
	res, _ = p.submit(buyer, "/billing/checkout?plan=team", "/billing/checkout",
		url.Values{"plan": {"team"}, "seats": {"2"}, "promotion_code": {"launch20"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("good code: %d", res.StatusCode)
	}
	process(t, b)
	_, doc = p.get(buyer, "/billing")
	inv := doc.Find(`[data-testid="billing-invoice"]`).First()
	if got := strings.TrimSpace(inv.Find(`[data-testid="invoice-amount"]`).Text()); got != "$19.20" {
		t.Errorf("first invoice %q, want $19.20 (2 × $12.00 less 20%%)", got)
	}
	if code, _ := inv.Find(`[data-testid="invoice-discount"]`).Attr("data-code"); code != "LAUNCH20" {
		t.Errorf("the invoice's discount line names %q", code)
	}
}
