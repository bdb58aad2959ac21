package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/entitle-dev/entitle/store"
)

func TestCatalogDiffReportsAddOnsAddedChangedAndRemoved(t *testing.T) {
	t.Parallel()
	c := newCatalogCLI(t)
	demo := string(store.DemoCatalog())
	added := strings.Replace(demo, "    plans:\n", `      - key: sso_pack
        name: Single sign-on
        feature: sso
        plans: [business]
        price: {stripe_price_id: price_analytics_addon_sso_monthly, interval: month, unit_amount: 4900, currency: usd}
    plans:
`, 1)
	changed := strings.Replace(added, "quantity: 10000", "quantity: 15000", 1)
	removed := strings.Replace(changed, `      - key: extra_projects
        name: Extra projects
        feature: projects
        quantity: 5
        max_units: 10
        price: {stripe_price_id: price_analytics_addon_projects_monthly, interval: month, unit_amount: 500, currency: usd}
`, "", 1)

	out, err := c.run("catalog", "diff", c.file("removed.yaml", removed))
	if !errors.Is(err, errCatalogChanges) {
		t.Fatalf("diff: %v\n%s", err, out)
	}
	for _, want := range []string{
		"analytics: addon_added sso_pack: Single sign-on: sso on, up to 1 unit, 4900 usd per month (price_analytics_addon_sso_monthly), for plans business\n",
		"analytics: addon_changed extra_api_calls.quantity: 10000 → 15000\n",
		"analytics: addon_removed extra_projects: was Extra projects: +5 projects per unit, up to 10 units, 500 usd per month (price_analytics_addon_projects_monthly), for every plan it fits\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	t.Logf("catalog diff:\n%s", out)

	if _, err := c.run("catalog", "apply", c.file("removed.yaml", removed)); err != nil {
		t.Fatal(err)
	}
	exported, err := c.run("catalog", "export")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(exported, "extra_projects") || !strings.Contains(exported, "quantity: 15000") {
		t.Errorf("export after apply:\n%s", exported)
	}
	if out, err := c.run("catalog", "diff", c.file("exported.yaml", exported)); err != nil {
		t.Errorf("export then diff: %v\n%s", err, out)
	}
}
