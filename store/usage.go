package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/entitle-dev/entitle/licensing"
)

// UsageReport is a vendor's application reporting usage of a metered (or
// limit) feature.
type UsageReport struct {
	Feature        string
	Quantity       int64
	IdempotencyKey string
	APIKeyID       int64 // 0: not reported through an API key
}

// UsageResult is what recording a report did.
type UsageResult struct {
	EventID    int64
	Feature    string
	Quantity   int64
	RecordedAt time.Time
	// Replayed: the idempotency key was seen before, so nothing new was
	// counted; the result describes the original event.
	Replayed bool
	// Decision is the feature's decision after the report.
	Decision licensing.Decision
}

// ErrIdempotencyKeyReused: the idempotency key was already used for a
// report of another feature or quantity.
var ErrIdempotencyKeyReused = fmt.Errorf("idempotency key already used for a different report: %w", ErrConflict)

// usageLockClass serialises one account's usage reports ("US"), so that
// two reports cannot both fit under a limit that has room for one.
const usageLockClass = 0x5553

const (
	lockUsageSQL      = `SELECT pg_advisory_xact_lock($1, $2::int)`
	usageByIdemKeySQL = `
SELECT u.id, f.key AS feature, u.quantity, u.recorded_at
FROM usage_event u JOIN feature f ON f.id = u.feature_id
WHERE u.account_id = $1 AND u.idempotency_key = $2`
	insertUsageEventSQL = `
INSERT INTO usage_event (account_id, feature_id, quantity, idempotency_key, occurred_at, recorded_at, api_key_id)
SELECT $1, f.id, $4, $5, $6, $6, $7 FROM feature f JOIN product p ON p.id = f.product_id
WHERE p.key = $2 AND f.key = $3
RETURNING id`
)

// usageQueries are what a usage report runs, prepared (see stateQueries):
// reports come many a second, each under its account's usage lock.
var usageQueries = append(stateQueries[:len(stateQueries):len(stateQueries)],
	lockUsageSQL, usageByIdemKeySQL, insertUsageEventSQL, lockChangeSeqSQL, usageChangedSQL)

// maxUsageQuantity bounds one report, so that sums stay far from overflow.
const maxUsageQuantity = 1_000_000_000_000

// RecordUsage records a usage report once per idempotency key. Limits are
// hard: a report that would go past the limit, or any report while the
// account has no access to the feature, is refused with a
// *licensing.UsageRefusedError and nothing is recorded. Repeating a key
// returns the original event (Replayed) without counting it again; the same
// key with another feature or quantity is ErrIdempotencyKeyReused.
func (s *Store) RecordUsage(ctx context.Context, accountID int64, r UsageReport) (UsageResult, error) {
	problems := map[string]string{}
	if r.Feature == "" {
		problems["feature"] = "name the feature the usage is for"
	}
	if r.Quantity <= 0 || r.Quantity > maxUsageQuantity {
		problems["quantity"] = fmt.Sprintf("a whole number from 1 to %d", int64(maxUsageQuantity))
	}
	if k := r.IdempotencyKey; k == "" || len(k) > 255 || strings.ContainsFunc(k, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		problems["idempotency_key"] = "send an Idempotency-Key header: 1 to 255 printable ASCII characters without spaces, unique per report"
	}
	if len(problems) > 0 {
		return UsageResult{}, &ValidationError{Fields: problems}
	}
	var (
		res       UsageResult
		committed string // the change's payload, when it counted something
	)
	stmts, err := s.preparedSet(ctx, usageQueries)
	if err != nil {
		return UsageResult{}, err
	}
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		committed = ""
		ptx := preparedTx{Tx: tx, stmts: stmts}
		if err := ptx.exec(ctx, lockUsageSQL, usageLockClass, accountID); err != nil {
			return err
		}
		now := s.Now()
		var prev struct {
			ID         int64     `db:"id"`
			Feature    string    `db:"feature"`
			Quantity   int64     `db:"quantity"`
			RecordedAt time.Time `db:"recorded_at"`
		}
		err := ptx.get(ctx, &prev, usageByIdemKeySQL, accountID, r.IdempotencyKey)
		replay := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if replay && (prev.Feature != r.Feature || prev.Quantity != r.Quantity) {
			return ErrIdempotencyKeyReused
		}
		state, err := s.accountState(ctx, ptx, accountID, stateWithoutSeats)
		if err != nil {
			return err
		}
		product, feature, ok := state.FindFeature(r.Feature)
		if !ok {
			return fmt.Errorf("feature %q: %w", r.Feature, licensing.ErrUnknownFeature)
		}
		if replay {
			res = UsageResult{EventID: prev.ID, Feature: prev.Feature, Quantity: prev.Quantity, RecordedAt: prev.RecordedAt, Replayed: true}
			res.Decision, _ = product.Check(r.Feature, licensing.SeatNotChecked, now)
			return nil
		}
		d, err := licensing.AdmitUsage(product, r.Feature, r.Quantity, now)
		if errors.Is(err, licensing.ErrNotMetered) {
			return Invalid("feature", fmt.Sprintf("%q is not a metered or limit feature", r.Feature))
		}
		if err != nil {
			return err
		}
		res = UsageResult{Feature: r.Feature, Quantity: r.Quantity, RecordedAt: now, Decision: d}
		if err := ptx.get(ctx, &res.EventID, insertUsageEventSQL, accountID, product.Product, r.Feature,
			r.Quantity, r.IdempotencyKey, now, sql.NullInt64{Int64: r.APIKeyID, Valid: r.APIKeyID != 0}); err != nil {
			return err
		}
		// Usage events are their own append-only ledger (one row per key,
		// naming the API key that reported it); an audit entry for each
		// would bury the account's log in telemetry.
		if err := usageAlerts(ctx, tx, now, accountID, product.Product, feature, d, r.Quantity); err != nil {
			return err
		}
		// Announced with what it counted, so that caches add it to the
		// state they hold instead of reading the state again.
		change := UsageChange{AccountID: accountID, Product: product.Product, Feature: r.Feature, Quantity: r.Quantity, At: now}
		committed, err = announceUsage(ctx, ptx, &change)
		return err
	})
	if err != nil {
		return UsageResult{}, err
	}
	if committed != "" {
		s.committed(committed)
	}
	return res, nil
}

// UsagePeriod is the usage of one metered feature in one period.
type UsagePeriod struct {
	Feature     string    `db:"feature"`
	FeatureName string    `db:"feature_name"`
	Period      string    `db:"period"`
	Start       time.Time `db:"period_start"`
	Used        int64     `db:"used"`
}

const usageHistorySQL = `
SELECT f.key AS feature, f.name AS feature_name, f.period,
       date_trunc(CASE f.period WHEN 'day' THEN 'day' WHEN 'year' THEN 'year' ELSE 'month' END, u.occurred_at, 'UTC') AS period_start,
       sum(u.quantity)::bigint AS used
FROM usage_event u JOIN feature f ON f.id = u.feature_id
WHERE u.account_id = $1 AND f.kind = 'metered' AND u.occurred_at >= $2
GROUP BY f.key, f.name, f.period, f.position, period_start
ORDER BY f.position, f.key, period_start DESC`

// UsageHistory sums each metered feature's usage per period (its own day,
// month or year, in UTC), newest first, at most the last `periods` periods
// that had usage, over the past two years.
func (s *Store) UsageHistory(ctx context.Context, accountID int64, periods int) ([]UsagePeriod, error) {
	var rows []UsagePeriod
	if err := s.db.SelectContext(ctx, &rows, usageHistorySQL, accountID, s.Now().AddDate(-2, 0, 0)); err != nil {
		return nil, err
	}
	out := rows[:0]
	seen := map[string]int{}
	for _, r := range rows {
		if seen[r.Feature] < periods {
			seen[r.Feature]++
			r.Start = r.Start.UTC()
			out = append(out, r)
		}
	}
	return out, nil
}
