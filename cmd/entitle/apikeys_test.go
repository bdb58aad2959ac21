package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store/storetest"
)

func TestAPIKeyAndSigningKeyCommands(t *testing.T) {
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
	do("demo", "seed")

	out := do("apikeys", "create", "globex", "--name", "ci runner", "--scopes", "check,usage")
	token, _, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(token, "ent_") || !strings.Contains(out, "shown only this once") {
		t.Fatalf("apikeys create printed:\n%s", out)
	}
	prefix := token[:12]
	if list := do("apikeys", "list", "globex"); !strings.Contains(list, prefix) || !strings.Contains(list, "check,usage") || strings.Contains(list, token) {
		t.Errorf("apikeys list:\n%s", list)
	}
	if out := do("apikeys", "revoke", "globex", prefix); !strings.Contains(out, "revoked "+prefix) {
		t.Errorf("apikeys revoke: %s", out)
	}
	var errOut bytes.Buffer
	if err := run(context.Background(), []string{"apikeys", "revoke", "initech", prefix}, &errOut, &errOut, vars); err == nil {
		t.Error("revoked a key through another account")
	}

	out = do("apikeys", "create", "--vendor", "--name", "crm sync", "--scopes", "check,accounts:read")
	vendorToken, _, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(vendorToken, "ent_") || !strings.Contains(out, "every account") {
		t.Fatalf("apikeys create --vendor printed:\n%s", out)
	}
	if list := do("apikeys", "list", "--vendor"); !strings.Contains(list, vendorToken[:12]) || !strings.Contains(list, "check,accounts:read") {
		t.Errorf("apikeys list --vendor:\n%s", list)
	}
	if list := do("apikeys", "list", "globex"); strings.Contains(list, vendorToken[:12]) {
		t.Errorf("a vendor key is listed as Globex's:\n%s", list)
	}
	if out := do("apikeys", "revoke", "--vendor", vendorToken[:12]); !strings.Contains(out, "revoked") {
		t.Errorf("apikeys revoke --vendor: %s", out)
	}

	ring, err := licensing.ParseKeyRing([]byte(do("keys", "public")))
	if err != nil || len(ring) != 1 {
		t.Fatalf("keys public: %v %v", ring, err)
	}
	first := ring.IDs()[0]
	if out := do("keys", "rotate"); !strings.Contains(out, "new signing key") {
		t.Errorf("keys rotate: %s", out)
	}
	if ring, _ := licensing.ParseKeyRing([]byte(do("keys", "public"))); len(ring) != 2 {
		t.Errorf("after rotate, %d public keys", len(ring))
	}
	do("keys", "retire", first)
	if list := do("keys", "list"); !strings.Contains(list, first) || strings.Count(list, "ed25519-") != 2 {
		t.Errorf("keys list:\n%s", list)
	}
	if ring, _ := licensing.ParseKeyRing([]byte(do("keys", "public"))); len(ring) != 1 || ring[first] != nil {
		t.Errorf("a retired key is still offered: %v", ring.IDs())
	}

	var help bytes.Buffer
	_ = run(context.Background(), []string{"--help"}, &help, &help, vars)
	for _, cmd := range []string{"apikeys create ACCOUNT", "apikeys list ACCOUNT", "apikeys revoke ACCOUNT PREFIX", "keys rotate", "keys retire KEY_ID"} {
		if !strings.Contains(help.String(), "entitle "+cmd) {
			t.Errorf("--help does not list %q", cmd)
		}
	}
}
