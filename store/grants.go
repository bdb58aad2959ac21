package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// GrantInput is a vendor grant as an operator enters it. Kind is feature
// (switch FeatureKey on, or off with Enabled false), extra_limit (add Amount
// to a limit or metered feature) or extra_seats (add Amount seats to
// ProductKey's pool). Every grant has a reason and an expiry.
type GrantInput struct {
	Kind       string
	ProductKey string
	FeatureKey string
	Enabled    bool
	Amount     int64
	Reason     string
	ExpiresAt  time.Time
}

const (
	grantLockAccountSQL = `SELECT id FROM account WHERE slug = $1 FOR SHARE`
	grantFeatureSQL     = `
SELECT f.id, f.product_id, f.kind FROM feature f JOIN product p ON p.id = f.product_id
WHERE p.key = $1 AND f.key = $2`
	grantProductSQL = `SELECT id FROM product WHERE key = $1`
	grantInsertSQL  = `
INSERT INTO entitlement_grant (account_id, kind, feature_id, product_id, enabled, amount, reason, expires_at,
                               created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`
	grantRevokeSQL = `
UPDATE entitlement_grant SET revoked_at = $3
WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL
RETURNING kind, reason, amount, enabled, expires_at`
)

// CreateGrant gives the account (by slug) a feature, extra limit or extra
// seats; licensing.Evaluate applies it until it expires or is revoked.
func (s *Store) CreateGrant(ctx context.Context, actor Actor, slug string, in GrantInput) (int64, error) {
	now := s.Now()
	in.Reason = strings.TrimSpace(in.Reason)
	switch {
	case in.Kind != "feature" && in.Kind != "extra_limit" && in.Kind != "extra_seats":
		return 0, Invalid("kind", "choose a feature, an extra limit or extra seats")
	case in.Reason == "":
		return 0, Invalid("reason", "say why the account gets this grant")
	case in.ExpiresAt.IsZero():
		return 0, Invalid("expires_at", "give the grant an expiry date")
	case !in.ExpiresAt.After(now):
		return 0, Invalid("expires_at", "the expiry must be in the future")
	case in.Kind != "feature" && in.Amount <= 0:
		return 0, Invalid("amount", "the amount must be a positive number")
	}
	if in.Kind == "feature" {
		in.Amount = 0
	} else {
		in.Enabled = true
	}
	var id int64
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var accountID int64
		if err := tx.GetContext(ctx, &accountID, grantLockAccountSQL, slug); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		var featureID, productID sql.NullInt64
		if in.Kind == "extra_seats" {
			var pid int64
			if err := tx.GetContext(ctx, &pid, grantProductSQL, in.ProductKey); errors.Is(err, sql.ErrNoRows) {
				return Invalid("product", "choose a product of the catalog")
			} else if err != nil {
				return err
			}
			productID = sql.NullInt64{Int64: pid, Valid: true}
			in.FeatureKey = ""
		} else {
			var f struct {
				ID        int64  `db:"id"`
				ProductID int64  `db:"product_id"`
				Kind      string `db:"kind"`
			}
			if err := tx.GetContext(ctx, &f, grantFeatureSQL, in.ProductKey, in.FeatureKey); errors.Is(err, sql.ErrNoRows) {
				return Invalid("feature", "choose a feature of the catalog")
			} else if err != nil {
				return err
			}
			if in.Kind == "extra_limit" && f.Kind == "boolean" {
				return Invalid("feature", "an extra limit needs a limit or metered feature")
			}
			featureID = sql.NullInt64{Int64: f.ID, Valid: true}
			productID = sql.NullInt64{Int64: f.ProductID, Valid: true}
		}
		if err := tx.GetContext(ctx, &id, grantInsertSQL, accountID, in.Kind, featureID, productID, in.Enabled,
			in.Amount, in.Reason, in.ExpiresAt, actor.Label, now); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "grant.create",
			TargetType: "grant", TargetID: itoa(id), After: map[string]any{
				"kind": in.Kind, "product": in.ProductKey, "feature": in.FeatureKey, "enabled": in.Enabled,
				"amount": in.Amount, "reason": in.Reason, "expires_at": in.ExpiresAt}})
	})
	return id, err
}

// RevokeGrant ends a grant of the account (by slug) at once. A grant of
// another account is ErrNotFound, and nothing changes.
func (s *Store) RevokeGrant(ctx context.Context, actor Actor, slug string, grantID int64) error {
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var accountID int64
		if err := tx.GetContext(ctx, &accountID, grantLockAccountSQL, slug); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		var before struct {
			Kind      string       `db:"kind"`
			Reason    string       `db:"reason"`
			Amount    int64        `db:"amount"`
			Enabled   bool         `db:"enabled"`
			ExpiresAt sql.NullTime `db:"expires_at"`
		}
		if err := tx.GetContext(ctx, &before, grantRevokeSQL, grantID, accountID, now); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "grant.revoke",
			TargetType: "grant", TargetID: itoa(grantID),
			Before: map[string]any{"kind": before.Kind, "reason": before.Reason, "amount": before.Amount,
				"enabled": before.Enabled, "expires_at": before.ExpiresAt.Time},
			After: map[string]any{"revoked_at": now}})
	})
}
