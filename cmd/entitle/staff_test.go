package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

func TestStaffDisableEndsSessionsAndImpersonations(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	var name string
	if err := db.Get(&name, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}
	vars := env(map[string]string{"DATABASE_URL": storetest.ServerURL(name)})
	do := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut, vars)
		return out.String(), err
	}
	var help bytes.Buffer
	_ = run(context.Background(), []string{"--help"}, &help, &help, vars)
	for _, cmd := range []string{"entitle staff list", "entitle staff disable EMAIL"} {
		if !strings.Contains(help.String(), cmd) {
			t.Errorf("--help does not list %q", cmd)
		}
	}
	out, err := do("demo", "seed")
	if err != nil || !strings.Contains(out, "admin@acme.test") || !strings.Contains(out, "lead@acme.test") {
		t.Fatalf("demo seed does not print the new staff logins: %v\n%s", err, out)
	}

	// support@acme.test is signed in and impersonating Globex.
	s := store.New(db, nil)
	ctx := context.Background()
	staff, err := s.AuthenticateStaff(ctx, "support@acme.test", store.DemoPassword, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.CreateStaffSession(ctx, staff.StaffID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartImpersonation(ctx, token, store.StartImpersonationInput{AccountSlug: "globex", Reason: "TICKET-1",
		Mode: store.ImpersonateRead}); err != nil {
		t.Fatal(err)
	}

	out, err = do("staff", "disable", "support@acme.test")
	if err != nil || out != "support@acme.test disabled: 1 sessions and 1 impersonations ended\n" {
		t.Fatalf("staff disable: %v %q", err, out)
	}
	if _, err := s.ImpersonationByStaffToken(ctx, token); err != store.ErrNotFound {
		t.Errorf("impersonation after disable: %v", err)
	}
	if _, err := s.StaffSessionByToken(ctx, token); err != store.ErrNotFound {
		t.Errorf("staff session after disable: %v", err)
	}
	if out, _ := do("staff", "list"); !strings.Contains(out, "support@acme.test") || !strings.Contains(out, "disabled") {
		t.Errorf("staff list:\n%s", out)
	}
	if _, err := do("staff", "disable", "support@acme.test"); err == nil || !strings.Contains(err.Error(), "already disabled") {
		t.Errorf("second disable: %v", err)
	}
	if _, err := do("staff", "disable", "nobody@acme.test"); err == nil || !strings.Contains(err.Error(), "no staff account") {
		t.Errorf("unknown staff: %v", err)
	}
	if out, _ := do("audit", "verify"); !strings.HasPrefix(out, "OK:") {
		t.Errorf("audit verify after disable: %s", out)
	}
}

func TestFreshInstallMakesItsFirstAdminAndAnAccountFromTheCommandLine(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	var name string
	if err := db.Get(&name, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}
	vars := env(map[string]string{"DATABASE_URL": storetest.ServerURL(name), "PUBLIC_URL": "https://licences.example.test"})
	do := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut, vars)
		return out.String(), err
	}
	if _, err := do("staff", "create", "root@example.test", "--role", "root"); err == nil || !strings.Contains(err.Error(), "--role") {
		t.Errorf("an unknown role: %v", err)
	}
	out, err := do("staff", "create", "root@example.test", "--role", "admin")
	if err != nil || !strings.Contains(out, "https://licences.example.test/admin/password/") || !strings.Contains(out, "two-factor") {
		t.Fatalf("staff create: %v\n%s", err, out)
	}
	if _, err := do("accounts", "create", "Wayne Enterprises", "--owner", "bruce@wayne.test", "--plan", "nope"); err == nil {
		t.Error("an unknown plan was accepted")
	}
	if _, err := do("catalog", "apply", "../../store/demo_catalog.yaml"); err != nil {
		t.Fatal(err)
	}
	out, err = do("accounts", "create", "Wayne Enterprises", "--owner", "bruce@wayne.test", "--plan", "team", "--seats", "5", "--external-id", "crm-9")
	if err != nil || !strings.Contains(out, "wayne-enterprises") {
		t.Fatalf("accounts create: %v\n%s", err, out)
	}
	if _, err := do("accounts", "create", "Wayne Again", "--owner", "alfred@wayne.test", "--external-id", "crm-9"); err == nil || !strings.Contains(err.Error(), "--external-id") {
		t.Errorf("a duplicate external id: %v", err)
	}
	s := store.New(db, nil)
	var seats int
	if err := s.DB().Get(&seats, `SELECT s.seats FROM subscription s JOIN account a ON a.id = s.account_id WHERE a.external_id = 'crm-9'`); err != nil || seats != 5 {
		t.Errorf("granted seats = %d, %v", seats, err)
	}
	var invited int
	if err := s.DB().Get(&invited, `SELECT count(*) FROM outbox WHERE to_address = 'bruce@wayne.test' AND kind = 'invitation'`); err != nil || invited != 1 {
		t.Errorf("owner invitations = %d, %v", invited, err)
	}
}
