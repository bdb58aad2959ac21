package licensing

import (
	"errors"
	"testing"
	"time"
)

func TestActivationRequestRoundTripAndRefusals(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	data, err := NewActivationRequest("serial-1", "lab", "linux", "ann@x.test", "nonce-0123", now)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseActivationRequest(data)
	if err != nil || r.Fingerprint != "serial-1" || r.Nonce != "nonce-0123" || !r.CreatedAt.Equal(now) {
		t.Fatalf("round trip: %+v %v", r, err)
	}
	for name, bad := range map[string]string{
		"not json":       `nope`,
		"other format":   `{"format":"x","fingerprint":"f","nonce":"0123456789"}`,
		"no fingerprint": `{"format":"entitle-activation-request/v1","fingerprint":" ","nonce":"0123456789"}`,
		"short nonce":    `{"format":"entitle-activation-request/v1","fingerprint":"f","nonce":"1"}`,
		"unknown field":  `{"format":"entitle-activation-request/v1","fingerprint":"f","nonce":"0123456789","licence":"free"}`,
	} {
		if _, err := ParseActivationRequest([]byte(bad)); !errors.Is(err, ErrActivationRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if HashFingerprint("a") == HashFingerprint("b") || HashFingerprint(" a ") != HashFingerprint("a") {
		t.Error("fingerprint hashes")
	}
}

func TestCatalogValidatesDeviceFeatures(t *testing.T) {
	t.Parallel()
	plan := func(features map[string]any) []PlanSpec {
		return []PlanSpec{{Key: "p", Name: "P", Features: features}}
	}
	good := Catalog{Products: []ProductSpec{{Key: "cad", Name: "CAD", Features: []Feature{
		{Key: "floating", Name: "Floating", Kind: Concurrent, LeaseTTLSeconds: 300},
		{Key: "seats_ws", Name: "Workstations", Kind: Machines, Per: PerSeat},
	}, Plans: plan(map[string]any{"floating": 5, "seats_ws": "unlimited"})}}}
	products, err := good.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if v := products[0].Plans[0].Values["floating"]; !v.Enabled || *v.Limit != 5 {
		t.Fatalf("pool value %+v", v)
	}
	if products[0].Features[0].LeaseTTL() != 5*time.Minute || (Feature{Kind: Concurrent}).LeaseTTL() != DefaultLeaseTTL {
		t.Fatal("lease TTL")
	}
	bad := Catalog{Products: []ProductSpec{{Key: "cad", Name: "CAD", Features: []Feature{
		{Key: "a", Name: "A", Kind: Machines},                    // no per
		{Key: "b", Name: "B", Kind: Boolean, LeaseTTLSeconds: 5}, // TTL on a boolean
		{Key: "c", Name: "C", Kind: Concurrent, Per: PerAccount}, // per on a concurrent
		{Key: "d", Name: "D", Kind: Concurrent, LeaseTTLSeconds: -1},
	}, Plans: plan(map[string]any{"a": true})}}}
	_, err = bad.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 5 {
		t.Fatalf("problems: %v", err)
	}
}

func FuzzParseActivationRequest(f *testing.F) {
	data, _ := NewActivationRequest("serial-1", "lab", "linux", "ann@x.test", "nonce-0123", time.Unix(0, 0))
	f.Add(data)
	f.Add([]byte(`{"format":"entitle-activation-request/v1"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := ParseActivationRequest(in)
		if err != nil {
			return
		}
		if CheckFingerprint(r.Fingerprint) != nil || len(r.Nonce) < 8 {
			t.Fatalf("accepted a request the rules refuse: %+v", r)
		}
	})
}

func TestMachineHeartbeatPolicy(t *testing.T) {
	t.Parallel()
	catalog := func(fs ...Feature) Catalog {
		return Catalog{Products: []ProductSpec{{Key: "cad", Name: "CAD", Features: fs,
			Plans: []PlanSpec{{Key: "p", Name: "P", Features: map[string]any{}}}}}}
	}
	ws := Feature{Key: "ws", Name: "Workstations", Kind: Machines, Per: PerAccount}
	for _, tc := range []struct {
		heartbeat string
		onDead    DeadMachinePolicy
		problems  int
	}{
		{"", "", 0}, {"10m", "", 0}, {"10m", KeepDeadMachines, 0}, {"24h", DeactivateDeadMachines, 0},
		{"", DeactivateDeadMachines, 1}, // no window: nothing is ever dead
		{"30s", "", 1}, {"2400h", "", 1}, {"ten minutes", "", 1}, {"10m", "forget", 1},
	} {
		f := ws
		f.Heartbeat, f.OnDead = tc.heartbeat, tc.onDead
		_, err := catalog(f).Validate()
		var ve *ValidationError
		if got := 0; errors.As(err, &ve) {
			got = len(ve.Problems)
			if got != tc.problems {
				t.Errorf("heartbeat %q on_dead %q: %v", tc.heartbeat, tc.onDead, ve.Problems)
			}
		} else if err != nil || tc.problems != 0 {
			t.Errorf("heartbeat %q on_dead %q: %v, want %d problems", tc.heartbeat, tc.onDead, err, tc.problems)
		}
	}
	_, err := catalog(Feature{Key: "f", Name: "F", Kind: Concurrent, Heartbeat: "10m", OnDead: KeepDeadMachines}).Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 {
		t.Fatalf("a heartbeat policy on a concurrent feature: %v", err)
	}

	f := ws
	f.Heartbeat, f.OnDead = "10m", DeactivateDeadMachines
	if f.HeartbeatWindow() != 10*time.Minute || !f.DeactivatesDead() || ws.HeartbeatWindow() != 0 || ws.DeactivatesDead() {
		t.Fatal("window or policy misread")
	}
	seen := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	if MachineDead(seen, 10*time.Minute, seen.Add(10*time.Minute)) || !MachineDead(seen, 10*time.Minute, seen.Add(10*time.Minute+time.Nanosecond)) ||
		MachineDead(seen, 0, seen.Add(1000*time.Hour)) {
		t.Fatal("dead at the wrong moment")
	}
	for d, want := range map[time.Duration]string{10 * time.Minute: "10m", 90 * time.Second: "1m30s", 36 * time.Hour: "36h", 90 * time.Minute: "1h30m", 0: ""} {
		if got := HeartbeatText(d); got != want {
			t.Errorf("HeartbeatText(%v) = %q, want %q", d, got, want)
		}
	}
}
