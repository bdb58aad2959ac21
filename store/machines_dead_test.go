package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// withHeartbeat is the demo catalog with a heartbeat policy on the
// workstations feature (2 machines per seat holder on team).
func withHeartbeat(t *testing.T, s *store.Store, window, onDead string) {
	t.Helper()
	policy := "per: seat\n        heartbeat: " + window
	if onDead != "" {
		policy += "\n        on_dead: " + onDead
	}
	if _, err := applyYAML(t, s, strings.Replace(string(store.DemoCatalog()), "per: seat", policy, 1)); err != nil {
		t.Fatal(err)
	}
}

func (c *fixedClock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

func TestDeadMachinesAreDeactivatedAfterTheirWindowAndNeverBefore(t *testing.T) {
	t.Parallel()
	clk := &fixedClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s := storetest.NewDemo(t, clk)
	ctx := context.Background()
	withHeartbeat(t, s, "10m", "deactivate")
	stored, err := s.StoredCatalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range stored.Products {
		for _, f := range p.Features {
			if f.Key == "workstations" && (f.Heartbeat != "10m" || f.OnDead != licensing.DeactivateDeadMachines) {
				t.Fatalf("the stored catalog says heartbeat %q on_dead %q", f.Heartbeat, f.OnDead)
			}
		}
	}
	globex := accountID(t, s, "globex")
	app := store.Actor{Type: "api_key", Label: "desktop app"}
	activate := func(fp string) (store.Machine, error) {
		m, _, err := s.ActivateMachine(ctx, app, globex, store.MachineRequest{Fingerprint: fp, Name: "ws-" + fp, User: "alice@globex.test"})
		return m, err
	}
	first, err := activate("fp-1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := activate("fp-2")
	if err != nil {
		t.Fatal(err)
	}
	dead := func() map[string]bool {
		t.Helper()
		ms, err := s.ActiveMachines(ctx, globex, 0)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, m := range ms {
			out[m.PublicID] = m.Dead(clk.Now())
		}
		return out
	}

	// At the window's very end both are alive; the sweep takes nothing.
	clk.add(10 * time.Minute)
	if n, err := s.SweepDeadMachines(ctx); err != nil || n != 0 {
		t.Fatalf("sweep at the window's end: %d %v", n, err)
	}
	if d := dead(); len(d) != 2 || d[first.PublicID] || d[second.PublicID] {
		t.Fatalf("at the window's end: %v", d)
	}
	if _, err := s.MachineHeartbeat(ctx, globex, second.PublicID); err != nil {
		t.Fatalf("heartbeat at the window's end: %v", err)
	}

	// A second later the first is dead; the second heartbeat just now.
	clk.add(time.Second)
	if d := dead(); !d[first.PublicID] || d[second.PublicID] {
		t.Fatalf("a second past the window: %v", d)
	}
	if n, err := s.SweepDeadMachines(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if d := dead(); len(d) != 1 || d[second.PublicID] {
		t.Fatalf("after the sweep: %v", d)
	}
	var audited int
	if err := s.DB().Get(&audited, `SELECT count(*) FROM audit_entry WHERE action = 'machine.deactivate'
		AND target_id = $1 AND actor_type = 'system' AND actor_label = 'missed heartbeat'`, first.PublicID); err != nil || audited != 1 {
		t.Fatalf("the sweep's deactivation audited %d times (%v)", audited, err)
	}
	// The application is told why at its next heartbeat, and so is a
	// licence request.
	if _, err := s.MachineHeartbeat(ctx, globex, first.PublicID); !errors.Is(err, store.ErrMachineDead) || !errors.Is(err, store.ErrMachineDeactivated) {
		t.Fatalf("heartbeat of a swept machine: %v", err)
	}
	if _, _, err := s.MachineLicence(ctx, globex, first.PublicID, "", store.LicenceOptions{}); !errors.Is(err, store.ErrMachineDead) {
		t.Fatalf("licence of a swept machine: %v", err)
	}
	// Its place is free.
	third, err := activate("fp-3")
	if err != nil {
		t.Fatalf("activating in the freed place: %v", err)
	}

	// Past the window, a heartbeat that beats the sweep is refused all
	// the same, and an activation frees dead places before it counts.
	clk.add(11 * time.Minute)
	if _, err := s.MachineHeartbeat(ctx, globex, second.PublicID); !errors.Is(err, store.ErrMachineDead) {
		t.Fatalf("a late heartbeat before the sweep: %v", err)
	}
	if _, err := activate("fp-4"); err != nil {
		t.Fatalf("activating with a dead machine (%s) in the way: %v", third.PublicID, err)
	}
	if _, err := s.MachineHeartbeat(ctx, globex, third.PublicID); !errors.Is(err, store.ErrMachineDead) {
		t.Fatalf("the machine the activation found dead: %v", err)
	}
	if err := s.DB().Get(&audited, `SELECT count(*) FROM audit_entry WHERE action = 'machine.deactivate' AND actor_label = 'missed heartbeat'`); err != nil || audited != 3 {
		t.Fatalf("dead machines audited %d times (%v), want 3", audited, err)
	}
}

func TestDeadMachinesAreKeptByDefaultAndWithoutAHeartbeatNeverDie(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, window, onDead string
		dies                 bool
	}{
		{"no heartbeat required", "", "", false},
		{"heartbeat, default policy", "1h", "", true},
		{"heartbeat, keep", "1h", "keep", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := &fixedClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			s := storetest.NewDemo(t, clk)
			ctx := context.Background()
			if tc.window != "" {
				withHeartbeat(t, s, tc.window, tc.onDead)
			}
			globex := accountID(t, s, "globex")
			app := store.Actor{Type: "api_key", Label: "desktop app"}
			for _, fp := range []string{"fp-1", "fp-2"} {
				if _, _, err := s.ActivateMachine(ctx, app, globex, store.MachineRequest{Fingerprint: fp, Name: fp, User: "alice@globex.test"}); err != nil {
					t.Fatal(err)
				}
			}
			clk.add(365 * 24 * time.Hour)
			if n, err := s.SweepDeadMachines(ctx); err != nil || n != 0 {
				t.Fatalf("sweep: %d %v", n, err)
			}
			ms, _ := s.ActiveMachines(ctx, globex, 0)
			if len(ms) != 2 || ms[0].Dead(clk.Now()) != tc.dies {
				t.Fatalf("after a year: %d machines, dead %v, want %v", len(ms), len(ms) > 0 && ms[0].Dead(clk.Now()), tc.dies)
			}
			// Kept machines still take their places...
			var refused *store.DeviceRefusedError
			if _, _, err := s.ActivateMachine(ctx, app, globex, store.MachineRequest{Fingerprint: "fp-3", Name: "fp-3", User: "alice@globex.test"}); !errors.As(err, &refused) {
				t.Fatalf("a third machine beside two kept ones: %v", err)
			}
			// ...and a heartbeat brings a dead one back to life.
			m, err := s.MachineHeartbeat(ctx, globex, ms[0].PublicID)
			if err != nil || m.Dead(clk.Now()) {
				t.Fatalf("heartbeat of a kept machine: dead %v, %v", m.Dead(clk.Now()), err)
			}
		})
	}
}
