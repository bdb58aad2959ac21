package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/entitle-dev/entitle/licensing"
)

// LicenceOptions say how offline licences are issued.
type LicenceOptions struct {
	Validity time.Duration // how long a licence is valid (default 30 days)
	Grace    time.Duration // how long it keeps working after that (default 7 days)
	// Secret seals new signing keys in the database (AES-256-GCM) and opens
	// sealed ones. Empty: keys are stored unsealed.
	Secret []byte
	// Machine binds the licence to one activated machine (nil: the
	// account's licence).
	Machine *licensing.MachineBinding
}

// SigningKey is a licence signing key as listed (never with its private
// half).
type SigningKey struct {
	ID        string       `db:"id"`
	PublicKey []byte       `db:"public_key"`
	Sealed    bool         `db:"sealed"`
	CreatedAt time.Time    `db:"created_at"`
	RetiredAt sql.NullTime `db:"retired_at"`
}

// Info is the key as a public key file lists it.
func (k SigningKey) Info() licensing.PublicKeyInfo {
	return licensing.PublicKeyInfo{KeyID: k.ID, Algorithm: "Ed25519",
		PublicKey: base64.StdEncoding.EncodeToString(k.PublicKey), CreatedAt: k.CreatedAt}
}

// ErrSealedKey: the signing key is sealed and SIGNING_KEY_SECRET is missing
// or not the secret it was sealed with.
var ErrSealedKey = errors.New("the licence signing key is sealed: set SIGNING_KEY_SECRET to the secret it was sealed with")

// signingKeyLockClass serialises creating the first key ("LK").
const signingKeyLockClass = 0x4c4b

const (
	signingKeysSQL = `SELECT id, public_key, sealed, created_at, retired_at FROM signing_key
ORDER BY retired_at IS NOT NULL, created_at DESC, id DESC`
	activeSigningKeySQL = `SELECT id, private_key, sealed FROM signing_key WHERE retired_at IS NULL
ORDER BY created_at DESC, id DESC LIMIT 1`
	insertSigningKeySQL = `
INSERT INTO signing_key (id, public_key, private_key, sealed, created_at) VALUES ($1, $2, $3, $4, $5)`
	retireSigningKeySQL = `UPDATE signing_key SET retired_at = $2 WHERE id = $1 AND retired_at IS NULL`
	lockSigningKeysSQL  = `SELECT pg_advisory_xact_lock($1, 0)`
)

// RotateSigningKey creates a new signing key, which signs every licence from
// now on. Older keys keep verifying until retired.
func (s *Store) RotateSigningKey(ctx context.Context, actor Actor, secret []byte) (SigningKey, error) {
	var key SigningKey
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		key, _, err = s.createSigningKey(ctx, tx, actor, secret)
		return err
	})
	return key, err
}

func (s *Store) createSigningKey(ctx context.Context, tx *sqlx.Tx, actor Actor, secret []byte) (SigningKey, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SigningKey{}, nil, err
	}
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return SigningKey{}, nil, err
	}
	now := s.Now()
	key := SigningKey{ID: "ed25519-" + now.Format("20060102") + "-" + hex.EncodeToString(suffix), PublicKey: pub,
		Sealed: len(secret) > 0, CreatedAt: now}
	stored := []byte(priv)
	if key.Sealed {
		if stored, err = sealKey(secret, key.ID, priv); err != nil {
			return SigningKey{}, nil, err
		}
	}
	if _, err := tx.ExecContext(ctx, insertSigningKeySQL, key.ID, key.PublicKey, stored, key.Sealed, now); err != nil {
		return SigningKey{}, nil, err
	}
	err = audit(ctx, tx, now, AuditEvent{Actor: actor, Action: "signing_key.create", TargetType: "signing_key",
		TargetID: key.ID, After: map[string]any{"public_key": key.Info().PublicKey, "sealed": key.Sealed}})
	return key, priv, err
}

// SigningKeys lists every signing key, usable ones first, newest first.
func (s *Store) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	var out []SigningKey
	err := s.db.SelectContext(ctx, &out, signingKeysSQL)
	return out, err
}

// PublicKeys lists the keys a licence may be verified with: every key not
// retired, newest (the one signing now) first. On a fresh installation it
// creates the first key, so there is always one to show and embed.
func (s *Store) PublicKeys(ctx context.Context, secret []byte) ([]licensing.PublicKeyInfo, error) {
	for attempt := 0; ; attempt++ {
		keys, err := s.SigningKeys(ctx)
		if err != nil {
			return nil, err
		}
		var out []licensing.PublicKeyInfo
		for _, k := range keys {
			if !k.RetiredAt.Valid {
				out = append(out, k.Info())
			}
		}
		if len(out) > 0 || attempt > 0 {
			return out, nil
		}
		if _, _, err := s.activeSigningKey(ctx, secret); err != nil {
			return nil, err
		}
	}
}

// RetireSigningKey stops a key from signing and from being offered for
// verification: licences it signed fail with "unknown key" once
// applications drop it from their key ring.
func (s *Store) RetireSigningKey(ctx context.Context, actor Actor, id string) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, retireSigningKeySQL, id, s.Now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("signing key %q (or it is already retired): %w", id, ErrNotFound)
		}
		return audit(ctx, tx, s.Now(), AuditEvent{Actor: actor, Action: "signing_key.retire", TargetType: "signing_key", TargetID: id})
	})
}

// activeSigningKey returns the key that signs now, creating the first one
// when there is none (a fresh installation's first licence).
func (s *Store) activeSigningKey(ctx context.Context, secret []byte) (string, ed25519.PrivateKey, error) {
	var id string
	var priv ed25519.PrivateKey
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, lockSigningKeysSQL, signingKeyLockClass); err != nil {
			return err
		}
		var row struct {
			ID         string `db:"id"`
			PrivateKey []byte `db:"private_key"`
			Sealed     bool   `db:"sealed"`
		}
		err := tx.GetContext(ctx, &row, activeSigningKeySQL)
		if errors.Is(err, sql.ErrNoRows) {
			key, p, err := s.createSigningKey(ctx, tx, SystemActor("first signing key"), secret)
			id, priv = key.ID, p
			return err
		}
		if err != nil {
			return err
		}
		id, priv = row.ID, ed25519.PrivateKey(row.PrivateKey)
		if row.Sealed {
			priv, err = openKey(secret, row.ID, row.PrivateKey)
		}
		return err
	})
	return id, priv, err
}

// IssueLicence signs the account's current state as an offline licence file.
func (s *Store) IssueLicence(ctx context.Context, accountID int64, opts LicenceOptions) ([]byte, error) {
	if opts.Validity <= 0 {
		opts.Validity = 30 * 24 * time.Hour
	}
	if opts.Grace < 0 {
		opts.Grace = 0
	}
	state, err := s.AccountState(ctx, accountID)
	if err != nil {
		return nil, err
	}
	keyID, priv, err := s.activeSigningKey(ctx, opts.Secret)
	if err != nil {
		return nil, err
	}
	idBytes := make([]byte, 16)
	if _, err := rand.Read(idBytes); err != nil {
		return nil, err
	}
	now := s.Now()
	lic := licensing.Licence{ID: hex.EncodeToString(idBytes), IssuedAt: now,
		ValidUntil: now.Add(opts.Validity), GraceUntil: now.Add(opts.Validity + opts.Grace), State: state, Machine: opts.Machine}
	file, err := licensing.SignLicence(lic, keyID, priv)
	if err != nil {
		return nil, err
	}
	// The vendor's systems hear of every licence issued (licence.issued).
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		return emitWebhookLocked(ctx, tx, now, accountID, EventLicenceIssued, map[string]any{"licence_id": lic.ID,
			"key_id": keyID, "issued_at": lic.IssuedAt, "valid_until": lic.ValidUntil, "grace_until": lic.GraceUntil})
	})
	if err != nil {
		return nil, err
	}
	return file, nil
}

// sealKey encrypts a private key with AES-256-GCM under a key derived from
// secret; the key id is authenticated too, so a sealed key cannot be
// passed off as another.
func sealKey(secret []byte, keyID string, priv ed25519.PrivateKey) ([]byte, error) {
	return sealBytes(secret, keyID, priv)
}

func openKey(secret []byte, keyID string, sealed []byte) (ed25519.PrivateKey, error) {
	plain, err := openBytes(secret, keyID, sealed)
	if err != nil || len(plain) != ed25519.PrivateKeySize {
		return nil, ErrSealedKey
	}
	return ed25519.PrivateKey(plain), nil
}

// sealBytes encrypts plain under SIGNING_KEY_SECRET (AES-256-GCM), binding
// it to label (a key id, an account's SSO client): what is sealed for one
// cannot be opened as another.
func sealBytes(secret []byte, label string, plain []byte) ([]byte, error) {
	aead, err := sealCipher(secret)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plain, []byte(label)), nil
}

// openBytes reverses sealBytes; ErrSealedKey when the secret is missing or
// not the one it was sealed with.
func openBytes(secret []byte, label string, sealed []byte) ([]byte, error) {
	if len(secret) == 0 {
		return nil, ErrSealedKey
	}
	aead, err := sealCipher(secret)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, ErrSealedKey
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(label))
	if err != nil {
		return nil, ErrSealedKey
	}
	return plain, nil
}

func sealCipher(secret []byte) (cipher.AEAD, error) {
	k := sha256.Sum256(append([]byte("entitle/signing-key-seal/v1\n"), secret...))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
