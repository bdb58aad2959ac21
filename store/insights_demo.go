package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
)

// Demo history (issue #9): 90 days of snapshots (seats and usage per day)
// and each seat's last use, so that `make run` shows real charts, idle seats to
// reclaim and a compliance status. Two of Globex's holders (carol, dave)
// have not used their seat for 45 days.

const (
	demoSeatsAgeSQL = `UPDATE seat_assignment SET assigned_at = $1`
	demoLastUseSQL  = `
UPDATE seat_assignment sa SET last_used_at = CASE
    WHEN u.email IN ('carol@globex.test', 'dave@globex.test') THEN $1::timestamptz - interval '45 days'
    ELSE $1::timestamptz - (sa.membership_id % 7) * interval '5 hours' END
FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = sa.account_id AND m.id = sa.membership_id`
	// Assigned seats ramp up over the 90 days, active seats follow them
	// (lower since the idle pair stopped 45 days ago), usage has a weekly
	// rhythm; the figures are deterministic. The usage events of past
	// periods are not invented: the snapshots carry the daily figures.
	demoSnapshotsSQL = `
INSERT INTO insights_snapshot (account_id, product_id, day, purchased, assigned, active, usage)
SELECT x.account_id, x.product_id, ($1::date - k), x.seats,
       greatest(1, round(x.n * (0.6 + 0.4 * (90 - k) / 90.0)))::int,
       greatest(1, round(x.n * (0.6 + 0.4 * (90 - k) / 90.0)) - CASE WHEN k < 45 AND x.slug = 'globex' THEN 2 ELSE 0 END)::int,
       (40 + (x.account_id * 37 + k * 13) % 60 + CASE WHEN extract(isodow FROM $1::date - k) >= 6 THEN -30 ELSE 60 END)::bigint
FROM (SELECT s.account_id, s.product_id, s.seats, acc.slug,
             (SELECT count(*) FROM seat_assignment sa WHERE sa.subscription_id = s.id) AS n
      FROM subscription s JOIN account acc ON acc.id = s.account_id) x
CROSS JOIN generate_series(0, 89) AS k
ON CONFLICT DO NOTHING`
)

func seedDemoInsights(ctx context.Context, tx *sqlx.Tx, now time.Time) error {
	for _, q := range []struct {
		sql string
		arg any
	}{
		{demoSeatsAgeSQL, now.AddDate(0, 0, -95)},
		{demoLastUseSQL, now},
		{demoSnapshotsSQL, now.Truncate(24 * time.Hour)},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.arg); err != nil {
			return err
		}
	}
	return nil
}
