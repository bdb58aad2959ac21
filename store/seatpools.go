package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/entitle-dev/entitle/licensing"
)

// SeatPool is one subscription's seats: purchased, granted by the vendor,
// the pool they make (licensing.EffectiveSeats) and how many are assigned.
type SeatPool struct {
	SubscriptionID int64  `db:"id"`
	ProductID      int64  `db:"product_id"`
	ProductKey     string `db:"product_key"`
	ProductName    string `db:"product_name"`
	PlanName       string `db:"plan_name"`
	SeatBased      bool   `db:"seat_based"`
	Status         string `db:"status"`
	Purchased      int    `db:"seats"`
	Assigned       int    `db:"seats_assigned"`
	AutoAssign     bool   `db:"auto_assign"`
	Effective      int    `db:"-"` // purchased plus active extra-seat grants
	// PeriodEnd is the end of the current billing period (NULL: none known).
	PeriodEnd    sql.NullTime `db:"current_period_end"`
	TrialEndsAt  sql.NullTime `db:"trial_ends_at"`
	PastDueSince sql.NullTime `db:"past_due_since"`
	// CancelAtPeriodEnd: the subscription ends at PeriodEnd unless resumed
	// (no seats are sold for it meanwhile).
	CancelAtPeriodEnd bool `db:"cancel_at_period_end"`
}

// State is the lifecycle state evaluation reads: the page's banners take
// it from the pools they read anyway, not from a second read of the
// subscriptions.
func (p SeatPool) State() *licensing.SubscriptionState {
	return subscriptionState(p.Status, p.SeatBased, p.TrialEndsAt, p.PastDueSince)
}

// Granted is the seats vendor grants add to the purchased ones.
func (p SeatPool) Granted() int { return p.Effective - p.Purchased }

// Free is how many seats can still be assigned.
func (p SeatPool) Free() int { return max(p.Effective-p.Assigned, 0) }

// Over is how many seats are assigned beyond the pool (after a seat
// reduction or a downgrade): that many holders must be unassigned, by an
// admin's choice, before anyone else gets a seat.
func (p SeatPool) Over() int {
	if !p.SeatBased {
		return 0
	}
	return max(p.Assigned-p.Effective, 0)
}

const (
	seatPoolsSQL = `
SELECT s.id, s.product_id, p.key AS product_key, p.name AS product_name, pv.name AS plan_name, pv.seat_based,
       s.status, s.seats, s.auto_assign, s.current_period_end, s.trial_ends_at, s.past_due_since,
       s.seats_assigned, s.cancel_at_period_end
FROM subscription s
JOIN product p ON p.id = s.product_id
JOIN plan_version pv ON pv.id = s.plan_version_id
WHERE s.account_id = $1
ORDER BY p.key`
	accountSeatGrantsSQL = `
SELECT product_id, amount, expires_at FROM entitlement_grant
WHERE account_id = $1 AND kind = 'extra_seats' AND revoked_at IS NULL AND product_id IS NOT NULL`
)

// SeatPools lists an account's subscriptions with their seat figures at the
// store's clock.
func (s *Store) SeatPools(ctx context.Context, accountID int64) ([]SeatPool, error) {
	var pools []SeatPool
	if err := s.selectPrepared(ctx, &pools, seatPoolsSQL, accountID); err != nil {
		return nil, err
	}
	var rows []struct {
		ProductID int64        `db:"product_id"`
		Amount    int64        `db:"amount"`
		ExpiresAt sql.NullTime `db:"expires_at"`
	}
	if err := s.selectPrepared(ctx, &rows, accountSeatGrantsSQL, accountID); err != nil {
		return nil, err
	}
	now := s.Now()
	for i := range pools {
		var grants []licensing.Grant
		for _, r := range rows {
			if r.ProductID == pools[i].ProductID {
				grants = append(grants, licensing.Grant{Kind: licensing.GrantExtraSeats, Amount: r.Amount, ExpiresAt: r.ExpiresAt.Time})
			}
		}
		pools[i].Effective = licensing.EffectiveSeats(pools[i].Purchased, grants, now)
	}
	return pools, nil
}

// SeatHolder is a member holding a seat of one subscription.
type SeatHolder struct {
	MembershipID int64        `db:"id"`
	Name         string       `db:"name"`
	Email        string       `db:"email"`
	Role         string       `db:"role"`
	Status       string       `db:"status"`
	LastSignInAt sql.NullTime `db:"last_sign_in_at"`
	LastUsedAt   sql.NullTime `db:"last_used_at"` // the seat's last use by the vendor's application
	AssignedAt   time.Time    `db:"assigned_at"`
}

// LastActivity is the holder's latest sign-in or use of this seat (zero:
// never), as Insights counts it.
func (h SeatHolder) LastActivity() time.Time {
	return licensing.LastActivity(h.LastUsedAt.Time, h.LastSignInAt.Time)
}

// Holders are listed least active first (invited and never active, then
// the longest idle, then the latest assigned), so that when a pool is
// over-allocated its first Over() holders are the ones to suggest
// unassigning.
const seatHoldersSQL = `
SELECT m.id, u.name, u.email, m.role, m.status, m.last_sign_in_at, sa.last_used_at, sa.assigned_at
FROM seat_assignment sa
JOIN membership m ON m.account_id = sa.account_id AND m.id = sa.membership_id
JOIN app_user u ON u.id = m.user_id
WHERE sa.account_id = $1 AND sa.subscription_id = $2
ORDER BY (m.status = 'invited') DESC, greatest(sa.last_used_at, m.last_sign_in_at) ASC NULLS FIRST, sa.assigned_at DESC, m.id
LIMIT $3`

// SeatHolders lists up to limit holders of one of the account's
// subscriptions, least active first.
func (s *Store) SeatHolders(ctx context.Context, accountID, subID int64, limit int) ([]SeatHolder, error) {
	var out []SeatHolder
	err := s.db.SelectContext(ctx, &out, seatHoldersSQL, accountID, subID, limit)
	return out, err
}

const mySeatsSQL = `
SELECT p.key FROM seat_assignment sa
JOIN subscription s ON s.id = sa.subscription_id JOIN product p ON p.id = s.product_id
WHERE sa.account_id = $1 AND sa.membership_id = $2`

// MySeats is the set of products (by key) whose seat a member holds.
func (s *Store) MySeats(ctx context.Context, accountID, membershipID int64) (map[string]bool, error) {
	var keys []string
	if err := s.db.SelectContext(ctx, &keys, mySeatsSQL, accountID, membershipID); err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		out[k] = true
	}
	return out, nil
}
