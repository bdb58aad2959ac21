package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/sdk/entitle"
	"github.com/entitle-dev/entitle/store"
)

// While a desktop application runs (it activates its machine and holds a
// floating licence through the SDK), the customer's admin watches both
// appear on the Devices page, deactivates the machine and releases the
// licence, and the application is told.
func TestAdminSeesTheRunningAppsDeviceAndLeaseAndTakesThemBack(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	ctx := context.Background()
	acct, err := s.store.AccountBySlug(ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := s.store.CreateAPIKey(ctx, store.SystemActor("e2e"), acct.ID, "desktop app", store.Scopes)
	if err != nil {
		t.Fatal(err)
	}
	s.login("admin@globex.test", store.DemoPassword)
	s.run(
		waitVisible(`nav a[href="/devices"]`),
		press(`nav a[href="/devices"]`),
		waitVisible(tid("no-machines")),
		waitVisible(tid("no-leases")),
	)

	// The application starts: it activates this machine and checks out a
	// floating licence.
	api := func(method, path, body string) int {
		req, _ := http.NewRequest(method, s.base+"/api/v1/accounts/globex"+path, bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if status := api(http.MethodPost, "/machines", `{"fingerprint":"e2e-ws-42","name":"cad-ws-42","platform":"linux","user":"alice@globex.test"}`); status != http.StatusCreated {
		t.Fatalf("activation: %d", status)
	}
	m, err := s.store.ActiveMachines(ctx, acct.ID, 0)
	if err != nil || len(m) != 1 {
		t.Fatalf("machines: %v %v", m, err)
	}
	res, err := http.Get(s.base + "/api/v1/keys")
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := io.ReadAll(res.Body)
	res.Body.Close()
	keys, err := licensing.ParseKeyRing(ring)
	if err != nil {
		t.Fatal(err)
	}
	app, err := entitle.New(entitle.Config{BaseURL: s.base, APIKey: key, Account: "globex", Keys: keys,
		HeartbeatEvery: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	lease, err := app.Lease(ctx, "desktop_floating", "alice@globex.test", "cad-ws-42")
	if err != nil {
		t.Fatal(err)
	}

	// Both appear on the open page (it reloads its lists every few seconds).
	s.run(
		waitVisible(tid("machine-row")),
		waitVisible(tid("lease-row")),
	)
	if got := s.textOf("machine-name"); got != "cad-ws-42" {
		t.Errorf("machine shown = %q", got)
	}
	if got := s.textOf("lease-user"); got != "alice@globex.test" {
		t.Errorf("lease shown for %q", got)
	}
	s.screenshot("device-and-lease")

	// The admin releases the licence: the application hears it at its next
	// heartbeat.
	s.run(
		press(tid("force-release")),
		waitVisible(tid("no-leases")),
	)
	select {
	case <-lease.Lost():
	case <-time.After(20 * time.Second):
		t.Fatal("the application was not told its licence was taken back")
	}
	// And deactivates the machine: its next heartbeat is refused.
	s.run(
		press(tid("deactivate-machine")),
		waitVisible(tid("no-machines")),
	)
	s.screenshot("taken-back")
	if status := api(http.MethodPost, "/machines/"+m[0].PublicID+"/heartbeat", ""); status != http.StatusGone {
		t.Fatalf("the deactivated machine's heartbeat: %d, want 410", status)
	}
	var audited int
	if err := s.store.DB().Get(&audited, `SELECT count(*) FROM audit_entry WHERE account_id = $1
		AND action IN ('lease.force_release', 'machine.deactivate') AND actor_label = 'admin@globex.test'`, acct.ID); err != nil || audited != 2 {
		t.Fatalf("audited %d (%v), want 2", audited, err)
	}
}
