package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestHelpListsEveryCommandAndVariable(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &out, &out, env(nil)); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	for _, cmd := range []string{"serve", "migrate", "catalog apply FILE", "demo seed", "accounts list", "accounts show SLUG [--json]", "audit verify"} {
		if !strings.Contains(help, "entitle "+cmd) {
			t.Errorf("--help does not list %q", cmd)
		}
	}
	cfg := reflect.TypeOf(Config{})
	for i := 0; i < cfg.NumField(); i++ {
		if v := cfg.Field(i).Tag.Get("env"); !strings.Contains(help, v+" (default") {
			t.Errorf("--help does not list %s with its default", v)
		}
	}
}

// A command's --help is answered without a database and never taken for an
// argument (an account named "--help").
func TestCommandHelpPrintsThatCommandsUsage(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), []string{"apikeys", "create", "--help"}, &out, &out,
		env(map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/entitle?sslmode=disable"}))
	if err != nil {
		t.Fatalf("apikeys create --help: %v", err)
	}
	help := out.String()
	if !strings.Contains(help, "entitle apikeys create ACCOUNT [--name NAME]") || !strings.Contains(help, "prints it once") {
		t.Errorf("apikeys --help does not describe apikeys create:\n%s", help)
	}
	if strings.Contains(help, "entitle catalog") || strings.Contains(help, "not found") {
		t.Errorf("apikeys --help prints more than the apikeys commands:\n%s", help)
	}
}

func TestUnreachableDatabaseIsOneClearError(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"migrate"}, &out, &errOut,
		env(map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/entitle?sslmode=disable", "DB_CONNECT_TIMEOUT": "2s"}))
	if err == nil {
		t.Fatal("migrate against a closed port succeeded")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "database unreachable at postgres://postgres@127.0.0.1:1/entitle") || strings.Contains(msg, "\n") {
		t.Fatalf("error = %q, want one line naming the database", msg)
	}
}

func TestCommandsAgainstARealDatabase(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	var name string
	if err := db.Get(&name, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}
	vars := env(map[string]string{"DATABASE_URL": storetest.ServerURL(name)})
	do := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut, vars); err != nil {
			t.Fatalf("entitle %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}
	out := do("demo", "seed")
	if !strings.Contains(out, "owner@globex.test") || !strings.Contains(out, "demo-password") {
		t.Errorf("demo seed prints no logins:\n%s", out)
	}
	// Every login the README's table names is printed too.
	for _, login := range []string{"admin@globex.test", "billing@globex.test", "alice@globex.test", "cto@hooli.test", "pat@partners.test", "lead@acme.test"} {
		if !strings.Contains(out, login) {
			t.Errorf("demo seed does not print %s, which the README lists:\n%s", login, out)
		}
	}
	if out := do("accounts", "list"); !strings.Contains(out, "globex") || !strings.Contains(out, "past_due") {
		t.Errorf("accounts list:\n%s", out)
	}
	if out := do("accounts", "show", "globex", "--json"); !strings.Contains(out, `"seats_assigned": 7`) || !strings.Contains(out, `"reason": "not_in_plan"`) {
		t.Errorf("accounts show --json:\n%s", out)
	}
	// What an operator reconciles with Stripe: ids, plan version, period
	// end, seats, grants with their expiry.
	st, err := store.Open(context.Background(), storetest.ServerURL(name), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	expires := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	if _, err := store.New(st, nil).CreateGrant(context.Background(), store.SystemActor("test"), "globex", store.GrantInput{
		Kind: "feature", ProductKey: "analytics", FeatureKey: "exports", Enabled: true, Reason: "pilot", ExpiresAt: expires}); err != nil {
		t.Fatal(err)
	}
	var shown struct {
		StripeCustomerID string `json:"stripe_customer_id"`
		Products         []struct {
			Plan        string
			PlanVersion int        `json:"plan_version"`
			StripeSub   string     `json:"stripe_subscription_id"`
			PeriodEnd   *time.Time `json:"current_period_end"`
			Seats       int        `json:"seats"`
		} `json:"products"`
		Grants []struct {
			Feature   string     `json:"feature"`
			ExpiresAt *time.Time `json:"expires_at"`
		} `json:"grants"`
	}
	if err := json.Unmarshal([]byte(do("accounts", "show", "globex", "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.StripeCustomerID != "cus_sim_globex" || len(shown.Products) != 1 {
		t.Fatalf("accounts show --json: %+v", shown)
	}
	if p := shown.Products[0]; p.Plan != "team" || p.PlanVersion < 1 || p.StripeSub != "sub_sim_globex" || p.PeriodEnd == nil || p.Seats != 10 {
		t.Errorf("the subscription as shown: %+v", p)
	}
	if len(shown.Grants) != 1 || shown.Grants[0].Feature != "exports" || shown.Grants[0].ExpiresAt == nil || !shown.Grants[0].ExpiresAt.Equal(expires) {
		t.Errorf("grants as shown: %+v", shown.Grants)
	}
	if out := do("audit", "verify"); !strings.HasPrefix(out, "OK:") {
		t.Errorf("audit verify: %s", out)
	}
	var errOut bytes.Buffer
	if err := run(context.Background(), []string{"accounts", "show", "nope"}, &errOut, &errOut, vars); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unknown account: %v", err)
	}
}

// TestATakenMetricsAddressNamesTheSetting: a second instance started beside
// a first (or anything else on the port) is told which setting to change.
func TestATakenMetricsAddressNamesTheSetting(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	stop, err := serveMetrics(taken.Addr().String(), nil, false, slog.New(slog.DiscardHandler))
	if err == nil {
		stop()
		t.Fatal("metrics started on a taken address")
	}
	if !strings.Contains(err.Error(), "METRICS_ADDR") {
		t.Errorf("error %q does not name METRICS_ADDR", err)
	}
}

func TestEmptyMetricsAddrTurnsMetricsOff(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(env(map[string]string{"METRICS_ADDR": ""}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsAddr != "" {
		t.Errorf("METRICS_ADDR= gives %q, want metrics off", cfg.MetricsAddr)
	}
	if cfg, _ := LoadConfig(env(nil)); cfg.MetricsAddr != "127.0.0.1:9464" {
		t.Errorf("METRICS_ADDR unset gives %q, want the default", cfg.MetricsAddr)
	}
	if cfg, _ := LoadConfig(env(map[string]string{"CHECK_STALE_LIMIT": ""})); cfg.CheckStaleLimit != time.Hour {
		t.Errorf("CHECK_STALE_LIMIT= gives %v, want the default", cfg.CheckStaleLimit)
	}
}
