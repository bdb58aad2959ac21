package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// Answers of a reclaim, per seat holder.
const (
	SeatReclaimed = "reclaimed"
	SeatNotIdle   = "not_idle"
)

const (
	lockReclaimPoolSQL = `SELECT id FROM subscription WHERE account_id = $1 AND id = $2 FOR UPDATE`
	lockIdleDaysSQL    = `SELECT idle_days FROM account WHERE id = $1`
	reclaimCandidates  = `
SELECT sa.subscription_id, sa.membership_id, u.email, u.name, sa.assigned_at, sa.last_used_at, m.last_sign_in_at
FROM seat_assignment sa
JOIN membership m ON m.account_id = sa.account_id AND m.id = sa.membership_id
JOIN app_user u ON u.id = m.user_id
WHERE sa.account_id = $1 AND sa.subscription_id = $2 AND (cardinality($3::bigint[]) = 0 OR sa.membership_id = ANY($3))
ORDER BY sa.membership_id
FOR UPDATE OF sa`
	reclaimSeatSQL    = `DELETE FROM seat_assignment WHERE account_id = $1 AND subscription_id = $2 AND membership_id = $3`
	productOfSubSQL   = `SELECT p.name FROM subscription s JOIN product p ON p.id = s.product_id WHERE s.account_id = $1 AND s.id = $2`
	autoReclaimersSQL = `
SELECT a.id AS account_id, a.auto_reclaim_days, s.id AS subscription_id
FROM account a JOIN subscription s ON s.account_id = a.id
WHERE a.auto_reclaim_days IS NOT NULL ORDER BY a.id, s.id`
	setInsightsSettingsSQL = `UPDATE account SET idle_days = $2, auto_reclaim_days = $3 WHERE id = $1`
)

// ReclaimResult answers one seat holder of a reclaim.
type ReclaimResult struct {
	MembershipID int64
	Email        string
	LastActivity time.Time
	Outcome      string // reclaimed, not_idle, not_held
}

// ReclaimIdleSeats takes back the seats of subscription subID held by the
// members named (all of the pool's holders when none is named) that are
// idle at the store's clock; the others are answered not_idle and keep
// their seat. Each reclaim is audited (seat.reclaim) and the holder is
// told by mail. dryRun answers the same without changing anything (the
// preview). Ids outside the account are ErrNotFound.
func (s *Store) ReclaimIdleSeats(ctx context.Context, p Principal, subID int64, membershipIDs []int64, dryRun bool) ([]ReclaimResult, error) {
	now := s.Now()
	var results []ReclaimResult
	err := s.txPreview(ctx, dryRun, func(tx *sqlx.Tx) error {
		if _, err := authorize(ctx, tx, p, licensing.ReclaimSeats); err != nil {
			return err
		}
		if len(membershipIDs) > 0 {
			if _, err := targetsByID(ctx, tx, p.AccountID, membershipIDs); err != nil {
				return err
			}
		}
		var idleDays int
		if err := tx.GetContext(ctx, &idleDays, lockIdleDaysSQL, p.AccountID); err != nil {
			return err
		}
		var err error
		results, err = reclaimLocked(ctx, tx, now, p.AccountID, p.actor(), subID, membershipIDs, idleDays)
		return err
	})
	return results, err
}

// reclaimLocked locks the pool and the seats named, and unassigns those
// idle at now after idleDays.
func reclaimLocked(ctx context.Context, tx *sqlx.Tx, now time.Time, accountID int64, actor Actor, subID int64,
	ids []int64, idleDays int) ([]ReclaimResult, error) {
	var locked int64
	if err := tx.GetContext(ctx, &locked, lockReclaimPoolSQL, accountID, subID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	if ids == nil {
		ids = []int64{}
	}
	var seats []SeatActivity
	if err := tx.SelectContext(ctx, &seats, reclaimCandidates, accountID, subID, pq.Array(ids)); err != nil {
		return nil, err
	}
	var product string
	if err := tx.GetContext(ctx, &product, productOfSubSQL, accountID, subID); err != nil {
		return nil, err
	}
	held := map[int64]bool{}
	var results []ReclaimResult
	for _, a := range seats {
		held[a.MembershipID] = true
		r := ReclaimResult{MembershipID: a.MembershipID, Email: a.Email, LastActivity: a.LastActivity(), Outcome: SeatNotIdle}
		if a.Idle(now, idleDays) {
			r.Outcome = SeatReclaimed
			if _, err := tx.ExecContext(ctx, reclaimSeatSQL, accountID, subID, a.MembershipID); err != nil {
				return nil, err
			}
			last := any(nil)
			if !r.LastActivity.IsZero() {
				last = r.LastActivity
			}
			if err := audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "seat.reclaim",
				TargetType: "membership", TargetID: itoa(a.MembershipID),
				Before: map[string]any{"email": a.Email, "subscription": subID, "last_activity": last, "idle_days": idleDays}}); err != nil {
				return nil, err
			}
			if err := enqueueMail(ctx, tx, now, accountID, Mail{Kind: "seat_reclaimed", To: a.Email,
				Subject: "Your " + product + " seat was reclaimed",
				Body: fmt.Sprintf("Your seat of %s was not used for %d days, so it was given back to your organisation.\n"+
					"Ask an administrator if you need it again.\n", product, idleDays)}); err != nil {
				return nil, err
			}
		}
		results = append(results, r)
	}
	for _, id := range ids {
		if !held[id] {
			results = append(results, ReclaimResult{MembershipID: id, Outcome: SeatNotHeld})
			held[id] = true
		}
	}
	return results, nil
}

// AutoReclaim runs every account's automatic reclaim policy: seats idle for
// the account's auto_reclaim_days are taken back, audited as the system.
// It answers how many seats were reclaimed.
func (s *Store) AutoReclaim(ctx context.Context) (int, error) {
	var pools []struct {
		AccountID int64 `db:"account_id"`
		Days      int   `db:"auto_reclaim_days"`
		SubID     int64 `db:"subscription_id"`
	}
	if err := s.db.SelectContext(ctx, &pools, autoReclaimersSQL); err != nil {
		return 0, err
	}
	n := 0
	for _, p := range pools {
		now := s.Now()
		err := s.tx(ctx, func(tx *sqlx.Tx) error {
			results, err := reclaimLocked(ctx, tx, now, p.AccountID, SystemActor("auto-reclaim"), p.SubID, nil, p.Days)
			for _, r := range results {
				if r.Outcome == SeatReclaimed {
					n++
				}
			}
			return err
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// SetInsightsSettings changes the account's idle threshold and automatic
// reclaim (0: off), audited.
func (s *Store) SetInsightsSettings(ctx context.Context, p Principal, idleDays, autoReclaimDays int) error {
	if idleDays < 1 || idleDays > 365 {
		return Invalid("idle_days", "between 1 and 365 days")
	}
	if autoReclaimDays < 0 || autoReclaimDays > 365 {
		return Invalid("auto_reclaim_days", "between 1 and 365 days, or 0 for never")
	}
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := authorize(ctx, tx, p, licensing.ReclaimSeats); err != nil {
			return err
		}
		auto := nullInt(int64(autoReclaimDays))
		if _, err := tx.ExecContext(ctx, setInsightsSettingsSQL, p.AccountID, idleDays, auto); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: p.AccountID, Actor: p.actor(), Action: "insights.settings",
			TargetType: "account", TargetID: itoa(p.AccountID),
			After: map[string]any{"idle_days": idleDays, "auto_reclaim_days": autoReclaimDays}})
	})
}

func nullInt(n int64) sql.NullInt64 { return sql.NullInt64{Int64: n, Valid: n != 0} }
