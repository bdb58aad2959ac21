package licensing

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// KeyRingFormat names the public key file format.
const KeyRingFormat = "entitle-keys/v1"

// KeyRing is the set of public keys a verifier trusts, by key id. The server
// signs with its newest key; older keys stay in the ring until retired, so
// licences signed before a rotation keep verifying.
type KeyRing map[string]ed25519.PublicKey

// IDs lists the ring's key ids, sorted.
func (r KeyRing) IDs() []string {
	ids := make([]string, 0, len(r))
	for id := range r {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// PublicKeyInfo is one key of a public key file.
type PublicKeyInfo struct {
	KeyID     string    `json:"key_id"`
	Algorithm string    `json:"algorithm"`  // always "Ed25519"
	PublicKey string    `json:"public_key"` // base64, 32 bytes
	CreatedAt time.Time `json:"created_at"`
}

type keyFile struct {
	Format string          `json:"format"`
	Keys   []PublicKeyInfo `json:"keys"`
}

// MarshalKeyRing writes a public key file: what the portal offers for
// download and what a vendor's application embeds.
func MarshalKeyRing(keys []PublicKeyInfo) ([]byte, error) {
	if keys == nil {
		keys = []PublicKeyInfo{}
	}
	return json.MarshalIndent(keyFile{Format: KeyRingFormat, Keys: keys}, "", "  ")
}

// ParseKeyRing reads a public key file.
func ParseKeyRing(data []byte) (KeyRing, error) {
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("public key file: %w", err)
	}
	if f.Format != KeyRingFormat {
		return nil, fmt.Errorf("public key file: format %q, want %q", f.Format, KeyRingFormat)
	}
	ring := KeyRing{}
	for _, k := range f.Keys {
		if k.Algorithm != "Ed25519" {
			return nil, fmt.Errorf("public key file: key %q: algorithm %q, want Ed25519", k.KeyID, k.Algorithm)
		}
		pub, err := base64.StdEncoding.DecodeString(k.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("public key file: key %q is not a base64 Ed25519 public key", k.KeyID)
		}
		ring[k.KeyID] = ed25519.PublicKey(pub)
	}
	if len(ring) == 0 {
		return nil, fmt.Errorf("public key file holds no keys")
	}
	return ring, nil
}
