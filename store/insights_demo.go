package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/entitle-dev/entitle/licensing"
)

// Demo history: 90 days of snapshots (seats and usage per day)
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
	// This period's days show the usage events' daily sums, as the
	// snapshot job writes them.
	demoPeriodUsageSQL = `
UPDATE insights_snapshot i SET usage = coalesce((
  SELECT sum(u.quantity) FROM usage_event u JOIN feature f ON f.id = u.feature_id
  WHERE u.account_id = i.account_id AND f.product_id = i.product_id AND f.kind = 'metered'
    AND u.occurred_at >= i.day AND u.occurred_at < i.day + 1), 0)
WHERE i.day >= date_trunc('month', $1::timestamptz AT TIME ZONE 'UTC')::date`
)

// seedDemoUsage spreads the period's API calls so far over its days, one
// event a day (today's at now), so that the daily chart shows each day's
// use and the days add up to the figure the overview shows.
func seedDemoUsage(ctx context.Context, tx *sqlx.Tx, accountID, calls int64, now time.Time) error {
	if calls <= 0 {
		return nil
	}
	start := licensing.PeriodStart(licensing.Monthly, now)
	days := int64(now.Sub(start)/(24*time.Hour)) + 1
	perDay := calls / days
	for i := range days {
		at, n := start.AddDate(0, 0, int(i)).Add(12*time.Hour), perDay
		if i == days-1 {
			at, n = now, calls-perDay*(days-1)
		}
		key := "demo-seed-" + at.Format(time.DateOnly)
		if _, err := tx.ExecContext(ctx, insertUsageSQL, accountID, "analytics", n, key, at); err != nil {
			return err
		}
	}
	return nil
}

func seedDemoInsights(ctx context.Context, tx *sqlx.Tx, now time.Time) error {
	for _, q := range []struct {
		sql string
		arg any
	}{
		{demoSeatsAgeSQL, now.AddDate(0, 0, -95)},
		{demoLastUseSQL, now},
		{demoSnapshotsSQL, now.Truncate(24 * time.Hour)},
		{demoPeriodUsageSQL, now},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.arg); err != nil {
			return err
		}
	}
	return nil
}
