package licensing

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Feature kinds for software that runs on devices.
const (
	// Concurrent features are floating licences: the plan's number is the
	// pool of leases that may be checked out at once.
	Concurrent FeatureKind = "concurrent"
	// Machines features cap activated machines, per seat holder or per
	// account (Feature.Per).
	Machines FeatureKind = "machines"
)

// Counted reports whether the kind's plan value is a number that usage,
// leases or machines count against (limit, metered, concurrent, machines).
func (k FeatureKind) Counted() bool {
	return k == Limit || k == Metered || k == Concurrent || k == Machines
}

// MachinesPer says what a machines feature's limit counts.
type MachinesPer string

const (
	PerSeat    MachinesPer = "seat"    // each seat holder may activate this many machines
	PerAccount MachinesPer = "account" // the account as a whole may activate this many
)

// DefaultLeaseTTL is how long a lease lives without a heartbeat when the
// catalog does not say.
const DefaultLeaseTTL = 2 * time.Minute

// maxLeaseTTL keeps a forgotten lease from holding a slot for days.
const maxLeaseTTL = 24 * time.Hour

// LeaseTTL is how long a lease of f lives without a heartbeat.
func (f Feature) LeaseTTL() time.Duration {
	if f.LeaseTTLSeconds <= 0 {
		return DefaultLeaseTTL
	}
	return time.Duration(f.LeaseTTLSeconds) * time.Second
}

// deviceFields checks the fields that belong to device kinds only.
func (v *validator) deviceFields(at Problem, f Feature) {
	if f.Kind != Concurrent && f.LeaseTTLSeconds != 0 {
		v.add(at, "lease_ttl_seconds", "only concurrent features have a lease TTL, got %d for a %s feature", f.LeaseTTLSeconds, f.Kind)
	}
	if f.Kind == Concurrent && (f.LeaseTTLSeconds < 0 || time.Duration(f.LeaseTTLSeconds)*time.Second > maxLeaseTTL) {
		v.add(at, "lease_ttl_seconds", "want between 1 and %d seconds (0 for the default of %d), got %d",
			int(maxLeaseTTL.Seconds()), int(DefaultLeaseTTL.Seconds()), f.LeaseTTLSeconds)
	}
	v.machineHeartbeatFields(at, f)
	switch {
	case f.Kind == Machines && f.Per != PerSeat && f.Per != PerAccount:
		v.add(at, "per", `a machines feature needs per "seat" or "account", got %q`, f.Per)
	case f.Kind != Machines && f.Per != "":
		v.add(at, "per", "only machines features have per, got %q for a %s feature", f.Per, f.Kind)
	}
}

// DeadMachinePolicy says what becomes of a machine that misses its
// heartbeat window: it is shown as dead either way; "deactivate" also frees
// its place, "keep" (the default) leaves it to a person.
type DeadMachinePolicy string

const (
	KeepDeadMachines       DeadMachinePolicy = "keep"
	DeactivateDeadMachines DeadMachinePolicy = "deactivate"
)

// Bounds of a machine heartbeat window: shorter would deactivate machines
// for a network hiccup; longer is no heartbeat at all.
const (
	minMachineHeartbeat = time.Minute
	maxMachineHeartbeat = 90 * 24 * time.Hour
)

// HeartbeatWindow is how long a machine of f may go unheard before it is
// dead (0: never; the catalog requires no heartbeat).
func (f Feature) HeartbeatWindow() time.Duration {
	d, err := time.ParseDuration(f.Heartbeat)
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// DeactivatesDead reports whether a dead machine of f is deactivated.
func (f Feature) DeactivatesDead() bool {
	return f.OnDead == DeactivateDeadMachines && f.HeartbeatWindow() > 0
}

// MachineDead reports whether a machine last seen at lastSeen has missed
// its heartbeat window by now. Exactly at the window's end it is still
// alive: a machine is never dead before its window has passed.
func MachineDead(lastSeen time.Time, window time.Duration, now time.Time) bool {
	return window > 0 && now.Sub(lastSeen) > window
}

// HeartbeatText writes a window as the catalog does ("10m", "1h30m").
func HeartbeatText(window time.Duration) string {
	if window <= 0 {
		return ""
	}
	s := window.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// machineHeartbeatFields checks a machines feature's heartbeat policy.
func (v *validator) machineHeartbeatFields(at Problem, f Feature) {
	if f.Kind != Machines {
		if f.Heartbeat != "" {
			v.add(at, "heartbeat", "only machines features have a heartbeat, got %q for a %s feature", f.Heartbeat, f.Kind)
		}
		if f.OnDead != "" {
			v.add(at, "on_dead", "only machines features have on_dead, got %q for a %s feature", f.OnDead, f.Kind)
		}
		return
	}
	if f.Heartbeat != "" {
		d, err := time.ParseDuration(f.Heartbeat)
		if err != nil || d < minMachineHeartbeat || d > maxMachineHeartbeat || d%time.Second != 0 {
			v.add(at, "heartbeat", `want a whole number of seconds between %s and %s, such as "10m" or "24h", got %q`,
				HeartbeatText(minMachineHeartbeat), HeartbeatText(maxMachineHeartbeat), f.Heartbeat)
		}
	}
	switch {
	case f.OnDead != "" && f.OnDead != KeepDeadMachines && f.OnDead != DeactivateDeadMachines:
		v.add(at, "on_dead", `want "keep" or "deactivate", got %q`, f.OnDead)
	case f.OnDead == DeactivateDeadMachines && f.Heartbeat == "":
		v.add(at, "on_dead", `"deactivate" needs a heartbeat window: without one no machine is ever dead`)
	}
}

// HashFingerprint is how a machine's fingerprint is kept and compared: the
// server stores only this, and a machine licence carries only this, so a
// fingerprint (often a hardware serial) never leaves the machine in clear
// after activation.
func HashFingerprint(fingerprint string) string {
	sum := sha256.Sum256([]byte("entitle/machine/v1\n" + strings.TrimSpace(fingerprint)))
	return hex.EncodeToString(sum[:])
}

// CheckFingerprint is the rule for a fingerprint an application sends:
// something, and not absurdly long.
func CheckFingerprint(fingerprint string) error {
	fp := strings.TrimSpace(fingerprint)
	switch {
	case fp == "":
		return errors.New("the machine's fingerprint must not be empty")
	case len(fp) > 1024:
		return fmt.Errorf("the machine's fingerprint has %d bytes, at most 1024", len(fp))
	case !utf8.ValidString(fp):
		return errors.New("the machine's fingerprint must be UTF-8 text")
	}
	return nil
}

// MachineBinding ties a licence to one activated machine.
type MachineBinding struct {
	ID              string `json:"machine_id"`
	FingerprintHash string `json:"fingerprint_hash"`
	Name            string `json:"name,omitempty"`
	// Nonce echoes the air-gapped activation request the licence answers,
	// so the application can tell it is the answer to its own request.
	Nonce string `json:"nonce,omitempty"`
}

// ErrLicenceWrongMachine: the licence is bound to another machine, or to
// none when a machine licence is required.
var ErrLicenceWrongMachine = errors.New("licence is not for this machine")

// VerifyMachineLicence verifies a machine licence file as VerifyLicence does
// and then checks that it is bound to the running machine, whose
// fingerprint the application computes the same way it did when activating.
func VerifyMachineLicence(file []byte, keys KeyRing, fingerprint string, now time.Time) (*Licence, error) {
	l, err := VerifyLicence(file, keys, now)
	if err != nil {
		return nil, err
	}
	if l.Machine == nil {
		return nil, fmt.Errorf("%w: the licence is not bound to a machine", ErrLicenceWrongMachine)
	}
	if l.Machine.FingerprintHash != HashFingerprint(fingerprint) {
		return nil, fmt.Errorf("%w: it was issued for machine %s", ErrLicenceWrongMachine, l.Machine.ID)
	}
	return l, nil
}

// ActivationRequestFormat names the air-gapped activation request file.
const ActivationRequestFormat = "entitle-activation-request/v1"

// ActivationRequest is the file an application on a machine without network
// access writes; a customer admin uploads it on the portal and brings back
// the machine licence. It is signed by nothing: it carries no secret, only
// what activation over the API would send, and a nonce the licence echoes.
type ActivationRequest struct {
	Format      string    `json:"format"`
	Fingerprint string    `json:"fingerprint"`
	Name        string    `json:"name"`
	Platform    string    `json:"platform,omitempty"`
	User        string    `json:"user,omitempty"`
	Feature     string    `json:"feature,omitempty"`
	Nonce       string    `json:"nonce"`
	CreatedAt   time.Time `json:"created_at"`
}

// ErrActivationRequest: an uploaded file is not an activation request.
var ErrActivationRequest = errors.New("not an Entitle activation request")

// ParseActivationRequest reads an activation request file strictly.
func ParseActivationRequest(data []byte) (ActivationRequest, error) {
	var r ActivationRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return ActivationRequest{}, fmt.Errorf("%w: %v", ErrActivationRequest, err)
	}
	if r.Format != ActivationRequestFormat {
		return ActivationRequest{}, fmt.Errorf("%w: format %q, want %q", ErrActivationRequest, r.Format, ActivationRequestFormat)
	}
	if err := CheckFingerprint(r.Fingerprint); err != nil {
		return ActivationRequest{}, fmt.Errorf("%w: %v", ErrActivationRequest, err)
	}
	if n := len(r.Nonce); n < 8 || n > 128 {
		return ActivationRequest{}, fmt.Errorf("%w: the nonce must have 8 to 128 characters", ErrActivationRequest)
	}
	return r, nil
}

// NewActivationRequest writes the request file for this machine.
func NewActivationRequest(fingerprint, name, platform, user, nonce string, now time.Time) ([]byte, error) {
	r := ActivationRequest{Format: ActivationRequestFormat, Fingerprint: fingerprint, Name: name, Platform: platform,
		User: user, Nonce: nonce, CreatedAt: now.UTC()}
	if err := CheckFingerprint(fingerprint); err != nil {
		return nil, err
	}
	return json.MarshalIndent(r, "", "  ")
}
