package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"
)

// SupportAccessInfo is the customer's view of vendor support in their
// account: whether write access is allowed, and every support session.
type SupportAccessInfo struct {
	Allowed        bool
	Impersonations []Impersonation
}

const (
	supportAccessSQL       = `SELECT support_access FROM account WHERE id = $1`
	supportAccessLockSQL   = `SELECT support_access FROM account WHERE id = $1 FOR UPDATE`
	supportAccessUpdateSQL = `UPDATE account SET support_access = $2 WHERE id = $1`
)

// SupportAccess loads the account's consent and its support sessions.
func (s *Store) SupportAccess(ctx context.Context, accountID int64) (SupportAccessInfo, error) {
	var out SupportAccessInfo
	if err := s.db.GetContext(ctx, &out.Allowed, supportAccessSQL, accountID); errors.Is(err, sql.ErrNoRows) {
		return out, ErrNotFound
	} else if err != nil {
		return out, err
	}
	err := s.db.SelectContext(ctx, &out.Impersonations, consoleImpersonationsSQL, accountID, 100)
	return out, err
}

// SetSupportAccess records an owner's consent to write-mode support
// sessions (or its withdrawal, which makes a running write session
// read-only on its next request). Only the customer's own owners decide:
// an impersonating staff member never can.
func (s *Store) SetSupportAccess(ctx context.Context, sess Session, allow bool) error {
	if sess.Role != "owner" || sess.Impersonated() {
		return ErrForbidden
	}
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var was bool
		if err := tx.GetContext(ctx, &was, supportAccessLockSQL, sess.AccountID); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if was == allow {
			return nil
		}
		if _, err := tx.ExecContext(ctx, supportAccessUpdateSQL, sess.AccountID, allow); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: sess.AccountID, Actor: sess.Actor(),
			Action: "account.support_access", TargetType: "account", TargetID: sess.AccountSlug,
			Before: map[string]any{"support_access": was}, After: map[string]any{"support_access": allow}})
	})
}
