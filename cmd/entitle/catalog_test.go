package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// catalogCLI runs entitle against a fresh demo database.
type catalogCLI struct {
	t    *testing.T
	vars func(string) (string, bool)
	dir  string
}

func newCatalogCLI(t *testing.T) catalogCLI {
	db := storetest.NewDB(t)
	var name string
	if err := db.Get(&name, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}
	c := catalogCLI{t: t, vars: env(map[string]string{"DATABASE_URL": storetest.ServerURL(name)}), dir: t.TempDir()}
	if _, err := c.run("demo", "seed"); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c catalogCLI) run(args ...string) (string, error) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut, c.vars)
	return out.String(), err
}

func (c catalogCLI) file(name, content string) string {
	c.t.Helper()
	path := filepath.Join(c.dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return path
}

func TestCatalogExportThenApplyChangesNothing(t *testing.T) {
	t.Parallel()
	c := newCatalogCLI(t)
	// Rules and a pilot plan first, so the export carries every kind of field.
	rules := strings.Replace(string(store.DemoCatalog()), "      - key: sso\n        name: Single sign-on (SAML/OIDC)\n        kind: boolean\n",
		"      - key: sso\n        name: Single sign-on (SAML/OIDC)\n        kind: boolean\n        regions: {deny: [CU]}\n", 1)
	rules += `      - key: scale_pilot
        name: Scale (pilot)
        rank: 9
        seat_based: true
        visibility: pilot
        regions: {allow: [DE, US]}
        prices:
          - {stripe_price_id: price_scale_pilot, interval: month, unit_amount: 4500, currency: usd}
        features: {dashboards: true, sso: true, api_calls: unlimited, projects: 100}
export_controls:
  - {countries: [KP], features: [exports]}
`
	if _, err := c.run("catalog", "apply", c.file("rules.yaml", rules)); err != nil {
		t.Fatal(err)
	}
	exported, err := c.run("catalog", "export")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"visibility: pilot", "deny:", "export_controls:", "unlimited", "price_scale_pilot", "key: extra_api_calls", "code: LAUNCH20"} {
		if !strings.Contains(exported, want) {
			t.Errorf("export lacks %q:\n%s", want, exported)
		}
	}
	path := c.file("exported.yaml", exported)
	out, err := c.run("catalog", "diff", path)
	if err != nil || !strings.Contains(out, "No changes") {
		t.Fatalf("diff of the export: %v\n%s", err, out)
	}
	out, err = c.run("catalog", "apply", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasSuffix(line, ": unchanged") {
			t.Errorf("applying the export changed something: %s", line)
		}
	}
}

func TestCatalogDiffSaysWhatWouldChangeAndWhoIsOnIt(t *testing.T) {
	t.Parallel()
	c := newCatalogCLI(t)
	changed := strings.Replace(string(store.DemoCatalog()), "api_calls: 50000", "api_calls: 40000", 1) // team
	changed = strings.Replace(changed, "unit_amount: 0, currency: usd", "unit_amount: 500, currency: usd", 1)
	path := c.file("changed.yaml", changed)

	var versionsBefore int
	storeDB(t, c).DB().Get(&versionsBefore, `SELECT count(*) FROM plan_version`)

	out, err := c.run("catalog", "diff", path)
	if !errors.Is(err, errCatalogChanges) || err.(exitStatus).code != 2 {
		t.Fatalf("diff of a changed file: err %v, want exit status 2\n%s", err, out)
	}
	for _, want := range []string{
		"analytics/team: new version 2 (subscribers keep version 1 until moved",
		"    on version 1: 2 accounts\n",
		"  limit_lowered api_calls: 50000 → 40000",
		"analytics/free: version 1 updated in place (nobody is on it)",
		"  price_changed month usd: 0 usd per month (price_analytics_free_monthly) → 500 usd per month (price_analytics_free_monthly)",
		"Plans: 0 created, 1 new versions, 1 updated in place, 3 unchanged.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "globex") {
		t.Errorf("diff names accounts without --verbose:\n%s", out)
	}
	if out, _ := c.run("catalog", "diff", path, "--verbose"); !strings.Contains(out, "on version 1: 2 accounts (globex, umbrella)") {
		t.Errorf("diff --verbose does not name the accounts:\n%s", out)
	}

	out, err = c.run("catalog", "diff", path, "--json")
	if !errors.Is(err, errCatalogChanges) {
		t.Fatalf("diff --json: %v", err)
	}
	var doc struct {
		Changed bool `json:"changed"`
		Plans   []struct {
			Plan, Apply string
			NewVersion  int `json:"new_version"`
		} `json:"plans"`
		Changes []struct{ Kind, Plan, Feature, From, To string } `json:"changes"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("diff --json is not JSON: %v\n%s", err, out)
	}
	if !doc.Changed || len(doc.Changes) != 2 || doc.Changes[1].Kind != "limit_lowered" || doc.Changes[1].To != "40000" {
		t.Errorf("diff --json = %+v", doc)
	}

	dry, err := c.run("catalog", "apply", path, "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := c.run("catalog", "diff", path)
	if dry != plain {
		t.Errorf("apply --dry-run prints something else than diff:\n%s\n---\n%s", dry, plain)
	}
	var versionsAfter int
	storeDB(t, c).DB().Get(&versionsAfter, `SELECT count(*) FROM plan_version`)
	if versionsAfter != versionsBefore {
		t.Fatalf("apply --dry-run changed the catalog: %d plan versions, was %d", versionsAfter, versionsBefore)
	}
	if out, err := c.run("catalog", "apply", path); err != nil || !strings.Contains(out, "analytics/team: versioned") {
		t.Fatalf("apply after the dry run: %v\n%s", err, out)
	}
	if out, err := c.run("catalog", "diff", path); err != nil || !strings.Contains(out, "No changes") {
		t.Fatalf("diff after applying: %v\n%s", err, out)
	}
}

func TestCatalogDiffOfAnInvalidFileListsTheProblemsAsApplyDoes(t *testing.T) {
	t.Parallel()
	c := newCatalogCLI(t)
	bad := strings.Replace(string(store.DemoCatalog()), "api_calls: 50000", "api_calls: lots", 1)
	bad = strings.Replace(bad, "rank: 3", "rank: 2", 1)
	path := c.file("bad.yaml", bad)
	_, applyErr := c.run("catalog", "apply", path)
	_, diffErr := c.run("catalog", "diff", path)
	if applyErr == nil || diffErr == nil {
		t.Fatalf("an invalid file was accepted: apply %v, diff %v", applyErr, diffErr)
	}
	var status exitStatus
	if errors.As(diffErr, &status) {
		t.Fatalf("diff of an invalid file exits %d, want 1", status.code)
	}
	if applyErr.Error() != diffErr.Error() || !strings.Contains(diffErr.Error(), `plan "team", feature "api_calls", field "features": want a number or "unlimited", got "lots"`) ||
		!strings.Contains(diffErr.Error(), "2 problems") {
		t.Fatalf("apply says:\n%v\ndiff says:\n%v", applyErr, diffErr)
	}
	out, _ := c.run("catalog", "diff", path, "--json")
	var doc struct {
		Problems []struct{ Plan, Feature, Message string } `json:"problems"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Problems) != 2 {
		t.Fatalf("diff --json of an invalid file: %v\n%s", err, out)
	}
}

// storeDB opens the CLI's database for assertions.
func storeDB(t *testing.T, c catalogCLI) *store.Store {
	t.Helper()
	cfg, err := LoadConfig(c.vars)
	if err != nil {
		t.Fatal(err)
	}
	s, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.DB().Close() })
	return s
}

func TestCatalogMigratePreviewsPerAccountThenSchedules(t *testing.T) {
	t.Parallel()
	c := newCatalogCLI(t)
	changed := strings.Replace(string(store.DemoCatalog()), "api_calls: 50000", "api_calls: 40000", 1)
	if _, err := c.run("catalog", "apply", c.file("v2.yaml", changed)); err != nil {
		t.Fatal(err)
	}
	date := time.Now().UTC().AddDate(0, 2, 0).Format("2006-01-02")
	out, err := c.run("catalog", "migrate", "analytics", "team", "--to-version", "2", "--at", date, "--notice-days", "14", "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"globex (Globex): version 1 → 2 on " + date + ", owners told on ",
		"umbrella (Umbrella): version 1 → 2 on " + date,
		"    limit_down api_calls: 50000 → 40000",
		"Dry run: nothing scheduled (2 accounts would move).",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	var waiting int
	storeDB(t, c).DB().Get(&waiting, `SELECT count(*) FROM plan_migration_account`)
	if waiting != 0 {
		t.Fatalf("the dry run scheduled %d moves", waiting)
	}

	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	if out, err := c.run("catalog", "migrate", "analytics", "team", "--to-version", "2", "--at", tomorrow, "--notice-days", "14"); err == nil ||
		!strings.Contains(err.Error(), "cannot be given 14 days of notice") || !strings.Contains(out, "leaves less than 14 days of notice") {
		t.Fatalf("a date too close for the notice: %v\n%s", err, out)
	}
	for _, bad := range [][]string{
		{"analytics", "team", "--to-version", "two", "--at", date},
		{"analytics", "team", "--to-version", "2", "--at", "soon"},
		{"analytics", "team", "--to-version", "2"},
		{"analytics", "team", "--to-version", "9", "--at", date},
	} {
		if _, err := c.run(append([]string{"catalog", "migrate"}, bad...)...); err == nil {
			t.Errorf("catalog migrate %v was accepted", bad)
		}
	}

	out, err = c.run("catalog", "migrate", "analytics", "team", "--to-version", "2", "--at", date, "--exclude", "umbrella")
	if err != nil || !strings.Contains(out, "umbrella (Umbrella): version 1 → 2: excluded") || !strings.Contains(out, "1 account to move") {
		t.Fatalf("schedule: %v\n%s", err, out)
	}
	storeDB(t, c).DB().Get(&waiting, `SELECT count(*) FROM plan_migration_account WHERE done_at IS NULL`)
	if waiting != 1 {
		t.Fatalf("%d moves waiting, want 1", waiting)
	}
	// Globex has a move waiting, so only Umbrella is a candidate now.
	if out, _ := c.run("catalog", "migrate", "analytics", "team", "--to-version", "2", "--at", date, "--dry-run"); strings.Contains(out, "globex") {
		t.Errorf("an account with a move waiting is offered again:\n%s", out)
	}
}
