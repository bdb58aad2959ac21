package store

import (
	"context"
	"time"

	"github.com/entitle-dev/entitle/licensing"
)

// The vendor's insights across all accounts. These read every
// account at once, so the idle and active rules (licensing.IsIdle,
// IsActive) are written here as SQL over the same columns.

// VendorInsights is the console's insights page.
type VendorInsights struct {
	Sold, Assigned, Active int
	Waste                  []VendorAccount // most idle seats first
	OverAllocated          []VendorAccount
	TrialsEnding           []VendorAccount
	PastDue                []VendorAccount
	DriftRepairs           int
	FailedEvents           int
}

// VendorAccount is one account in a vendor list, with its figure.
type VendorAccount struct {
	Slug   string    `db:"slug"`
	Name   string    `db:"name"`
	Number int       `db:"number"`
	Status string    `db:"status"`
	At     time.Time `db:"at"`
}

const (
	vendorTotalsSQL = `
SELECT (SELECT coalesce(sum(seats), 0) FROM subscription WHERE status <> 'canceled') AS sold,
       (SELECT count(*) FROM seat_assignment) AS assigned,
       (SELECT count(*) FROM seat_assignment sa JOIN membership m ON m.account_id = sa.account_id AND m.id = sa.membership_id
         WHERE greatest(sa.last_used_at, m.last_sign_in_at) > $1) AS active,
       (SELECT count(*) FROM stripe_event WHERE processed_at IS NULL AND failed_at IS NOT NULL) AS failed`
	vendorWasteSQL = `
SELECT a.slug, a.name, count(*) AS number, '' AS status, now() AS at
FROM seat_assignment sa
JOIN account a ON a.id = sa.account_id
JOIN membership m ON m.account_id = sa.account_id AND m.id = sa.membership_id
WHERE coalesce(greatest(sa.last_used_at, m.last_sign_in_at), sa.assigned_at) <= $1::timestamptz - make_interval(days => a.idle_days)
GROUP BY a.id ORDER BY number DESC, a.slug LIMIT 20`
	vendorOverSQL = `
SELECT a.slug, a.name, (x.assigned - x.pool)::int AS number, x.status, now() AS at
FROM (SELECT s.account_id, s.status,
             s.seats_assigned AS assigned,
             s.seats + coalesce((SELECT sum(g.amount) FROM entitlement_grant g
               WHERE g.account_id = s.account_id AND g.product_id = s.product_id AND g.kind = 'extra_seats'
                 AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $1)), 0) AS pool
      FROM subscription s JOIN plan_version pv ON pv.id = s.plan_version_id
      WHERE pv.seat_based AND s.status <> 'canceled') x
JOIN account a ON a.id = x.account_id
WHERE x.assigned > x.pool ORDER BY number DESC, a.slug LIMIT 50`
	vendorTrialsSQL = `
SELECT a.slug, a.name, 0 AS number, s.status, s.trial_ends_at AS at
FROM subscription s JOIN account a ON a.id = s.account_id
WHERE s.status = 'trialing' AND s.trial_ends_at > $1 AND s.trial_ends_at <= $1::timestamptz + interval '7 days'
ORDER BY s.trial_ends_at, a.slug LIMIT 50`
	vendorPastDueSQL = `
SELECT a.slug, a.name, 0 AS number, s.status, coalesce(s.past_due_since, s.updated_at) AS at
FROM subscription s JOIN account a ON a.id = s.account_id
WHERE s.status IN ('past_due', 'suspended') AND $1::timestamptz IS NOT NULL
ORDER BY s.status, at, a.slug LIMIT 50`
)

// VendorInsights gathers the console's figures at the store's clock.
func (s *Store) VendorInsights(ctx context.Context) (VendorInsights, error) {
	now := s.Now()
	var out VendorInsights
	var totals struct {
		Sold     int `db:"sold"`
		Assigned int `db:"assigned"`
		Active   int `db:"active"`
		Failed   int `db:"failed"`
	}
	if err := s.db.GetContext(ctx, &totals, vendorTotalsSQL, now.Add(-licensing.ActiveWindow)); err != nil {
		return out, err
	}
	out.Sold, out.Assigned, out.Active, out.FailedEvents = totals.Sold, totals.Assigned, totals.Active, totals.Failed
	for _, q := range []struct {
		dst *[]VendorAccount
		sql string
	}{{&out.Waste, vendorWasteSQL}, {&out.OverAllocated, vendorOverSQL}, {&out.TrialsEnding, vendorTrialsSQL}, {&out.PastDue, vendorPastDueSQL}} {
		if err := s.db.SelectContext(ctx, q.dst, q.sql, now); err != nil {
			return out, err
		}
	}
	var err error
	out.DriftRepairs, err = s.driftRepairs(ctx, now.Add(-24*time.Hour))
	return out, err
}

const driftRepairsSQL = `SELECT count(*) FROM audit_entry WHERE at > $1 AND after->>'cause' LIKE 'drift repaired:%'`

// driftRepairs counts the reconciler's drift repairs since `since`
// (provisioning, #8), from their audit entries.
func (s *Store) driftRepairs(ctx context.Context, since time.Time) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, driftRepairsSQL, since)
	return n, err
}
