package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// Daily snapshots: a job writes, per account, product and UTC
// day, the seats purchased, assigned and active and the metered usage of
// that day, so the trend charts read a few hundred rows, never the events.

const snapshotSQL = `
INSERT INTO insights_snapshot (account_id, product_id, day, purchased, assigned, active, usage)
SELECT s.account_id, s.product_id, $1::date,
       s.seats + coalesce((SELECT sum(g.amount) FROM entitlement_grant g
         WHERE g.account_id = s.account_id AND g.product_id = s.product_id AND g.kind = 'extra_seats'
           AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $3)), 0),
       s.seats_assigned,
       (SELECT count(*) FROM seat_assignment sa
          JOIN membership m ON m.account_id = sa.account_id AND m.id = sa.membership_id
         WHERE sa.subscription_id = s.id AND greatest(sa.last_used_at, m.last_sign_in_at) > $2),
       coalesce((SELECT sum(u.quantity) FROM usage_event u JOIN feature f ON f.id = u.feature_id
         WHERE u.account_id = s.account_id AND f.product_id = s.product_id AND f.kind = 'metered'
           AND u.occurred_at >= $1::date AND u.occurred_at < $1::date + 1), 0)
FROM subscription s
WHERE s.status <> 'canceled'
ON CONFLICT (account_id, product_id, day) DO UPDATE
SET purchased = EXCLUDED.purchased, assigned = EXCLUDED.assigned, active = EXCLUDED.active, usage = EXCLUDED.usage`

// SnapshotInsights writes (or rewrites) today's snapshot of every account at
// the store's clock, and answers how many rows it wrote. Purchased is the
// pool as /seats shows it (extra-seat grants included); active counts
// holders active within licensing.ActiveWindow.
func (s *Store) SnapshotInsights(ctx context.Context) (int64, error) {
	now := s.Now()
	day := now.Truncate(24 * time.Hour)
	res, err := s.db.ExecContext(ctx, snapshotSQL, day, now.Add(-licensing.ActiveWindow), now)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// InsightsDay is one product's snapshot of one day.
type InsightsDay struct {
	ProductKey string    `db:"product_key"`
	Day        time.Time `db:"day"`
	Purchased  int       `db:"purchased"`
	Assigned   int       `db:"assigned"`
	Active     int       `db:"active"`
	Usage      int64     `db:"usage"`
}

const insightsHistorySQL = `
SELECT p.key AS product_key, i.day, i.purchased, i.assigned, i.active, i.usage
FROM insights_snapshot i JOIN product p ON p.id = i.product_id
WHERE i.account_id = $1 AND i.day > $2::date
ORDER BY p.key, i.day`

// InsightsHistory lists the account's snapshots of the last `days` days,
// per product, oldest first.
func (s *Store) InsightsHistory(ctx context.Context, accountID int64, days int) ([]InsightsDay, error) {
	var out []InsightsDay
	since := s.Now().Truncate(24*time.Hour).AddDate(0, 0, -days)
	err := s.selectPrepared(ctx, &out, insightsHistorySQL, accountID, since)
	for i := range out {
		out[i].Day = out[i].Day.UTC()
	}
	return out, err
}

// Trend is the product's snapshot days with today's point taken from the
// live figures (the tiles', /seats' and the overview's), not from the
// last snapshot, which the job writes only now and then: the chart's last
// point and the tiles always agree.
func (p ProductInsight) Trend(history []InsightsDay, now time.Time) []InsightsDay {
	today := licensing.PeriodStart(licensing.Daily, now)
	var out []InsightsDay
	for _, d := range history {
		if d.ProductKey == p.Pool.ProductKey && d.Day.Before(today) {
			out = append(out, d)
		}
	}
	return append(out, InsightsDay{ProductKey: p.Pool.ProductKey, Day: today, Purchased: p.Pool.Effective,
		Assigned: p.Pool.Assigned, Active: p.Active, Usage: p.UsageToday})
}

// SeatUse is one check that named a seat holder: the account, the product
// and the user as the check named them (a user id or an address).
type SeatUse struct {
	AccountID int64
	Product   string
	User      string
}

const recordSeatUseSQL = `
UPDATE seat_assignment sa SET last_used_at = greatest(sa.last_used_at, y.at)
FROM (SELECT sa.id, max(x.at) AS at
      FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[]) AS x(account_id, product, usr, at)
      JOIN subscription s ON s.account_id = x.account_id
      JOIN product p ON p.id = s.product_id AND p.key = x.product
      JOIN seat_assignment sa ON sa.subscription_id = s.id
      JOIN membership m ON m.account_id = sa.account_id AND m.id = sa.membership_id
      JOIN app_user u ON u.id = m.user_id AND (u.id::text = x.usr OR lower(u.email) = x.usr)
      GROUP BY sa.id) y
WHERE sa.id = y.id`

// RecordSeatUse writes a batch of seats' last use (the entitlement API
// gathers them in memory and flushes every few seconds).
func (s *Store) RecordSeatUse(ctx context.Context, used map[SeatUse]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	var accounts []int64
	var products, users []string
	var ats []time.Time
	for k, at := range used {
		accounts, products, users = append(accounts, k.AccountID), append(products, k.Product), append(users, strings.ToLower(strings.TrimSpace(k.User)))
		ats = append(ats, at)
	}
	_, err := s.db.ExecContext(ctx, recordSeatUseSQL, pq.Array(accounts), pq.Array(products), pq.Array(users), pq.Array(ats))
	return err
}

// ReportRow is one seat holder in the compliance report.
type ReportRow struct {
	Email          string        `db:"email"`
	Name           string        `db:"name"`
	Role           string        `db:"role"`
	Product        string        `db:"product"`
	AssignedAt     time.Time     `db:"assigned_at"`
	LastSignInAt   sql.NullTime  `db:"last_sign_in_at"`
	LastUsedAt     sql.NullTime  `db:"last_used_at"`
	AuditID        sql.NullInt64 `db:"audit_id"`
	ActorType      string        `db:"actor_type"`
	ActorLabel     string        `db:"actor_label"`
	MembershipID   int64         `db:"membership_id"`
	SubscriptionID int64         `db:"subscription_id"`
	Source         string        `db:"source"` // manual or rule (provisioning, #8)
	Pinned         bool          `db:"pinned"`
	RuleGroup      string        `db:"rule_group"`
}

// How tells how the seat was given: by a person (manual) or by Entitle
// (auto-assign, a provisioning rule), as the assignment's audit entry
// records it.
func (r ReportRow) How() string {
	switch {
	case r.Source == "rule" && r.RuleGroup != "":
		return "rule: group " + r.RuleGroup
	case r.Source == "rule":
		return "rule"
	case r.Pinned:
		return "pinned"
	}
	switch r.ActorType {
	case "user", "staff":
		return "manual"
	case "":
		return "unknown"
	}
	if r.ActorLabel != "" {
		return r.ActorLabel
	}
	return r.ActorType
}

// The assignment's audit entry is the latest seat.assign of that member and
// subscription: one pass over the account's seat.assign entries (index
// audit_entry_account_action_idx), joined by hash.
const complianceReportSQL = `
WITH assigned AS (
  SELECT DISTINCT ON (a.target_id, a.after->>'subscription') a.id, a.target_id, a.after->>'subscription' AS sub,
         a.actor_type, a.actor_label
  FROM audit_entry a
  WHERE a.account_id = $1 AND a.action = 'seat.assign'
  ORDER BY a.target_id, a.after->>'subscription', a.id DESC)
SELECT u.email, u.name, m.role, p.name AS product, sa.assigned_at, m.last_sign_in_at, sa.last_used_at,
       x.id AS audit_id, coalesce(x.actor_type, '') AS actor_type, coalesce(x.actor_label, '') AS actor_label,
       m.id AS membership_id, s.id AS subscription_id,
       sa.source, sa.pinned, coalesce(g.display_name, '') AS rule_group
FROM seat_assignment sa
LEFT JOIN provisioning_rule r ON r.account_id = sa.account_id AND r.id = sa.rule_id
LEFT JOIN idp_group g ON g.account_id = r.account_id AND g.id = r.group_id
JOIN subscription s ON s.id = sa.subscription_id
JOIN product p ON p.id = s.product_id
JOIN membership m ON m.account_id = sa.account_id AND m.id = sa.membership_id
JOIN app_user u ON u.id = m.user_id
LEFT JOIN assigned x ON x.target_id = m.id::text AND x.sub = s.id::text
WHERE sa.account_id = $1
ORDER BY p.key, lower(u.email)`

// ComplianceReport lists every seat holder of the account with how and when
// they got the seat, their last sign-in and use, and the audit entry of the
// assignment.
func (s *Store) ComplianceReport(ctx context.Context, accountID int64) ([]ReportRow, error) {
	var out []ReportRow
	err := s.db.SelectContext(ctx, &out, complianceReportSQL, accountID)
	return out, err
}
