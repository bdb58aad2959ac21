package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// TestTheExampleChecksOnlineAndOffline runs the example against a real
// server: the same check online and from the licence it fetched.
func TestTheExampleChecksOnlineAndOffline(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	srv := httptest.NewServer(web.New(web.Options{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SessionSecret: []byte("example-secret-example-secret-example")}))
	defer srv.Close()
	acct, _ := s.AccountBySlug(context.Background(), "globex")
	key, _, err := s.CreateAPIKey(context.Background(), store.SystemActor("test"), acct.ID, "example", store.Scopes)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lic, keys := filepath.Join(dir, "globex.licence.json"), filepath.Join(dir, "keys.json")
	do := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(args, &out, http.DefaultClient, time.Now); err != nil {
			t.Fatalf("check %s: %v", strings.Join(args, " "), err)
		}
		return out.String()
	}
	common := []string{"-url", srv.URL, "-key", key, "-account", "globex"}
	do(append([]string{"fetch", "-licence", lic, "-keys", keys}, common...)...)
	for _, c := range []struct{ feature, user, want string }{
		{"exports", "", "the account may use exports: false (not_in_plan)"},
		{"dashboards", "alice@globex.test", "alice@globex.test may use dashboards: true (ok)"},
		{"dashboards", "frank@globex.test", "frank@globex.test may use dashboards: false (no_seat)"},
		{"api_calls", "", "the account may use api_calls: true (ok), 4200 of 50000 used, 45800 left"},
	} {
		on := do(append([]string{"online", "-feature", c.feature, "-user", c.user}, common...)...)
		off := do("offline", "-licence", lic, "-keys", keys, "-feature", c.feature, "-user", c.user)
		if on != "online: "+c.want+"\n" || off != "offline: "+c.want+"\n" {
			t.Errorf("%s/%s:\n%s%s", c.feature, c.user, on, off)
		}
	}
	// A tampered file is refused with a clear message.
	data, _ := os.ReadFile(lic)
	tampered := bytes.Replace(data, []byte(`"payload": "`), []byte(`"payload": "AAAA`), 1)
	_ = os.WriteFile(lic, tampered, 0o644)
	var out bytes.Buffer
	err = run([]string{"offline", "-licence", lic, "-keys", keys, "-feature", "exports"}, &out, http.DefaultClient, time.Now)
	if err == nil || !strings.Contains(err.Error(), "changed after signing") {
		t.Errorf("tampered licence: %v", err)
	}
}
