package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// API key scopes: what a key may do in /api/v1.
const (
	ScopeCheck   = "check"   // read entitlement decisions
	ScopeUsage   = "usage"   // report metered usage
	ScopeLicense = "license" // download the signed offline licence
)

// Scopes lists every scope in display order.
var Scopes = []string{ScopeCheck, ScopeUsage, ScopeLicense}

// APIKey is an account's key for the entitlement API. The key itself is
// shown once at creation; only its SHA-256 is stored.
type APIKey struct {
	ID          int64          `db:"id"`
	AccountID   int64          `db:"account_id"`
	AccountSlug string         `db:"account_slug"`
	Name        string         `db:"name"`
	Prefix      string         `db:"prefix"`
	Scopes      pq.StringArray `db:"scopes"`
	CreatedBy   string         `db:"created_by"`
	CreatedAt   time.Time      `db:"created_at"`
	LastUsedAt  sql.NullTime   `db:"last_used_at"`
	RevokedAt   sql.NullTime   `db:"revoked_at"`
	// Vendor: a vendor key, for every account (AccountID 0 until the
	// request names one).
	Vendor bool `db:"vendor"`
}

// HasScope reports whether the key grants scope.
func (k APIKey) HasScope(scope string) bool { return slices.Contains(k.Scopes, scope) }

// keyPrefixEncoding writes the visible part of a key in lowercase letters and
// digits, easy to read out and to search for.
var keyPrefixEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newAPIKeyToken makes "ent_<8 visible chars>_<43 secret chars>": 40 random
// bits name the key, 256 more make it unguessable.
func newAPIKeyToken() (token, prefix string, err error) {
	b := make([]byte, 5+32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	prefix = "ent_" + keyPrefixEncoding.EncodeToString(b[:5])
	return prefix + "_" + base64.RawURLEncoding.EncodeToString(b[5:]), prefix, nil
}

const (
	apiKeyColumns = `k.id, coalesce(k.account_id, 0) AS account_id, coalesce(a.slug, '') AS account_slug, k.name, k.prefix,
       k.scopes, k.created_by, k.created_at, k.last_used_at, k.revoked_at, k.account_id IS NULL AS vendor`
	insertAPIKeySQL = `
INSERT INTO api_key (account_id, name, prefix, hash, scopes, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`
	apiKeyByIDSQL = `SELECT ` + apiKeyColumns + ` FROM api_key k JOIN account a ON a.id = k.account_id
WHERE k.id = $1 AND k.account_id = $2`
	apiKeysSQL = `SELECT ` + apiKeyColumns + ` FROM api_key k JOIN account a ON a.id = k.account_id
WHERE k.account_id = $1 ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC, k.id DESC`
	apiKeyByHashSQL = `SELECT ` + apiKeyColumns + ` FROM api_key k LEFT JOIN account a ON a.id = k.account_id
WHERE k.hash = $1 AND k.revoked_at IS NULL`
	revokeAPIKeySQL = `
UPDATE api_key SET revoked_at = $3 WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL`
	recordKeysUsedSQL = `
UPDATE api_key k SET last_used_at = v.at
FROM unnest($1::bigint[], $2::timestamptz[]) AS v(id, at)
WHERE k.id = v.id AND (k.last_used_at IS NULL OR k.last_used_at < v.at)`
)

// CreateAPIKey creates a key for the account and returns it with its token,
// which is never stored and cannot be shown again.
func (s *Store) CreateAPIKey(ctx context.Context, actor Actor, accountID int64, name string, scopes []string) (string, APIKey, error) {
	name, clean, err := checkKeyInput(name, "the application", scopes, Scopes)
	if err != nil {
		return "", APIKey{}, err
	}
	token, prefix, err := newAPIKeyToken()
	if err != nil {
		return "", APIKey{}, err
	}
	var key APIKey
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		if err := tx.GetContext(ctx, &id, insertAPIKeySQL, accountID, name, prefix, hashToken(token), clean,
			actorLabel(actor), s.Now()); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &key, apiKeyByIDSQL, id, accountID); err != nil {
			return err
		}
		return audit(ctx, tx, s.Now(), AuditEvent{AccountID: accountID, Actor: actor, Action: "apikey.create",
			TargetType: "api_key", TargetID: prefix, After: map[string]any{"name": name, "scopes": []string(clean)}})
	})
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23503" { // foreign_key_violation: no such account
		return "", APIKey{}, ErrNotFound
	}
	if err != nil {
		return "", APIKey{}, err
	}
	return token, key, nil
}

// checkKeyInput checks a new key's name and scopes (of allowed), and
// returns them cleaned: trimmed, scopes in allowed's order without repeats.
func checkKeyInput(name, user string, scopes, allowed []string) (string, pq.StringArray, error) {
	name = strings.TrimSpace(name)
	problems := map[string]string{}
	if name == "" {
		problems["name"] = "give the key a name, such as " + user + " that will use it"
	} else if utf8.RuneCountInString(name) > 100 {
		problems["name"] = "at most 100 characters"
	}
	var clean pq.StringArray
	for _, sc := range allowed { // canonical order, no repeats
		if slices.Contains(scopes, sc) {
			clean = append(clean, sc)
		}
	}
	for _, sc := range scopes {
		if !slices.Contains(allowed, sc) {
			problems["scopes"] = "unknown scope " + sc + "; want " + strings.Join(allowed, ", ")
		}
	}
	if len(clean) == 0 && problems["scopes"] == "" {
		problems["scopes"] = "choose at least one scope"
	}
	if len(problems) > 0 {
		return name, nil, &ValidationError{Fields: problems}
	}
	return name, clean, nil
}

// APIKeys lists the account's keys, usable ones first, newest first.
func (s *Store) APIKeys(ctx context.Context, accountID int64) ([]APIKey, error) {
	var out []APIKey
	err := s.db.SelectContext(ctx, &out, apiKeysSQL, accountID)
	return out, err
}

// RevokeAPIKey revokes one of the account's keys. The key fails at once on
// this instance and, through NOTIFY, within moments on every other. A key of
// another account is ErrNotFound; revoking a revoked key changes nothing.
func (s *Store) RevokeAPIKey(ctx context.Context, actor Actor, accountID, keyID int64) error {
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var key APIKey
		err := tx.GetContext(ctx, &key, apiKeyByIDSQL+` FOR UPDATE OF k`, keyID, accountID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil || key.RevokedAt.Valid {
			return err
		}
		if _, err := tx.ExecContext(ctx, revokeAPIKeySQL, keyID, accountID, s.Now()); err != nil {
			return err
		}
		if err := audit(ctx, tx, s.Now(), AuditEvent{AccountID: accountID, Actor: actor, Action: "apikey.revoke",
			TargetType: "api_key", TargetID: key.Prefix, Before: map[string]any{"name": key.Name}}); err != nil {
			return err
		}
		return notify(ctx, tx, ChangedAPIKeys)
	})
	if err == nil {
		s.committed(ChangedAPIKeys)
	}
	return err
}

// APIKeyByToken finds the usable (not revoked) key a request presents;
// ErrNotFound when there is none.
func (s *Store) APIKeyByToken(ctx context.Context, token string) (APIKey, error) {
	var key APIKey
	err := s.db.GetContext(ctx, &key, apiKeyByHashSQL, hashToken(token))
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, ErrNotFound
	}
	return key, err
}

// RecordAPIKeysUsed writes the last-use times gathered in memory, in one
// statement; a time older than the stored one is ignored. It is telemetry,
// not a state change, so it has no audit entry.
func (s *Store) RecordAPIKeysUsed(ctx context.Context, used map[int64]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	ids := make(pq.Int64Array, 0, len(used))
	ats := make(pq.StringArray, 0, len(used))
	for id, at := range used {
		ids = append(ids, id)
		ats = append(ats, at.UTC().Format(time.RFC3339Nano))
	}
	_, err := s.db.ExecContext(ctx, recordKeysUsedSQL, ids, ats)
	return err
}

// actorLabel is how a record names who created it.
func actorLabel(a Actor) string {
	if a.Label != "" {
		return a.Type + ":" + a.Label
	}
	return a.Type + ":" + a.ID
}
