package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/entitle-dev/entitle/store"
)

// A promotion code added to the file is a change `catalog diff` names
// (exit status 2); once applied, the same file changes nothing.
func TestCatalogDiffNamesAPromotionAdded(t *testing.T) {
	t.Parallel()
	c := newCatalogCLI(t)
	added := strings.Replace(string(store.DemoCatalog()), "promotions:\n", `promotions:
  - {product: analytics, code: spring10, amount_off: 1000, currency: usd, duration: once, expires_on: "2027-04-30", max_redemptions: 50, plans: [team, business]}
`, 1)
	path := c.file("spring.yaml", added)
	out, err := c.run("catalog", "diff", path)
	if !errors.Is(err, errCatalogChanges) {
		t.Fatalf("diff: %v\n%s", err, out)
	}
	want := "analytics: promotion_added SPRING10: 1000 usd off, once, plans business, team, until 2027-04-30, at most 50\n"
	if !strings.Contains(out, want) {
		t.Errorf("diff lacks %q:\n%s", want, out)
	}
	t.Logf("entitle catalog diff %s:\n%s", "spring.yaml", out)
	if _, err := c.run("catalog", "apply", path); err != nil {
		t.Fatal(err)
	}
	if out, err := c.run("catalog", "diff", path); err != nil || !strings.Contains(out, "No changes") {
		t.Errorf("after apply: %v\n%s", err, out)
	}
	removed, err := c.run("catalog", "diff", c.file("demo.yaml", string(store.DemoCatalog())))
	if !errors.Is(err, errCatalogChanges) || !strings.Contains(removed, "analytics: promotion_removed SPRING10: was 1000 usd off") {
		t.Errorf("diff back to the demo file: %v\n%s", err, removed)
	}
}
