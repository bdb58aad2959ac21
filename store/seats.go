package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// Per-member answers of seat changes (stable strings the portal shows).
const (
	SeatAssigned      = "assigned"
	SeatAlreadyHeld   = "already_held"
	SeatUnknownMember = "unknown_member"
	SeatNoSeatLeft    = "no_seat_left"
	SeatUnassigned    = "unassigned"
	SeatNotHeld       = "not_held"
	// licensing.ProblemMalformed and licensing.ProblemDuplicate answer rows
	// of an uploaded file that name no usable address.
)

// SeatResult answers one member (or one row of an uploaded file).
type SeatResult struct {
	Line         int // row of the uploaded file, 0 otherwise
	Input        string
	Email        string
	MembershipID int64
	Outcome      string
}

// seatTarget is a member a seat change names, resolved in the account.
type seatTarget struct {
	Line         int
	Input        string
	Email        string `db:"email"`
	MembershipID int64  `db:"id"`
	Problem      string
}

const (
	subscriptionExistsSQL = `SELECT EXISTS (SELECT 1 FROM subscription WHERE account_id = $1 AND id = $2)`
	targetsByIDSQL        = `
SELECT m.id, lower(u.email) AS email FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = $1 AND m.id = ANY($2) AND m.status <> 'deactivated'
ORDER BY m.id FOR SHARE OF m`
	targetsByEmailSQL = `
SELECT m.id, lower(u.email) AS email FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = $1 AND lower(u.email) = ANY($2) AND m.status <> 'deactivated'
ORDER BY m.id FOR SHARE OF m`
	lockPoolSQL = `
SELECT s.seats, s.status, s.product_id, pv.seat_based
FROM subscription s JOIN plan_version pv ON pv.id = s.plan_version_id
WHERE s.account_id = $1 AND s.id = $2 FOR UPDATE OF s`
	countSeatsSQL = `SELECT count(*) FROM seat_assignment WHERE subscription_id = $1`
	seatGrantsSQL = `
SELECT amount, expires_at FROM entitlement_grant
WHERE account_id = $1 AND product_id = $2 AND kind = 'extra_seats' AND revoked_at IS NULL`
	heldSQL = `SELECT membership_id FROM seat_assignment WHERE subscription_id = $1 AND membership_id = ANY($2)`
	// seat_assignment's foreign keys carry account_id, so a seat can only
	// join a subscription and a membership of the same account.
	assignSQL = `
INSERT INTO seat_assignment (account_id, subscription_id, membership_id, assigned_at) VALUES ($1, $2, $3, $4)`
	unassignSQL = `
DELETE FROM seat_assignment WHERE account_id = $1 AND subscription_id = $2 AND membership_id = ANY($3)
RETURNING membership_id`
)

// targetsByID resolves members named by id and locks them (FOR SHARE: not
// removed meanwhile). One id that is not a current member of the account
// fails the whole request with ErrNotFound, so nothing changes.
func targetsByID(ctx context.Context, tx *sqlx.Tx, accountID int64, ids []int64) ([]seatTarget, error) {
	uniq := map[int64]bool{}
	for _, id := range ids {
		uniq[id] = true
	}
	var found []seatTarget
	if err := tx.SelectContext(ctx, &found, targetsByIDSQL, accountID, pq.Array(ids)); err != nil {
		return nil, err
	}
	if len(found) != len(uniq) || len(ids) == 0 {
		return nil, ErrNotFound
	}
	byID := map[int64]seatTarget{}
	for _, t := range found {
		byID[t.MembershipID] = t
	}
	out := make([]seatTarget, 0, len(ids))
	for _, id := range ids {
		if uniq[id] {
			t := byID[id]
			t.Input = t.Email
			out = append(out, t)
			uniq[id] = false
		}
	}
	return out, nil
}

// targetsByEmail resolves parsed addresses, locking the members found; the
// others are answered unknown_member (or keep their parsing problem).
func targetsByEmail(ctx context.Context, tx *sqlx.Tx, accountID int64, lines []licensing.AddressLine) ([]seatTarget, error) {
	var emails []string
	for _, l := range lines {
		if l.Problem == "" {
			emails = append(emails, l.Email)
		}
	}
	var found []seatTarget
	if err := tx.SelectContext(ctx, &found, targetsByEmailSQL, accountID, pq.Array(emails)); err != nil {
		return nil, err
	}
	byEmail := map[string]int64{}
	for _, t := range found {
		byEmail[t.Email] = t.MembershipID
	}
	out := make([]seatTarget, 0, len(lines))
	for _, l := range lines {
		t := seatTarget{Line: l.Line, Input: l.Input, Email: l.Email, Problem: l.Problem}
		if t.Problem == "" {
			if id, ok := byEmail[l.Email]; ok {
				t.MembershipID = id
			} else {
				t.Problem = SeatUnknownMember
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// errNotSeatBased answers a seat change on a pool that has no seats.
var errNotSeatBased = Invalid("subscription", "this subscription has no seats to assign: its plan is not seat-based, or it is canceled")

// assignLocked is the one place seats are given. It locks the subscription
// row and counts inside the lock, so that assigned never exceeds the pool
// (purchased plus vendor grants, licensing.EffectiveSeats) however many
// requests race: each target gets a seat while one is free and is answered
// no_seat_left after. An over-allocated pool gives no seat. quiet (for
// auto-assign) skips pools that have no seats instead of failing.
func assignLocked(ctx context.Context, tx *sqlx.Tx, now time.Time, accountID int64, actor Actor, subID int64,
	targets []seatTarget, quiet bool) ([]SeatResult, error) {
	var pool struct {
		Seats     int    `db:"seats"`
		Status    string `db:"status"`
		ProductID int64  `db:"product_id"`
		SeatBased bool   `db:"seat_based"`
	}
	err := tx.GetContext(ctx, &pool, lockPoolSQL, accountID, subID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if !pool.SeatBased || pool.Status == string(licensing.Canceled) {
		if quiet {
			return nil, nil
		}
		return nil, errNotSeatBased
	}
	var assigned int
	if err := tx.GetContext(ctx, &assigned, countSeatsSQL, subID); err != nil {
		return nil, err
	}
	grants, err := seatGrants(ctx, tx, accountID, pool.ProductID)
	if err != nil {
		return nil, err
	}
	free := licensing.EffectiveSeats(pool.Seats, grants, now) - assigned
	ids := make([]int64, 0, len(targets))
	for _, t := range targets {
		ids = append(ids, t.MembershipID)
	}
	var heldIDs []int64
	if err := tx.SelectContext(ctx, &heldIDs, heldSQL, subID, pq.Array(ids)); err != nil {
		return nil, err
	}
	held := map[int64]bool{}
	for _, id := range heldIDs {
		held[id] = true
	}
	results := make([]SeatResult, 0, len(targets))
	for _, t := range targets {
		r := SeatResult{Line: t.Line, Input: t.Input, Email: t.Email, MembershipID: t.MembershipID, Outcome: t.Problem}
		switch {
		case t.Problem != "":
		case held[t.MembershipID]:
			r.Outcome = SeatAlreadyHeld
		case free <= 0:
			r.Outcome = SeatNoSeatLeft
		default:
			if _, err := tx.ExecContext(ctx, assignSQL, accountID, subID, t.MembershipID, now); err != nil {
				return nil, err
			}
			free--
			held[t.MembershipID] = true
			r.Outcome = SeatAssigned
			if err := audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "seat.assign",
				TargetType: "membership", TargetID: itoa(t.MembershipID),
				After: map[string]any{"email": t.Email, "subscription": subID}}); err != nil {
				return nil, err
			}
		}
		results = append(results, r)
	}
	return results, nil
}

func seatGrants(ctx context.Context, q sqlx.QueryerContext, accountID, productID int64) ([]licensing.Grant, error) {
	var rows []struct {
		Amount    int64        `db:"amount"`
		ExpiresAt sql.NullTime `db:"expires_at"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, seatGrantsSQL, accountID, productID); err != nil {
		return nil, err
	}
	grants := make([]licensing.Grant, 0, len(rows))
	for _, r := range rows {
		grants = append(grants, licensing.Grant{Kind: licensing.GrantExtraSeats, Amount: r.Amount, ExpiresAt: r.ExpiresAt.Time})
	}
	return grants, nil
}

// AssignSeats gives a seat of subscription subID to each member named by id,
// in order, while seats are free, and answers per member. An id that is not
// a current member of the account, or a subscription of another account,
// is ErrNotFound and nothing changes.
func (s *Store) AssignSeats(ctx context.Context, p Principal, subID int64, membershipIDs []int64) ([]SeatResult, error) {
	now := s.Now()
	var results []SeatResult
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := s.checkPool(ctx, tx, p, subID); err != nil {
			return err
		}
		targets, err := targetsByID(ctx, tx, p.AccountID, membershipIDs)
		if err != nil {
			return err
		}
		results, err = assignLocked(ctx, tx, now, p.AccountID, p.actor(), subID, targets, false)
		return err
	})
	return results, err
}

// checkPool authorizes a seat change and makes sure the subscription is the
// account's (before any lock on members is taken, so that the order of
// locks stays members, then subscription).
func (s *Store) checkPool(ctx context.Context, tx *sqlx.Tx, p Principal, subID int64) error {
	if _, err := authorize(ctx, tx, p, licensing.AssignSeats); err != nil {
		return err
	}
	var ok bool
	if err := tx.GetContext(ctx, &ok, subscriptionExistsSQL, p.AccountID, subID); err != nil {
		return err
	}
	if !ok {
		return ErrNotFound
	}
	return nil
}

// AssignSeatsByEmail assigns seats to members named by address (typed, or
// the confirmed rows of an uploaded file) and answers per address.
func (s *Store) AssignSeatsByEmail(ctx context.Context, p Principal, subID int64, addresses []string) ([]SeatResult, error) {
	lines := make([]licensing.AddressLine, 0, len(addresses))
	seen := map[string]bool{}
	for _, a := range addresses {
		l := licensing.AddressLine{Input: a}
		email, ok := licensing.NormalizeEmail(a)
		switch {
		case !ok:
			l.Problem = licensing.ProblemMalformed
		case seen[email]:
			l.Email, l.Problem = email, licensing.ProblemDuplicate
		default:
			l.Email = email
		}
		seen[email] = seen[email] || ok
		lines = append(lines, l)
	}
	return s.assignLines(ctx, p, subID, lines, false)
}

// PreviewSeatCSV answers every row of an uploaded file as assigning it would
// (assigned, already_held, unknown_member, no_seat_left, malformed,
// duplicate) without changing anything: the same transaction runs and is
// rolled back. The admin then confirms the rows to apply.
func (s *Store) PreviewSeatCSV(ctx context.Context, p Principal, subID int64, data []byte) ([]SeatResult, error) {
	lines, err := licensing.ParseSeatCSV(data)
	if err != nil {
		return nil, Invalid("file", err.Error())
	}
	if len(lines) == 0 {
		return nil, Invalid("file", "the file holds no rows")
	}
	return s.assignLines(ctx, p, subID, lines, true)
}

func (s *Store) assignLines(ctx context.Context, p Principal, subID int64, lines []licensing.AddressLine, dryRun bool) ([]SeatResult, error) {
	now := s.Now()
	var results []SeatResult
	err := s.txPreview(ctx, dryRun, func(tx *sqlx.Tx) error {
		if err := s.checkPool(ctx, tx, p, subID); err != nil {
			return err
		}
		targets, err := targetsByEmail(ctx, tx, p.AccountID, lines)
		if err != nil {
			return err
		}
		results, err = assignLocked(ctx, tx, now, p.AccountID, p.actor(), subID, targets, false)
		return err
	})
	return results, err
}

// UnassignSeats takes the seats of subscription subID from the members named
// by id and answers per member (unassigned or not_held). Ids outside the
// account are ErrNotFound and nothing changes.
func (s *Store) UnassignSeats(ctx context.Context, p Principal, subID int64, membershipIDs []int64) ([]SeatResult, error) {
	now := s.Now()
	var results []SeatResult
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := s.checkPool(ctx, tx, p, subID); err != nil {
			return err
		}
		targets, err := targetsByID(ctx, tx, p.AccountID, membershipIDs)
		if err != nil {
			return err
		}
		var removed []int64
		if err := tx.SelectContext(ctx, &removed, unassignSQL, p.AccountID, subID, pq.Array(membershipIDs)); err != nil {
			return err
		}
		gone := map[int64]bool{}
		for _, id := range removed {
			gone[id] = true
		}
		results = nil
		for _, t := range targets {
			r := SeatResult{Input: t.Input, Email: t.Email, MembershipID: t.MembershipID, Outcome: SeatNotHeld}
			if gone[t.MembershipID] {
				r.Outcome = SeatUnassigned
				if err := audit(ctx, tx, now, AuditEvent{AccountID: p.AccountID, Actor: p.actor(), Action: "seat.unassign",
					TargetType: "membership", TargetID: itoa(t.MembershipID),
					Before: map[string]any{"email": t.Email, "subscription": subID}}); err != nil {
					return err
				}
			}
			results = append(results, r)
		}
		return nil
	})
	return results, err
}

const setAutoAssignSQL = `UPDATE subscription SET auto_assign = $3 WHERE account_id = $1 AND id = $2`

// SetAutoAssign turns on or off giving each new member a free seat of the
// subscription as they accept their invitation.
func (s *Store) SetAutoAssign(ctx context.Context, p Principal, subID int64, on bool) error {
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := s.checkPool(ctx, tx, p, subID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, setAutoAssignSQL, p.AccountID, subID, on)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: p.AccountID, Actor: p.actor(), Action: "subscription.auto_assign",
			TargetType: "subscription", TargetID: itoa(subID), After: map[string]any{"auto_assign": on}})
	})
}
