package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// ProvisioningSettings is what /settings/provisioning shows.
type ProvisioningSettings struct {
	Tokens       []SCIMToken
	Groups       []IdPGroup
	Rules        []RuleRow
	Products     []ProductOption
	Unmatched    licensing.UnmatchedPolicy
	Provisioned  int // users the identity provider manages
	Waiting      int
	Drifts       int64
	ReconciledAt sql.NullTime
}

// IdPGroup is a group the identity provider pushed.
type IdPGroup struct {
	ID          int64  `db:"id"`
	SCIMID      string `db:"scim_id"`
	DisplayName string `db:"display_name"`
	Members     int    `db:"members"`
	Deleted     bool   `db:"deleted"`
}

// RuleRow is one rule with what it currently gives.
type RuleRow struct {
	ID           int64  `db:"id"`
	GroupID      int64  `db:"group_id"`
	GroupName    string `db:"group_name"`
	GroupDeleted bool   `db:"group_deleted"`
	Role         string `db:"role"`
	ProductKey   string `db:"product_key"`
	ProductName  string `db:"product_name"`
	Priority     int    `db:"priority"`
	Seats        int    `db:"seats"`
	Waiting      int    `db:"waiting"`
}

// ProductOption is a product a rule may give seats of.
type ProductOption struct {
	Key  string `db:"key"`
	Name string `db:"name"`
}

const (
	idpGroupsSQL = `
SELECT g.id, g.scim_id, g.display_name, g.deleted_at IS NOT NULL AS deleted,
       (SELECT count(*) FROM idp_group_member gm WHERE gm.group_id = g.id) AS members
FROM idp_group g
WHERE g.account_id = $1 AND (g.deleted_at IS NULL OR EXISTS (SELECT 1 FROM provisioning_rule r WHERE r.group_id = g.id))
ORDER BY lower(g.display_name), g.id`
	rulesSQL = `
SELECT r.id, r.group_id, g.display_name AS group_name, g.deleted_at IS NOT NULL AS group_deleted, r.role,
       coalesce(p.key, '') AS product_key, coalesce(p.name, '') AS product_name, r.priority,
       (SELECT count(*) FROM seat_assignment sa WHERE sa.account_id = r.account_id AND sa.rule_id = r.id) AS seats,
       (SELECT count(*) FROM waiting_entry w WHERE w.account_id = r.account_id AND w.rule_id = r.id) AS waiting
FROM provisioning_rule r JOIN idp_group g ON g.id = r.group_id LEFT JOIN product p ON p.id = r.product_id
WHERE r.account_id = $1
ORDER BY r.priority, r.id`
	productOptionsSQL = `
SELECT p.key, p.name FROM product p
WHERE EXISTS (SELECT 1 FROM subscription s WHERE s.account_id = $1 AND s.product_id = p.id)
ORDER BY p.key`
	provisioningFiguresSQL = `
SELECT a.unmatched_policy, a.drifts_repaired, a.reconciled_at,
       (SELECT count(*) FROM membership m WHERE m.account_id = a.id AND m.scim_id IS NOT NULL) AS provisioned,
       (SELECT count(*) FROM waiting_entry w WHERE w.account_id = a.id) AS waiting
FROM account a WHERE a.id = $1`
)

// ProvisioningFigures is the account's provisioning at a glance (the
// settings page and the console).
type ProvisioningFigures struct {
	Unmatched    string       `db:"unmatched_policy"`
	Drifts       int64        `db:"drifts_repaired"`
	ReconciledAt sql.NullTime `db:"reconciled_at"`
	Provisioned  int          `db:"provisioned"`
	Waiting      int          `db:"waiting"`
}

// ProvisioningFigures reads the account's figures.
func (s *Store) ProvisioningFigures(ctx context.Context, accountID int64) (ProvisioningFigures, error) {
	var f ProvisioningFigures
	err := s.db.GetContext(ctx, &f, provisioningFiguresSQL, accountID)
	return f, notFound(err)
}

// ProvisioningSettings reads everything /settings/provisioning shows.
func (s *Store) ProvisioningSettings(ctx context.Context, accountID int64) (ProvisioningSettings, error) {
	var out ProvisioningSettings
	f, err := s.ProvisioningFigures(ctx, accountID)
	if err != nil {
		return out, err
	}
	out.Unmatched, out.Drifts, out.ReconciledAt = licensing.UnmatchedPolicy(f.Unmatched), f.Drifts, f.ReconciledAt
	out.Provisioned, out.Waiting = f.Provisioned, f.Waiting
	if out.Tokens, err = s.SCIMTokens(ctx, accountID); err != nil {
		return out, err
	}
	for _, q := range []struct {
		dest  any
		query string
	}{{&out.Groups, idpGroupsSQL}, {&out.Rules, rulesSQL}, {&out.Products, productOptionsSQL}} {
		if err := s.db.SelectContext(ctx, q.dest, q.query, accountID); err != nil {
			return out, err
		}
	}
	return out, nil
}

// WaitingRow is one person on a waiting list.
type WaitingRow struct {
	SubscriptionID int64     `db:"subscription_id"`
	MembershipID   int64     `db:"membership_id"`
	Position       int       `db:"position"`
	Email          string    `db:"email"`
	Name           string    `db:"name"`
	GroupName      string    `db:"group_name"`
	Since          time.Time `db:"since"`
	Reason         string    `db:"reason"`
	Total          int       `db:"total"`
}

const waitingListSQL = `
SELECT w.subscription_id, w.membership_id, w.position, u.email, u.name, coalesce(g.display_name, '') AS group_name,
       w.since, w.reason, count(*) OVER () AS total
FROM waiting_entry w
JOIN membership m ON m.account_id = w.account_id AND m.id = w.membership_id
JOIN app_user u ON u.id = m.user_id
LEFT JOIN provisioning_rule r ON r.id = w.rule_id
LEFT JOIN idp_group g ON g.id = r.group_id
WHERE w.account_id = $1 AND w.subscription_id = $2
ORDER BY w.position, w.membership_id
LIMIT $3`

// WaitingList lists up to limit people waiting for a seat of one of the
// account's subscriptions, in the order they will be served, and how many
// wait in all.
func (s *Store) WaitingList(ctx context.Context, accountID, subID int64, limit int) ([]WaitingRow, int, error) {
	var out []WaitingRow
	if err := s.db.SelectContext(ctx, &out, waitingListSQL, accountID, subID, limit); err != nil {
		return nil, 0, err
	}
	if len(out) == 0 {
		return out, 0, nil
	}
	return out, out[0].Total, nil
}

// SeatOrigin says where a held seat came from, for the seats page.
type SeatOrigin struct {
	MembershipID int64  `db:"membership_id"`
	Source       string `db:"source"`
	Pinned       bool   `db:"pinned"`
	GroupName    string `db:"group_name"` // the group of the rule that gave it
	Managed      bool   `db:"managed"`    // the identity provider manages the person
}

const seatOriginsSQL = `
SELECT sa.membership_id, sa.source, sa.pinned, coalesce(g.display_name, '') AS group_name, m.source = 'scim' AS managed
FROM seat_assignment sa
JOIN membership m ON m.account_id = sa.account_id AND m.id = sa.membership_id
LEFT JOIN provisioning_rule r ON r.id = sa.rule_id
LEFT JOIN idp_group g ON g.id = r.group_id
WHERE sa.account_id = $1 AND sa.subscription_id = $2 AND sa.membership_id = ANY($3)`

// SeatOrigins says where the seats of the members named were given from.
func (s *Store) SeatOrigins(ctx context.Context, accountID, subID int64, membershipIDs []int64) (map[int64]SeatOrigin, error) {
	var rows []SeatOrigin
	if err := s.db.SelectContext(ctx, &rows, seatOriginsSQL, accountID, subID, pq.Array(membershipIDs)); err != nil {
		return nil, err
	}
	out := make(map[int64]SeatOrigin, len(rows))
	for _, r := range rows {
		out[r.MembershipID] = r
	}
	return out, nil
}

const seatsVersionSQL = `
SELECT coalesce((SELECT string_agg(sa.subscription_id || ':' || sa.membership_id || ':' || sa.source || ':' ||
                                   sa.pinned::text || ':' || coalesce(sa.rule_id, 0), ',' ORDER BY sa.subscription_id, sa.membership_id)
                 FROM seat_assignment sa WHERE sa.account_id = $1), '') || '|' ||
       coalesce((SELECT string_agg(w.subscription_id || ':' || w.membership_id || ':' || w.position, ','
                                   ORDER BY w.subscription_id, w.membership_id)
                 FROM waiting_entry w WHERE w.account_id = $1), '') || '|' ||
       coalesce((SELECT string_agg(s.id || ':' || s.seats || ':' || s.status || ':' || s.plan_version_id, ',' ORDER BY s.id)
                 FROM subscription s WHERE s.account_id = $1), '') || '|' ||
       coalesce((SELECT string_agg(g.id || ':' || g.amount || ':' || coalesce(g.revoked_at::text, ''), ',' ORDER BY g.id)
                 FROM entitlement_grant g WHERE g.account_id = $1 AND g.kind = 'extra_seats'), '')`

// SeatsVersion fingerprints who holds and who waits for the account's
// seats, and the pools' sizes: the seats page polls it and reloads its
// pools only when it changed.
func (s *Store) SeatsVersion(ctx context.Context, accountID int64) (string, error) {
	var raw string
	if err := s.db.GetContext(ctx, &raw, seatsVersionSQL, accountID); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:8]), nil
}

const (
	pinSeatSQL = `
UPDATE seat_assignment SET pinned = $4 WHERE account_id = $1 AND subscription_id = $2 AND membership_id = $3
RETURNING (SELECT email FROM app_user u JOIN membership m ON m.user_id = u.id WHERE m.id = $3)`
)

// PinSeat pins (or unpins) a held seat: the rules never take a pinned seat
// from an active person. Unpinning hands the seat back to the rules, which
// may take it at once, in the same transaction, audited.
func (s *Store) PinSeat(ctx context.Context, p Principal, subID, membershipID int64, pinned bool) error {
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := lockProvisioning(ctx, tx, p.AccountID, true); err != nil {
			return err
		}
		if err := s.checkPool(ctx, tx, p, subID); err != nil {
			return err
		}
		var email string
		if err := tx.GetContext(ctx, &email, pinSeatSQL, p.AccountID, subID, membershipID, pinned); err != nil {
			return notFound(err)
		}
		action := "seat.pin"
		if !pinned {
			action = "seat.unpin"
		}
		if err := audit(ctx, tx, now, AuditEvent{AccountID: p.AccountID, Actor: p.actor(), Action: action,
			TargetType: "membership", TargetID: itoa(membershipID),
			After: map[string]any{"email": email, "subscription": subID, "pinned": pinned}}); err != nil {
			return err
		}
		_, err := reconcileLocked(ctx, tx, now, p.AccountID, p.actor(), modeCaused, false)
		return err
	})
}

// SeatChangeEffect is who a smaller pool would move to the waiting list,
// lowest priority first, and how many hand-given seats would then be beyond
// it (nobody loses those: admins choose).
type SeatChangeEffect struct {
	Waitlisted    []SeatHolder
	OverAllocated int
}

const holdersByIDSQL = `
SELECT m.id, u.name, u.email, m.role, m.status, m.last_sign_in_at, m.created_at AS assigned_at
FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = $1 AND m.id = ANY($2)`

// PreviewSeatChange answers the billing page before a seat reduction or a
// downgrade takes effect: the product's pool becomes purchased seats plus
// the vendor's grants.
func (s *Store) PreviewSeatChange(ctx context.Context, accountID int64, productKey string, purchased int) (SeatChangeEffect, error) {
	var eff SeatChangeEffect
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return eff, err
	}
	defer tx.Rollback()
	snap, err := loadProvisioning(ctx, tx, s.Now(), accountID, nil)
	if err != nil {
		return eff, err
	}
	pool := snap.pools[productKey]
	if pool == nil || !pool.hasSeats() {
		return eff, nil
	}
	losing, over := licensing.PreviewSeatChange(snap.input, productKey, purchased+pool.Effective-pool.Seats)
	eff.OverAllocated = over
	if len(losing) == 0 {
		return eff, nil
	}
	var rows []SeatHolder
	if err := tx.SelectContext(ctx, &rows, holdersByIDSQL, accountID, pq.Array(losing)); err != nil {
		return eff, err
	}
	byID := map[int64]SeatHolder{}
	for _, r := range rows {
		byID[r.MembershipID] = r
	}
	for _, id := range losing {
		eff.Waitlisted = append(eff.Waitlisted, byID[id])
	}
	return eff, nil
}
