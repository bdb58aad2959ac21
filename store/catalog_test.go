package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

func applyYAML(t *testing.T, s *store.Store, yaml string) ([]store.CatalogChange, error) {
	t.Helper()
	cat, err := store.ParseCatalog([]byte(yaml))
	if err != nil {
		return nil, err
	}
	products, err := cat.Validate()
	if err != nil {
		return nil, err
	}
	return s.ApplyCatalog(context.Background(), store.SystemActor("test"), products)
}

func TestApplyingTheSameCatalogTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	s := storetest.New(t, nil)
	demo := string(store.DemoCatalog())
	first, err := applyYAML(t, s, demo)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 5 || first[0].What != "created" {
		t.Fatalf("first apply: %+v", first)
	}
	var auditsBefore int
	s.DB().Get(&auditsBefore, `SELECT count(*) FROM audit_entry`)
	second, err := applyYAML(t, s, demo)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range second {
		if c.What != "unchanged" {
			t.Errorf("second apply changed %s/%s: %s", c.Product, c.Plan, c.What)
		}
	}
	var versions, auditsAfter int
	s.DB().Get(&versions, `SELECT count(*) FROM plan_version`)
	s.DB().Get(&auditsAfter, `SELECT count(*) FROM audit_entry`)
	if versions != 5 || auditsAfter != auditsBefore {
		t.Fatalf("after re-apply: %d plan versions (want 5), audit %d → %d", versions, auditsBefore, auditsAfter)
	}
}

func TestChangingAPlanWithSubscribersMakesANewVersion(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil) // Globex and Umbrella are on team v1, nobody on free
	demo := string(store.DemoCatalog())
	changed := strings.Replace(demo, "api_calls: 50000", "api_calls: 60000", 1)     // team
	changed = strings.Replace(changed, "api_calls: 1000\n", "api_calls: 2000\n", 1) // free
	changes, err := applyYAML(t, s, changed)
	if err != nil {
		t.Fatal(err)
	}
	what := map[string]string{}
	for _, c := range changes {
		what[c.Plan] = c.What
	}
	if what["team"] != "versioned" || what["free"] != "updated" || what["business"] != "unchanged" {
		t.Fatalf("changes = %v: want team versioned (it has subscribers), free updated in place", what)
	}
	// Subscribers keep their version: Globex still has 50,000 calls.
	ctx := context.Background()
	globex, _ := s.AccountBySlug(ctx, "globex")
	state, err := s.AccountState(ctx, globex.ID)
	if err != nil {
		t.Fatal(err)
	}
	if l := state.Products[0].Values["api_calls"].Limit; l == nil || *l != 50000 || state.Products[0].Plan.Version != 1 {
		t.Fatalf("Globex api_calls limit = %v on version %d, want 50000 on version 1", l, state.Products[0].Plan.Version)
	}
	var teamVersions int
	s.DB().Get(&teamVersions, `SELECT count(*) FROM plan_version pv JOIN plan p ON p.id = pv.plan_id WHERE p.key = 'team'`)
	if teamVersions != 2 {
		t.Fatalf("team has %d versions, want 2", teamVersions)
	}
}

func TestAnInvalidCatalogIsRefusedWhole(t *testing.T) {
	t.Parallel()
	s := storetest.New(t, nil)
	bad := strings.Replace(string(store.DemoCatalog()), "api_calls: 50000", "api_calls: lots", 1)
	_, err := applyYAML(t, s, bad)
	if err == nil {
		t.Fatal("invalid catalog accepted")
	}
	for _, want := range []string{`plan "team"`, `feature "api_calls"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	var products int
	s.DB().Get(&products, `SELECT count(*) FROM product`)
	if products != 0 {
		t.Fatalf("%d products written from a refused catalog", products)
	}
	if _, err := store.ParseCatalog([]byte("products:\n  - key: x\n    colour: red\n")); err == nil {
		t.Fatal("unknown field accepted")
	}
}
