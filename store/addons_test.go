package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

func TestAddOnsApplyInPlaceAndARetiredOneStaysForItsHolders(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	count := func(q string) int {
		t.Helper()
		var n int
		if err := s.DB().Get(&n, q); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count(`SELECT count(*) FROM addon WHERE retired_at IS NULL`); got != 3 {
		t.Fatalf("demo add-ons on sale: %d", got)
	}
	created := count(`SELECT count(*) FROM audit_entry WHERE action = 'catalog.addon_created'`)
	demo := string(store.DemoCatalog())
	if _, err := applyYAML(t, s, demo); err != nil {
		t.Fatal(err)
	}
	if got := count(`SELECT count(*) FROM audit_entry WHERE action LIKE 'catalog.addon_%'`); got != created {
		t.Fatalf("re-applying the same add-ons audited %d entries, want %d", got, created)
	}

	// Globex holds two units of Extra API calls (as a subscription event
	// would have recorded).
	globex, err := s.AccountBySlug(ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec(`INSERT INTO subscription_addon (account_id, subscription_id, addon_id, units, added_at, updated_at)
SELECT s.account_id, s.id, a.id, 2, now(), now() FROM subscription s, addon a
WHERE s.account_id = $1 AND a.key = 'extra_api_calls'`, globex.ID); err != nil {
		t.Fatal(err)
	}

	// The file drops it and raises another: retired (not sold, not
	// exported), still counted for Globex; the change audited.
	dropped := strings.Replace(demo, `      - key: extra_api_calls
        name: Extra API calls
        feature: api_calls
        quantity: 10000
        max_units: 10
        price: {stripe_price_id: price_analytics_addon_api_calls_monthly, interval: month, unit_amount: 1000, currency: usd}
`, "", 1)
	dropped = strings.Replace(dropped, "quantity: 5\n", "quantity: 10\n", 1)
	if _, err := applyYAML(t, s, dropped); err != nil {
		t.Fatal(err)
	}
	if got := count(`SELECT count(*) FROM audit_entry WHERE action = 'catalog.addon_retired' AND target_id = 'analytics/extra_api_calls'`); got != 1 {
		t.Errorf("retirement audited %d times", got)
	}
	if got := count(`SELECT count(*) FROM audit_entry WHERE action = 'catalog.addon_updated' AND target_id = 'analytics/extra_projects'`); got != 1 {
		t.Errorf("change audited %d times", got)
	}
	stored, err := s.StoredCatalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, a := range stored.Products[0].AddOns {
		keys = append(keys, a.Key)
	}
	if strings.Join(keys, ",") != "extra_projects,exports_pack" || stored.AddOnHolders["analytics/extra_api_calls"][0] != "globex" {
		t.Errorf("stored add-ons %v, holders %v", keys, stored.AddOnHolders)
	}
	state, err := s.AccountState(ctx, globex.ID)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := state.Products[0].Check("api_calls", 0, s.Now())
	if d.Limit == nil || *d.Limit != 70000 {
		t.Errorf("Globex's api_calls with a retired add-on held: %+v", d)
	}
}
