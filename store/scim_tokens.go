package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/entitle-dev/entitle/licensing"
)

// SCIMToken is a bearer token an identity provider sends to /scim/v2. Only
// its hash is stored; the token itself is shown once, when it is made.
type SCIMToken struct {
	ID         int64        `db:"id"`
	AccountID  int64        `db:"account_id"`
	Name       string       `db:"name"`
	Prefix     string       `db:"prefix"`
	CreatedBy  string       `db:"created_by"`
	CreatedAt  time.Time    `db:"created_at"`
	LastUsedAt sql.NullTime `db:"last_used_at"`
	RevokedAt  sql.NullTime `db:"revoked_at"`
}

// Actor is the token as the audit log names it: the identity provider's
// changes are signed with the token's name.
func (t SCIMToken) Actor() Actor {
	return Actor{Type: "scim", ID: itoa(t.ID), Label: t.Name}
}

// NewSCIMToken is a token just made: Token is shown once and never again.
type NewSCIMToken struct {
	SCIMToken
	Token string
}

// scimTokenPrefix starts every token, so that a leaked one is recognisable
// (secret scanners, logs).
const scimTokenPrefix = "scim_"

// lastUseResolution is how stale last_used_at may get: a token in steady use
// is written at most once per this period, not once per request.
const lastUseResolution = time.Minute

const (
	scimTokenColumns   = `id, account_id, name, prefix, created_by, created_at, last_used_at, revoked_at`
	insertSCIMTokenSQL = `
INSERT INTO scim_token (account_id, name, token_hash, prefix, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING ` + scimTokenColumns
	scimTokensSQL       = `SELECT ` + scimTokenColumns + ` FROM scim_token WHERE account_id = $1 ORDER BY created_at DESC, id DESC`
	scimTokenByHashSQL  = `SELECT ` + scimTokenColumns + ` FROM scim_token WHERE token_hash = $1 AND revoked_at IS NULL`
	touchSCIMTokenSQL   = `UPDATE scim_token SET last_used_at = $2 WHERE id = $1`
	revokeSCIMTokenSQL  = `UPDATE scim_token SET revoked_at = $3 WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING ` + scimTokenColumns
	scimTokensNamedSQL  = `SELECT id FROM scim_token WHERE account_id = $1 AND revoked_at IS NULL AND (name = $2 OR prefix = $2) ORDER BY id`
	scimTokenByIDSQL    = `SELECT ` + scimTokenColumns + ` FROM scim_token WHERE account_id = $1 AND id = $2`
	maxSCIMTokenNameLen = 100
)

// CreateSCIMToken makes a token for the principal's account (owners and
// admins).
func (s *Store) CreateSCIMToken(ctx context.Context, p Principal, name string) (NewSCIMToken, error) {
	var out NewSCIMToken
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := authorize(ctx, tx, p, licensing.ManageProvisioning); err != nil {
			return err
		}
		var err error
		out, err = insertSCIMToken(ctx, tx, s.Now(), p.actor(), p.AccountID, name)
		return err
	})
	return out, err
}

// CreateSCIMTokenFor makes a token for an account named by slug, for an
// operator at the command line.
func (s *Store) CreateSCIMTokenFor(ctx context.Context, actor Actor, slug, name string) (NewSCIMToken, error) {
	acct, err := s.AccountBySlug(ctx, slug)
	if err != nil {
		return NewSCIMToken{}, err
	}
	var out NewSCIMToken
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		out, err = insertSCIMToken(ctx, tx, s.Now(), actor, acct.ID, name)
		return err
	})
	return out, err
}

func insertSCIMToken(ctx context.Context, tx *sqlx.Tx, now time.Time, actor Actor, accountID int64, name string) (NewSCIMToken, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return NewSCIMToken{}, Invalid("name", "name the token after the identity provider that will use it, e.g. Okta")
	case len(name) > maxSCIMTokenNameLen:
		return NewSCIMToken{}, Invalid("name", "a token name is at most 100 characters")
	}
	token, err := newSCIMTokenValue()
	if err != nil {
		return NewSCIMToken{}, err
	}
	var t NewSCIMToken
	t.Token = token
	if err := tx.GetContext(ctx, &t.SCIMToken, insertSCIMTokenSQL, accountID, name, hashToken(token),
		token[:len(scimTokenPrefix)+6], actor.Label, now); err != nil {
		return NewSCIMToken{}, err
	}
	return t, audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "scim_token.create",
		TargetType: "scim_token", TargetID: itoa(t.ID), After: map[string]any{"name": t.Name, "prefix": t.Prefix}})
}

func newSCIMTokenValue() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return scimTokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// SCIMTokens lists the account's tokens, revoked ones included, newest first.
func (s *Store) SCIMTokens(ctx context.Context, accountID int64) ([]SCIMToken, error) {
	var out []SCIMToken
	err := s.db.SelectContext(ctx, &out, scimTokensSQL, accountID)
	return out, err
}

// RevokeSCIMToken revokes one of the principal's account's tokens: its next
// request answers 401. Another account's token is ErrNotFound.
func (s *Store) RevokeSCIMToken(ctx context.Context, p Principal, id int64) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := authorize(ctx, tx, p, licensing.ManageProvisioning); err != nil {
			return err
		}
		return revokeSCIMToken(ctx, tx, s.Now(), p.actor(), p.AccountID, id)
	})
}

// RevokeSCIMTokensNamed revokes the account's live tokens with that name (or
// that prefix), for the command line, and says how many.
func (s *Store) RevokeSCIMTokensNamed(ctx context.Context, actor Actor, slug, nameOrPrefix string) (int, error) {
	acct, err := s.AccountBySlug(ctx, slug)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		var ids []int64
		if err := tx.SelectContext(ctx, &ids, scimTokensNamedSQL, acct.ID, nameOrPrefix); err != nil {
			return err
		}
		for _, id := range ids {
			if err := revokeSCIMToken(ctx, tx, s.Now(), actor, acct.ID, id); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

func revokeSCIMToken(ctx context.Context, tx *sqlx.Tx, now time.Time, actor Actor, accountID, id int64) error {
	var t SCIMToken
	err := tx.GetContext(ctx, &t, revokeSCIMTokenSQL, accountID, id, now)
	if errors.Is(err, sql.ErrNoRows) {
		if err := tx.GetContext(ctx, &t, scimTokenByIDSQL, accountID, id); err == nil {
			return nil // revoked already
		}
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	return audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "scim_token.revoke",
		TargetType: "scim_token", TargetID: itoa(t.ID), Before: map[string]any{"name": t.Name, "prefix": t.Prefix}})
}

// AuthenticateSCIM finds the live token a bearer token is; ErrNotFound when
// it is unknown or revoked. Its last use is recorded at most once a minute.
// Every SCIM request runs its lookup, so the lookup is prepared.
func (s *Store) AuthenticateSCIM(ctx context.Context, token string) (SCIMToken, error) {
	if !strings.HasPrefix(token, scimTokenPrefix) {
		return SCIMToken{}, ErrNotFound
	}
	var t SCIMToken
	err := s.getPrepared(ctx, &t, scimTokenByHashSQL, hashToken(token))
	if errors.Is(err, sql.ErrNoRows) {
		return SCIMToken{}, ErrNotFound
	}
	if err != nil {
		return SCIMToken{}, err
	}
	now := s.Now()
	if !t.LastUsedAt.Valid || now.Sub(t.LastUsedAt.Time) >= lastUseResolution {
		if _, err := s.db.ExecContext(ctx, touchSCIMTokenSQL, t.ID, now); err != nil {
			return SCIMToken{}, err
		}
		t.LastUsedAt = nullTime(now)
	}
	return t, nil
}
