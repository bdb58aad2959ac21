package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/entitle-dev/entitle/store"
)

// addOnRows lists /billing's add-ons as key=units.
func addOnRows(doc *goquery.Document) string {
	var rows []string
	doc.Find(`[data-testid="addon-row"]`).Each(func(_ int, s *goquery.Selection) {
		rows = append(rows, s.AttrOr("data-addon", "")+"="+s.AttrOr("data-units", ""))
	})
	return strings.Join(rows, " ")
}

func TestACraftedAddOnPurchaseThePlanCannotHaveIsRefused(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	// An add-on sold to business only, beside the demo's.
	cat, err := store.ParseCatalog([]byte(strings.Replace(string(store.DemoCatalog()), "    plans:\n", `      - key: sso_pack
        name: Single sign-on
        feature: sso
        plans: [business]
        price: {stripe_price_id: price_analytics_addon_sso_monthly, interval: month, unit_amount: 4900, currency: usd}
    plans:
`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	products, err := cat.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.store.ApplyCatalog(context.Background(), store.SystemActor("test"), products); err != nil {
		t.Fatal(err)
	}

	globex := p.login("owner@globex.test")
	_, doc := p.get(globex, "/billing")
	if got := addOnRows(doc); got != "extra_api_calls=0 extra_projects=0 exports_pack=0" {
		t.Fatalf("Globex (team) is offered %q", got)
	}
	token := csrfToken(doc)
	for _, tc := range []struct{ addon, units, want string }{
		{"sso_pack", "1", "no such add-on can be bought on the team plan"},
		{"gold_support", "1", "no such add-on"},
		{"extra_api_calls", "11", "choose between 0 and 10 units"},
		{"extra_api_calls", "two", "enter a whole number of units"},
		{"extra_projects", "0", "does not hold extra projects"},
	} {
		res, doc := p.post(globex, "/billing/addons", url.Values{"_csrf": {token}, "addon": {tc.addon}, "units": {tc.units}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(strings.ToLower(doc.Text()), tc.want) {
			t.Errorf("crafted POST addon=%s units=%s → %d, want 422 saying %q: %s", tc.addon, tc.units, res.StatusCode, tc.want, doc.Find("main").Text())
		}
		if res, _ := p.get(globex, "/billing/addons?addon="+tc.addon+"&units="+tc.units); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("preview addon=%s units=%s → %d, want 422", tc.addon, tc.units, res.StatusCode)
		}
	}
	if pending, _, _ := p.store.PendingStripeEvents(context.Background(), accountIDOf(t, p.store, "globex")); pending != 0 {
		t.Fatalf("a refused add-on left %d events", pending)
	}

	// An admin may look at billing but not buy.
	admin := p.login("admin@globex.test")
	_, adminDoc := p.get(admin, "/billing")
	if adminDoc.Find(`[data-testid="review-addon-extra_api_calls"]`).Length() != 0 {
		t.Error("an admin is offered to buy an add-on")
	}
	if res, _ := p.post(admin, "/billing/addons", url.Values{"_csrf": {csrfToken(adminDoc)}, "addon": {"extra_api_calls"}, "units": {"1"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("an admin buying an add-on: %d, want 403", res.StatusCode)
	}

	// The owner's real purchase: preview, confirm, and the overview shows
	// the limit with its source once the webhook lands.
	res, doc := p.get(globex, "/billing/addons?addon=extra_api_calls&units=2")
	if res.StatusCode != http.StatusOK || text(doc, "addon-limit-after") != "70,000" || text(doc, "proration-amount") == "" {
		t.Fatalf("preview: %d, limit after %q, charge %q", res.StatusCode, text(doc, "addon-limit-after"), text(doc, "proration-amount"))
	}
	res, _ = p.post(globex, "/billing/addons", url.Values{"_csrf": {token}, "addon": {"extra_api_calls"}, "units": {"2"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("buying: %d", res.StatusCode)
	}
	process(t, b)
	_, doc = p.get(globex, "/billing")
	if got := addOnRows(doc); !strings.Contains(got, "extra_api_calls=2") {
		t.Fatalf("after the webhook: %q", got)
	}
	_, doc = p.get(globex, "/")
	row := doc.Find(`[data-testid="entitlement-row"][data-feature="api_calls"]`)
	if got := strings.TrimSpace(row.Find(`[data-testid="limit-source"]`).Text()); got != "50,000 plan + 20,000 from Extra API calls (2 units)" {
		t.Errorf("overview limit source %q (limit cell %q)", got, strings.TrimSpace(row.Find(`[data-testid="feature-limit"]`).Text()))
	}
}
