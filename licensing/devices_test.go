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
