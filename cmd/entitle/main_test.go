package main

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

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

func TestUnreachableDatabaseIsOneClearError(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	start := time.Now()
	err := run(context.Background(), []string{"migrate"}, &out, &errOut,
		env(map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/entitle?sslmode=disable", "DB_CONNECT_TIMEOUT": "2s"}))
	if err == nil {
		t.Fatal("migrate against a closed port succeeded")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "database unreachable at postgres://postgres@127.0.0.1:1/entitle") || strings.Contains(msg, "\n") {
		t.Fatalf("error = %q, want one line naming the database", msg)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatalf("took %v to give up", time.Since(start))
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
	if out := do("demo", "seed"); !strings.Contains(out, "owner@globex.test") || !strings.Contains(out, "demo-password") {
		t.Errorf("demo seed prints no logins:\n%s", out)
	}
	if out := do("accounts", "list"); !strings.Contains(out, "globex") || !strings.Contains(out, "past_due") {
		t.Errorf("accounts list:\n%s", out)
	}
	if out := do("accounts", "show", "globex", "--json"); !strings.Contains(out, `"seats_assigned": 7`) || !strings.Contains(out, `"reason": "not_in_plan"`) {
		t.Errorf("accounts show --json:\n%s", out)
	}
	if out := do("audit", "verify"); !strings.HasPrefix(out, "OK:") {
		t.Errorf("audit verify: %s", out)
	}
	var errOut bytes.Buffer
	if err := run(context.Background(), []string{"accounts", "show", "nope"}, &errOut, &errOut, vars); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unknown account: %v", err)
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
