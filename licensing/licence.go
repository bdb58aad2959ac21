package licensing

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// LicenceFormat names the offline licence file format. A verifier refuses
// any other, so a future format cannot be misread as this one.
const LicenceFormat = "entitle-licence/v1"

// Errors VerifyLicence returns, each wrapped with details. A vendor's
// application tells them apart with errors.Is.
var (
	// ErrLicenceMalformed: the file is not an Entitle licence at all (not
	// JSON, another format, broken encoding).
	ErrLicenceMalformed = errors.New("licence file is malformed")
	// ErrLicenceUnknownKey: the file names a signing key the verifier does
	// not trust (signed by another vendor, or with a key retired or not yet
	// distributed).
	ErrLicenceUnknownKey = errors.New("licence is signed with an unknown key")
	// ErrLicenceTampered: the signature does not match the content under the
	// key the file names: the content was changed after signing, or someone
	// else signed it in that key's name.
	ErrLicenceTampered = errors.New("licence signature does not match its content")
	// ErrLicenceExpired: the licence is past its validity and grace period.
	ErrLicenceExpired = errors.New("licence has expired")
)

// Licence is what an offline licence file says: the account's evaluation
// inputs (the same AccountState the server checks against), valid until
// ValidUntil and usable in grace until GraceUntil, after which it is
// refused. Entitlements is the evaluation at IssuedAt, for people reading
// the file; Check re-evaluates at the time it is asked.
type Licence struct {
	ID           string              `json:"licence_id"`
	KeyID        string              `json:"key_id"`
	IssuedAt     time.Time           `json:"issued_at"`
	ValidUntil   time.Time           `json:"valid_until"`
	GraceUntil   time.Time           `json:"grace_until"`
	Entitlements []IssuedEntitlement `json:"entitlements"`
	State        AccountState        `json:"state"`
	// Machine binds the licence to one activated machine (nil: the
	// account's licence, usable anywhere). VerifyMachineLicence checks it.
	Machine *MachineBinding `json:"machine,omitempty"`
	checker *Checker        // built by VerifyLicence
	_       struct{}        // keep keyed literals
}

// IssuedEntitlement is one feature's decision when the licence was issued.
type IssuedEntitlement struct {
	Product string `json:"product"`
	Feature string `json:"feature"`
	Decision
}

// licenceFile is the file as written: the payload's exact bytes (base64) and
// a signature over them, so that verification never depends on how a JSON
// encoder orders or spaces anything.
type licenceFile struct {
	Format    string `json:"format"`
	KeyID     string `json:"key_id"`
	Payload   string `json:"payload"`
	Signature string `json:"signature"`
}

// signingInput binds the format and the key id into what is signed, so
// neither can be swapped without breaking the signature.
func signingInput(keyID string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString(LicenceFormat + "\n" + keyID + "\n")
	b.Write(payload)
	return b.Bytes()
}

// SignLicence writes the licence file for l, signed with priv under keyID.
// It fills l.KeyID and l.Entitlements (evaluated at l.IssuedAt).
func SignLicence(l Licence, keyID string, priv ed25519.PrivateKey) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign licence: private key has %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	if keyID == "" {
		return nil, errors.New("sign licence: empty key id")
	}
	l.KeyID = keyID
	l.Entitlements = nil
	for _, r := range NewChecker(l.State).CheckAll("", l.IssuedAt) {
		l.Entitlements = append(l.Entitlements, IssuedEntitlement{Product: r.Product, Feature: r.Feature.Key, Decision: r.Decision})
	}
	payload, err := json.Marshal(l)
	if err != nil {
		return nil, fmt.Errorf("sign licence: %w", err)
	}
	sig := ed25519.Sign(priv, signingInput(keyID, payload))
	return json.MarshalIndent(licenceFile{
		Format: LicenceFormat, KeyID: keyID,
		Payload:   base64.StdEncoding.EncodeToString(payload),
		Signature: base64.StdEncoding.EncodeToString(sig),
	}, "", "  ")
}

// VerifyLicence checks a licence file against the trusted public keys and
// the time now, and returns the licence ready to answer checks. In order:
// the file must be a licence (ErrLicenceMalformed), name a trusted key
// (ErrLicenceUnknownKey), carry a signature that key made over exactly this
// content (ErrLicenceTampered), and be within its grace period
// (ErrLicenceExpired). Nothing in the payload is read before the signature
// holds.
func VerifyLicence(file []byte, keys KeyRing, now time.Time) (*Licence, error) {
	var f licenceFile
	dec := json.NewDecoder(bytes.NewReader(file))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLicenceMalformed, err)
	}
	if f.Format != LicenceFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrLicenceMalformed, f.Format, LicenceFormat)
	}
	payload, err := base64.StdEncoding.DecodeString(f.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrLicenceMalformed, err)
	}
	sig, err := base64.StdEncoding.DecodeString(f.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: signature is not a base64 Ed25519 signature", ErrLicenceMalformed)
	}
	pub, ok := keys[f.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w: key %q is not among the %d trusted keys %v", ErrLicenceUnknownKey, f.KeyID, len(keys), keys.IDs())
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, signingInput(f.KeyID, payload), sig) {
		return nil, fmt.Errorf("%w (key %q)", ErrLicenceTampered, f.KeyID)
	}
	var l Licence
	if err := json.Unmarshal(payload, &l); err != nil {
		return nil, fmt.Errorf("%w: signed payload: %v", ErrLicenceMalformed, err)
	}
	if l.KeyID != f.KeyID {
		return nil, fmt.Errorf("%w: payload names key %q, file names %q", ErrLicenceTampered, l.KeyID, f.KeyID)
	}
	if err := l.usableAt(now); err != nil {
		return nil, err
	}
	l.checker = NewChecker(l.State)
	return &l, nil
}

func (l *Licence) usableAt(now time.Time) error {
	if !now.Before(l.GraceUntil) {
		return fmt.Errorf("%w: valid until %s, grace ended %s", ErrLicenceExpired,
			l.ValidUntil.UTC().Format(time.RFC3339), l.GraceUntil.UTC().Format(time.RFC3339))
	}
	return nil
}

// InGrace reports whether the licence is past ValidUntil but still usable:
// the application should fetch a fresh licence.
func (l *Licence) InGrace(now time.Time) bool {
	return !now.Before(l.ValidUntil) && now.Before(l.GraceUntil)
}

// Check answers a check from the licence with the same evaluation the
// server uses: featureKey for the account, or for user (an email or a user
// id) when not empty. It returns ErrLicenceExpired once the grace period is
// over (a long-running application keeps asking the same Licence) and
// ErrUnknownFeature for a feature the licence does not know.
func (l *Licence) Check(featureKey, user string, now time.Time) (CheckResult, error) {
	if err := l.usableAt(now); err != nil {
		return CheckResult{}, err
	}
	if l.checker == nil {
		l.checker = NewChecker(l.State)
	}
	return l.checker.Check(featureKey, user, now)
}
