package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"
)

// Vendor key scopes, beside check, usage and license.
const (
	ScopeAccountsRead  = "accounts:read"  // list and read accounts
	ScopeAccountsWrite = "accounts:write" // create accounts, change their name and external id
	ScopeWebhooks      = "webhooks"       // read webhook endpoints and deliveries
)

// VendorScopes lists every scope a vendor key may have, in display order.
var VendorScopes = []string{ScopeCheck, ScopeUsage, ScopeLicense, ScopeAccountsRead, ScopeAccountsWrite, ScopeWebhooks}

const (
	insertVendorKeySQL = `
INSERT INTO api_key (account_id, name, prefix, hash, scopes, created_by, created_at)
VALUES (NULL, $1, $2, $3, $4, $5, $6) RETURNING id`
	vendorKeyByIDSQL = `SELECT ` + apiKeyColumns + ` FROM api_key k LEFT JOIN account a ON a.id = k.account_id
WHERE k.id = $1 AND k.account_id IS NULL`
	vendorKeysSQL = `SELECT ` + apiKeyColumns + ` FROM api_key k LEFT JOIN account a ON a.id = k.account_id
WHERE k.account_id IS NULL ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC, k.id DESC`
	revokeVendorKeySQL = `UPDATE api_key SET revoked_at = $2 WHERE id = $1 AND account_id IS NULL AND revoked_at IS NULL`
)

// CreateVendorKey creates a vendor key and returns it with its token, which
// is never stored and cannot be shown again. It is audited in the vendor's
// own chain.
func (s *Store) CreateVendorKey(ctx context.Context, actor Actor, name string, scopes []string) (string, APIKey, error) {
	name, clean, err := checkKeyInput(name, "the backend", scopes, VendorScopes)
	if err != nil {
		return "", APIKey{}, err
	}
	token, prefix, err := newAPIKeyToken()
	if err != nil {
		return "", APIKey{}, err
	}
	var key APIKey
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		now := s.Now()
		var id int64
		if err := tx.GetContext(ctx, &id, insertVendorKeySQL, name, prefix, hashToken(token), clean, actorLabel(actor), now); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &key, vendorKeyByIDSQL, id); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{Actor: actor, Action: "vendor_key.create", TargetType: "api_key",
			TargetID: prefix, After: map[string]any{"name": name, "scopes": []string(clean)}})
	})
	if err != nil {
		return "", APIKey{}, err
	}
	return token, key, nil
}

// VendorKeys lists the vendor keys, usable ones first, newest first.
func (s *Store) VendorKeys(ctx context.Context) ([]APIKey, error) {
	var out []APIKey
	err := s.db.SelectContext(ctx, &out, vendorKeysSQL)
	return out, err
}

// RevokeVendorKey revokes a vendor key: it fails at once on this instance
// and, through NOTIFY, on every other.
func (s *Store) RevokeVendorKey(ctx context.Context, actor Actor, keyID int64) error {
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var key APIKey
		err := tx.GetContext(ctx, &key, vendorKeyByIDSQL+` FOR UPDATE OF k`, keyID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil || key.RevokedAt.Valid {
			return err
		}
		if _, err := tx.ExecContext(ctx, revokeVendorKeySQL, keyID, s.Now()); err != nil {
			return err
		}
		if err := audit(ctx, tx, s.Now(), AuditEvent{Actor: actor, Action: "vendor_key.revoke", TargetType: "api_key",
			TargetID: key.Prefix, Before: map[string]any{"name": key.Name}}); err != nil {
			return err
		}
		return notify(ctx, tx, ChangedAPIKeys)
	})
	if err == nil {
		s.committed(ChangedAPIKeys)
	}
	return err
}

// Actor is the key as the audit log records what it did.
func (k APIKey) Actor() Actor {
	return Actor{Type: "api_key", ID: k.Prefix, Label: k.Name}
}

// AccountKeyID is the key's id when it is an account's key, else 0: usage
// events name the account key that reported them, and a vendor key is no
// account's.
func (k APIKey) AccountKeyID() int64 {
	if k.Vendor {
		return 0
	}
	return k.ID
}
