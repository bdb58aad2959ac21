package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// Insights: allocation, consumption, waste and compliance. The
// rules (idle, active, forecast, status) are licensing's; this reads the
// facts they are decided from.

// InsightsSettings is an account's idle threshold and reclaim policy.
type InsightsSettings struct {
	IdleDays        int           `db:"idle_days"`
	AutoReclaimDays sql.NullInt64 `db:"auto_reclaim_days"` // NULL: no automatic reclaim
}

// SeatActivity is one seat with what says whether it is used.
type SeatActivity struct {
	SubscriptionID int64        `db:"subscription_id"`
	MembershipID   int64        `db:"membership_id"`
	Email          string       `db:"email"`
	Name           string       `db:"name"`
	AssignedAt     time.Time    `db:"assigned_at"`
	LastUsedAt     sql.NullTime `db:"last_used_at"`
	LastSignInAt   sql.NullTime `db:"last_sign_in_at"`
}

// Idle reports whether the seat is idle at now after idleDays.
func (a SeatActivity) Idle(now time.Time, idleDays int) bool {
	return licensing.IsIdle(a.LastUsedAt.Time, a.LastSignInAt.Time, a.AssignedAt, now, idleDays)
}

// Active reports whether the holder was active in the last 30 days.
func (a SeatActivity) Active(now time.Time) bool {
	return licensing.IsActive(a.LastUsedAt.Time, a.LastSignInAt.Time, now)
}

// LastActivity is the latest use or sign-in (zero: never).
func (a SeatActivity) LastActivity() time.Time {
	return licensing.LastActivity(a.LastUsedAt.Time, a.LastSignInAt.Time)
}

const (
	insightsSettingsSQL = `SELECT idle_days, auto_reclaim_days FROM account WHERE id = $1`
	// Counts per pool with licensing's cutoffs (IsActive, IsIdle as SQL:
	// the store tests hold them to the same boundaries), then the idle
	// holders listed, least recently active first.
	// seatActivitySQL joins the account's seats with their holders once and
	// answers both the figures of each pool (active and idle counts) and its
	// IdleListed least recently active idle holders, named: one row per
	// listed holder carrying its pool's counts, or one row without a holder
	// for a pool with none idle. Only the listed rows read the user table.
	seatActivitySQL = `
WITH seat AS MATERIALIZED (
  SELECT sa.subscription_id, sa.membership_id, m.user_id, sa.assigned_at, sa.last_used_at, m.last_sign_in_at,
         greatest(sa.last_used_at, m.last_sign_in_at) AS seen
  FROM seat_assignment sa
  JOIN membership m ON m.account_id = sa.account_id AND m.id = sa.membership_id
  WHERE sa.account_id = $1),
figures AS (
  SELECT subscription_id,
         count(*) FILTER (WHERE seen > $2) AS active,
         count(*) FILTER (WHERE coalesce(seen, assigned_at) <= $3) AS idle
  FROM seat GROUP BY subscription_id),
listed AS (
  SELECT * FROM (
    SELECT seat.*, row_number() OVER (PARTITION BY subscription_id ORDER BY seen ASC NULLS FIRST, membership_id) AS n
    FROM seat WHERE coalesce(seen, assigned_at) <= $3) x
  WHERE n <= $4)
SELECT f.subscription_id, f.active, f.idle,
       l.membership_id, u.email, u.name, l.assigned_at, l.last_used_at, l.last_sign_in_at
FROM figures f
LEFT JOIN listed l ON l.subscription_id = f.subscription_id
LEFT JOIN LATERAL (SELECT email, name FROM app_user WHERE id = l.user_id LIMIT 1) u ON true
ORDER BY f.subscription_id, l.n`
)

// IdleListed is how many idle holders per product Insights names (the
// least recently active first); IdleCount counts them all.
const IdleListed = 100

// InsightsSettings reads the account's idle threshold and reclaim policy.
func (s *Store) InsightsSettings(ctx context.Context, accountID int64) (InsightsSettings, error) {
	var out InsightsSettings
	err := s.db.GetContext(ctx, &out, insightsSettingsSQL, accountID)
	if err == sql.ErrNoRows {
		return out, ErrNotFound
	}
	return out, err
}

// ProductInsight is one product's figures on the insights page.
type ProductInsight struct {
	Pool      SeatPool
	Active    int
	Idle      []SeatActivity // the IdleListed least recently active, named
	IdleCount int
	Waiting   int // the waiting list (provisioning)
	Metered   []MeteredInsight
	// UsageToday is the product's metered use since the start of today
	// (UTC): the trend chart's live last point.
	UsageToday int64
	PastDue    bool
	Canceled   bool
}

// MeteredInsight is a metered or limited feature's usage in its period.
type MeteredInsight struct {
	Feature, Name string
	Period        licensing.Period
	Used          int64
	Limit         *int64
	Forecast      int64
	PeriodEnd     time.Time
}

// AccountInsights is everything the customer's insights page shows.
type AccountInsights struct {
	Settings   InsightsSettings
	Products   []ProductInsight
	Compliance licensing.Compliance
	At         time.Time
}

// Insights gathers the account's figures at the store's clock. checker
// answers the metered figures (the API's cached one); nil reads the state.
// Its statements are prepared: the page and its live fragment run them on
// every load and every change, and planning them cost more than running
// them.
func (s *Store) Insights(ctx context.Context, accountID int64, checker *licensing.Checker) (AccountInsights, error) {
	now := s.Now()
	out := AccountInsights{At: now}
	facts, err := s.insightsFacts(ctx, accountID, now)
	if err != nil {
		return out, err
	}
	out.Settings = facts.InsightsSettings
	pools, err := s.SeatPools(ctx, accountID)
	if err != nil {
		return out, err
	}
	var rows []struct {
		SubID        int64          `db:"subscription_id"`
		Active       int            `db:"active"`
		Idle         int            `db:"idle"`
		MembershipID sql.NullInt64  `db:"membership_id"`
		Email        sql.NullString `db:"email"`
		Name         sql.NullString `db:"name"`
		AssignedAt   sql.NullTime   `db:"assigned_at"`
		LastUsedAt   sql.NullTime   `db:"last_used_at"`
		LastSignInAt sql.NullTime   `db:"last_sign_in_at"`
	}
	cutoff := licensing.IdleCutoff(now, out.Settings.IdleDays)
	if err := s.selectPrepared(ctx, &rows, seatActivitySQL, accountID, licensing.ActiveCutoff(now), cutoff, IdleListed); err != nil {
		return out, err
	}
	type seatFigures struct{ active, idle int }
	figures := map[int64]seatFigures{}
	var idle []SeatActivity
	for _, r := range rows {
		figures[r.SubID] = seatFigures{r.Active, r.Idle}
		if r.MembershipID.Valid {
			idle = append(idle, SeatActivity{SubscriptionID: r.SubID, MembershipID: r.MembershipID.Int64, Email: r.Email.String,
				Name: r.Name.String, AssignedAt: r.AssignedAt.Time, LastUsedAt: r.LastUsedAt, LastSignInAt: r.LastSignInAt})
		}
	}
	waiting, today := facts.waiting(), facts.usageToday()
	if checker == nil {
		state, err := s.AccountState(ctx, accountID)
		if err != nil {
			return out, err
		}
		checker = licensing.NewChecker(state)
	}
	checks := checker.CheckAll("", now)
	var status licensing.ComplianceFacts
	for _, p := range pools {
		pi := ProductInsight{Pool: p, Waiting: waiting[p.SubscriptionID], UsageToday: today[p.ProductID],
			PastDue:  p.Status == string(licensing.PastDue) || p.Status == string(licensing.Suspended),
			Canceled: p.Status == string(licensing.Canceled)}
		if f, ok := figures[p.SubscriptionID]; ok {
			pi.Active, pi.IdleCount = f.active, f.idle
		}
		for _, a := range idle {
			if a.SubscriptionID == p.SubscriptionID {
				pi.Idle = append(pi.Idle, a)
			}
		}
		for _, r := range checks {
			if r.Product != p.ProductKey || (r.Feature.Kind != licensing.Metered && r.Feature.Kind != licensing.Limit) {
				continue
			}
			m := MeteredInsight{Feature: r.Feature.Key, Name: r.Feature.Name, Period: r.Feature.Period,
				Used: r.Decision.Used, Limit: r.Decision.Limit, Forecast: r.Decision.Used}
			if r.Feature.Kind == licensing.Metered {
				start, end := licensing.PeriodStart(r.Feature.Period, now), licensing.ForecastEnd(r.Feature.Period, now, p.PeriodEnd.Time)
				m.Forecast, m.PeriodEnd = licensing.Forecast(r.Decision.Used, start, end, now), end
			}
			pi.Metered = append(pi.Metered, m)
		}
		if pi.PastDue {
			status.PastDueProducts = append(status.PastDueProducts, p.ProductName)
		}
		if p.Over() > 0 {
			status.OverAllocated = append(status.OverAllocated, p.ProductName)
		}
		out.Products = append(out.Products, pi)
	}
	status.DriftCount = facts.Drift
	out.Compliance = licensing.ComplianceStatus(status)
	return out, nil
}

// insightsFactsSQL answers the figures that are one small query each in one
// round trip: the idle policy, the waiting list per subscription
// (provisioning), the metered use per product since the start of today
// (UTC, as the daily snapshot counts it: the trend chart's live last point)
// and the reconciler's drift repairs of the last day (audit entries whose
// cause says so).
const insightsFactsSQL = `
SELECT a.idle_days, a.auto_reclaim_days,
       ARRAY(SELECT subscription_id FROM waiting_entry WHERE account_id = a.id
             GROUP BY subscription_id ORDER BY subscription_id) AS waiting_subs,
       ARRAY(SELECT count(*) FROM waiting_entry WHERE account_id = a.id
             GROUP BY subscription_id ORDER BY subscription_id) AS waiting_counts,
       ARRAY(SELECT f.product_id FROM usage_event u JOIN feature f ON f.id = u.feature_id
             WHERE u.account_id = a.id AND f.kind = 'metered' AND u.occurred_at >= $2 AND u.occurred_at <= $3
             GROUP BY f.product_id ORDER BY f.product_id) AS usage_products,
       ARRAY(SELECT sum(u.quantity)::bigint FROM usage_event u JOIN feature f ON f.id = u.feature_id
             WHERE u.account_id = a.id AND f.kind = 'metered' AND u.occurred_at >= $2 AND u.occurred_at <= $3
             GROUP BY f.product_id ORDER BY f.product_id) AS usage_sums,
       (SELECT count(*) FROM audit_entry
        WHERE account_id = a.id AND at > $4 AND after->>'cause' LIKE 'drift repaired:%') AS drift
FROM account a WHERE a.id = $1`

// insightsFacts is insightsFactsSQL's row.
type insightsFacts struct {
	InsightsSettings
	WaitingSubs   pq.Int64Array `db:"waiting_subs"`
	WaitingCounts pq.Int64Array `db:"waiting_counts"`
	UsageProducts pq.Int64Array `db:"usage_products"`
	UsageSums     pq.Int64Array `db:"usage_sums"`
	Drift         int           `db:"drift"`
}

func (s *Store) insightsFacts(ctx context.Context, accountID int64, now time.Time) (insightsFacts, error) {
	var out insightsFacts
	err := s.getPrepared(ctx, &out, insightsFactsSQL, accountID, licensing.PeriodStart(licensing.Daily, now), now, now.Add(-24*time.Hour))
	if err == sql.ErrNoRows {
		return out, ErrNotFound
	}
	return out, err
}

// waiting is the waiting list per subscription.
func (f insightsFacts) waiting() map[int64]int {
	out := make(map[int64]int, len(f.WaitingSubs))
	for i, id := range f.WaitingSubs {
		out[id] = int(f.WaitingCounts[i])
	}
	return out
}

// usageToday is the metered use per product since the start of today.
func (f insightsFacts) usageToday() map[int64]int64 {
	out := make(map[int64]int64, len(f.UsageProducts))
	for i, id := range f.UsageProducts {
		out[id] = f.UsageSums[i]
	}
	return out
}
