package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/entitle-dev/entitle/store/storetest"
)

func TestSCIMTokenAndReconcileCommands(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	var name string
	if err := db.Get(&name, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}
	vars := env(map[string]string{"DATABASE_URL": storetest.ServerURL(name)})
	run2 := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut, vars)
		return out.String(), err
	}
	do := func(args ...string) string {
		t.Helper()
		out, err := run2(args...)
		if err != nil {
			t.Fatalf("entitle %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	if out := do("demo", "seed"); !strings.Contains(out, "/scim/v2 with Authorization: Bearer scim_") {
		t.Errorf("demo seed does not say how to reach SCIM:\n%s", out)
	}

	out := do("scim-tokens", "create", "globex", "Okta")
	token, _, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(token, "scim_") || !strings.Contains(out, "shown only this once") {
		t.Fatalf("scim-tokens create printed:\n%s", out)
	}
	if list := do("scim-tokens", "list", "globex"); !strings.Contains(list, "Okta") || !strings.Contains(list, token[:11]) || strings.Contains(list, token) {
		t.Errorf("scim-tokens list:\n%s", list)
	}
	if _, err := run2("scim-tokens", "revoke", "initech", "Okta"); err == nil {
		t.Error("revoked Globex's token through Initech")
	}
	if out := do("scim-tokens", "revoke", "globex", "Okta"); !strings.Contains(out, "revoked 1 SCIM token") {
		t.Errorf("scim-tokens revoke: %s", out)
	}
	if list := do("scim-tokens", "list", "globex"); strings.Count(list, "\n") != 2 || strings.HasSuffix(strings.TrimSpace(list), "-") {
		t.Errorf("after revoking:\n%s", list)
	}

	// The demo is in its steady state: no difference anywhere.
	if out := do("provisioning", "reconcile", "--dry-run"); strings.Count(out, "no differences") != strings.Count(strings.TrimSpace(out), "\n")+1 ||
		!strings.Contains(out, "globex: no differences") || !strings.Contains(out, "initech: no differences") {
		t.Errorf("reconcile on the demo:\n%s", out)
	}
	// A seat planted behind the application's back, for a removed member.
	if _, err := db.Exec(`UPDATE membership SET status = 'deactivated' WHERE user_id = (SELECT id FROM app_user WHERE email = 'peter@initech.test')`); err != nil {
		t.Fatal(err)
	}
	out, err := run2("provisioning", "reconcile", "initech", "--dry-run")
	if !errors.Is(err, errDrift) || !strings.Contains(out, "peter@initech.test") || !strings.Contains(out, "drift repaired: seat held by a deactivated user") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	out, err = run2("provisioning", "reconcile", "initech")
	if !errors.Is(err, errDrift) || !strings.Contains(out, "repaired") {
		t.Fatalf("reconcile: %v\n%s", err, out)
	}
	// Peter's seat went to the first of the waiting list.
	if !strings.Contains(out, "bob.slydell@initech.test") {
		t.Errorf("the freed seat was not served:\n%s", out)
	}
	if out := do("provisioning", "reconcile", "initech"); !strings.Contains(out, "initech: no differences") {
		t.Errorf("after the repair:\n%s", out)
	}
}
