package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

func TestTheExampleActivatesOnlineAndOfflineAndRefusesAnotherMachine(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	srv := httptest.NewServer(web.New(web.Options{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SessionSecret: []byte("example-secret-example-secret-example")}))
	defer srv.Close()
	ctx := context.Background()
	acct, _ := s.AccountBySlug(ctx, "globex")
	key, _, err := s.CreateAPIKey(ctx, store.SystemActor("test"), acct.ID, "example", []string{store.ScopeCheck})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lic, keys, req := filepath.Join(dir, "m.licence.json"), filepath.Join(dir, "keys.json"), filepath.Join(dir, "req.json")
	do := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(args, &out, http.DefaultClient, time.Now)
		return out.String(), err
	}
	if out, err := do("activate", "-url", srv.URL, "-key", key, "-account", "globex", "-user", "alice@globex.test",
		"-name", "cad-1", "-fingerprint", "fp-cad-1", "-licence", lic, "-keys", keys); err != nil {
		t.Fatalf("activate: %v %s", err, out)
	}
	out, err := do("verify", "-licence", lic, "-keys", keys, "-fingerprint", "fp-cad-1", "-feature", "dashboards")
	if err != nil || !strings.Contains(out, "dashboards: true (ok)") {
		t.Fatalf("verify on its machine: %v %s", err, out)
	}
	if _, err := do("verify", "-licence", lic, "-keys", keys, "-fingerprint", "fp-other"); !errors.Is(err, licensing.ErrLicenceWrongMachine) {
		t.Fatalf("verify on another machine: %v", err)
	}

	// Air-gapped: the request file, activated as the portal does, answered
	// with a licence that echoes its nonce.
	if out, err := do("request", "-user", "bob@globex.test", "-name", "lab-9", "-fingerprint", "fp-lab-9", "-out", req); err != nil {
		t.Fatalf("request: %v %s", err, out)
	}
	data, _ := os.ReadFile(req)
	ar, err := licensing.ParseActivationRequest(data)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := s.ActivateMachine(ctx, store.SystemActor("portal"), acct.ID, store.MachineRequest{Fingerprint: ar.Fingerprint, Name: ar.Name, User: ar.User})
	if err != nil {
		t.Fatal(err)
	}
	file, _, err := s.MachineLicence(ctx, acct.ID, m.PublicID, ar.Nonce, store.LicenceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	offline := filepath.Join(dir, "lab.licence.json")
	if err := os.WriteFile(offline, file, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := do("verify", "-licence", offline, "-keys", keys, "-fingerprint", "fp-lab-9", "-nonce", ar.Nonce); err != nil {
		t.Fatalf("verify the air-gapped licence: %v %s", err, out)
	}
	if _, err := do("verify", "-licence", offline, "-keys", keys, "-fingerprint", "fp-lab-9", "-nonce", "another-nonce"); !errors.Is(err, licensing.ErrLicenceWrongMachine) {
		t.Fatalf("a licence answering another request: %v", err)
	}
}
