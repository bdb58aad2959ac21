package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// Lease is one checked-out slot of a concurrent feature's pool.
type Lease struct {
	ID            int64          `db:"id"`
	AccountID     int64          `db:"account_id"`
	Token         string         `db:"token"`
	Feature       string         `db:"feature_key"`
	FeatureName   string         `db:"feature_name"`
	User          string         `db:"user_ref"`
	Machine       string         `db:"machine"`
	TTLSeconds    int            `db:"ttl_seconds"`
	CheckedOutAt  time.Time      `db:"checked_out_at"`
	HeartbeatAt   time.Time      `db:"heartbeat_at"`
	ExpiresAt     time.Time      `db:"expires_at"`
	ReleasedAt    sql.NullTime   `db:"released_at"`
	ReleaseReason sql.NullString `db:"release_reason"`
}

// LeaseRequest is a checkout: the concurrent feature and who and where
// (both optional labels the portal shows).
type LeaseRequest struct {
	Feature string
	User    string
	Machine string
}

// LeaseGoneError answers a heartbeat for a lease that no longer holds a
// slot: it expired, was checked in, or an admin force-released it. The
// application must stop using the feature (or check out again).
type LeaseGoneError struct {
	Reason string // expired, checked_in or forced
}

func (e *LeaseGoneError) Error() string { return "lease no longer held: " + e.Reason }

const (
	countLeasesSQL = `
SELECT count(*) AS used, min(expires_at) AS next_expiry
FROM lease WHERE account_id = $1 AND feature_id = $2 AND released_at IS NULL`
	// Under the pool's lock, one statement marks the expired leases
	// released and inserts the new one only while fewer than $9 leases
	// are live ($9 NULL: an unlimited pool). The statement's snapshot is
	// taken after the lock was granted, so it sees every lease committed
	// before; the expired ones it marks are counted as not live already.
	checkOutLeaseSQL = `
WITH expired AS (
  UPDATE lease SET released_at = expires_at, release_reason = 'expired'
  WHERE account_id = $1 AND feature_id = $2 AND released_at IS NULL AND expires_at <= $7
  RETURNING id)
INSERT INTO lease (account_id, feature_id, token, user_ref, machine, ttl_seconds, checked_out_at, heartbeat_at, expires_at)
SELECT $1, $2, $3, $4, $5, $6, $7, $7, $8
WHERE $9::bigint IS NULL OR (SELECT count(*) FROM lease
                             WHERE account_id = $1 AND feature_id = $2 AND released_at IS NULL AND expires_at > $7) < $9
RETURNING id`
	recordLeaseDenialSQL = `
INSERT INTO lease_denial (account_id, feature_id, day, denials) VALUES ($1, $2, $3::date, 1)
ON CONFLICT (account_id, feature_id, day) DO UPDATE SET denials = lease_denial.denials + 1`
	leaseColumns = `
l.id, l.token, f.key AS feature_key, f.name AS feature_name, l.user_ref, l.machine, l.ttl_seconds,
l.checked_out_at, l.heartbeat_at, l.expires_at, l.released_at, l.release_reason`
	// A heartbeat is one indexed UPDATE: it never adds a slot, so it needs
	// no pool lock; a lease a checkout already marked expired stays dead.
	heartbeatLeaseSQL = `
UPDATE lease SET heartbeat_at = $3, expires_at = $3 + make_interval(secs => ttl_seconds)
WHERE token = $1 AND account_id = $2 AND released_at IS NULL AND expires_at > $3
RETURNING id, expires_at`
	// The batch form: one UPDATE for every heartbeat that arrived while the
	// previous batch was being written; each pair keeps its account.
	heartbeatLeasesSQL = `
WITH renewed AS (
  UPDATE lease l SET heartbeat_at = $3, expires_at = $3 + make_interval(secs => l.ttl_seconds)
  FROM (SELECT DISTINCT * FROM unnest($1::bigint[], $2::text[]) AS r(account_id, token)) r
  WHERE l.token = r.token AND l.account_id = r.account_id AND l.released_at IS NULL AND l.expires_at > $3
  RETURNING l.*)
SELECT l.account_id,` + leaseColumns + `
FROM renewed l JOIN feature f ON f.id = l.feature_id`
	leaseByTokenSQL = `SELECT l.account_id,` + leaseColumns + `
FROM lease l JOIN feature f ON f.id = l.feature_id WHERE l.token = $1 AND l.account_id = $2`
	checkInLeaseSQL = `
UPDATE lease SET released_at = $3, release_reason = 'checked_in'
WHERE token = $1 AND account_id = $2 AND released_at IS NULL AND expires_at > $3`
	liveLeasesSQL = `SELECT l.account_id,` + leaseColumns + `
FROM lease l JOIN feature f ON f.id = l.feature_id
WHERE l.account_id = $1 AND l.released_at IS NULL AND l.expires_at > $2
ORDER BY l.checked_out_at, l.id`
	forceReleaseLeaseSQL = `
UPDATE lease SET released_at = $3, release_reason = 'forced', released_by = $4
WHERE id = $1 AND account_id = $2 AND released_at IS NULL AND expires_at > $3
RETURNING token, user_ref, machine`
)

// CheckOutLease takes a slot of a concurrent feature's pool. The pool is
// the plan's value plus grants, evaluated by licensing.Evaluate with the
// active leases as the count used; the count and the insert happen under
// the pool's lock, after the expired leases are marked released, so no
// instance can ever hand out more leases than the pool. A full pool (or no
// access) is a *DeviceRefusedError, and the day's denials are counted.
func (s *Store) CheckOutLease(ctx context.Context, accountID int64, req LeaseRequest) (Lease, error) {
	req.User, req.Machine = strings.TrimSpace(req.User), strings.TrimSpace(req.Machine)
	if utf8.RuneCountInString(req.User) > 200 {
		return Lease{}, Invalid("user", "at most 200 characters")
	}
	if utf8.RuneCountInString(req.Machine) > 200 {
		return Lease{}, Invalid("machine", "at most 200 characters")
	}
	if strings.TrimSpace(req.Feature) == "" {
		return Lease{}, Invalid("feature", "name the concurrent feature to lease")
	}
	var lease Lease
	var refused *DeviceRefusedError
	var featureID int64
	var limit *int64
	// The state the pool's size comes from is read before the transaction,
	// as it would be inside it before the lock: a checkout holds a
	// connection and the pool's lock only for the lock and one statement.
	pool, err := s.findDevicePool(ctx, s.db, accountID, req.Feature, licensing.Concurrent)
	if err != nil {
		return Lease{}, err
	}
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := pool.lock(ctx, tx, accountID); err != nil {
			return err
		}
		featureID = pool.featureID
		now := s.Now()
		// The pool's size is the evaluation's limit with nothing in use;
		// the statement below compares the live leases with it.
		if d := pool.decide(0, licensing.SeatNotChecked, now); !d.HasAccess {
			refused = &DeviceRefusedError{Feature: pool.feature.Key, Kind: licensing.Concurrent, Decision: d}
			return refused
		} else if d.Limit != nil {
			size := *d.Limit
			limit = &size
		}
		token, err := publicID("lease_")
		if err != nil {
			return err
		}
		ttl := pool.feature.LeaseTTL()
		lease = Lease{Token: token, Feature: pool.feature.Key, FeatureName: pool.feature.Name, User: req.User, Machine: req.Machine,
			TTLSeconds: int(ttl / time.Second), CheckedOutAt: now, HeartbeatAt: now, ExpiresAt: now.Add(ttl)}
		err = tx.GetContext(ctx, &lease.ID, checkOutLeaseSQL, accountID, pool.featureID, token, req.User, req.Machine,
			lease.TTLSeconds, now, lease.ExpiresAt, limit)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// The pool is full: say how full and when the soonest lease
		// expires.
		var count struct {
			Used       int64        `db:"used"`
			NextExpiry sql.NullTime `db:"next_expiry"`
		}
		if err := tx.GetContext(ctx, &count, countLeasesSQL, accountID, pool.featureID); err != nil {
			return err
		}
		refused = &DeviceRefusedError{Feature: pool.feature.Key, Kind: licensing.Concurrent,
			Decision: pool.decide(count.Used, licensing.SeatNotChecked, now), NextExpiry: count.NextExpiry.Time}
		return refused
	})
	if refused != nil && refused.Full() {
		// Counted after the refusal rolled back; a lost count is a lost
		// statistic, never a wrong answer.
		if _, derr := s.db.ExecContext(ctx, recordLeaseDenialSQL, accountID, featureID, s.Now().Format(time.DateOnly)); derr != nil {
			return Lease{}, errors.Join(err, derr)
		}
	}
	return lease, err
}

// HeartbeatLease renews a lease for its TTL from now. A lease that expired,
// was checked in or force-released answers *LeaseGoneError; an unknown one
// ErrNotFound.
func (s *Store) HeartbeatLease(ctx context.Context, accountID int64, token string) (time.Time, error) {
	var row struct {
		ID        int64     `db:"id"`
		ExpiresAt time.Time `db:"expires_at"`
	}
	now := s.Now()
	err := s.db.GetContext(ctx, &row, heartbeatLeaseSQL, token, accountID, now)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, s.leaseGone(ctx, accountID, token, now)
	}
	return row.ExpiresAt, err
}

// LeaseRef names a lease of an account, for a batch of heartbeats.
type LeaseRef struct {
	AccountID int64
	Token     string
}

// HeartbeatLeases renews many leases in one statement (the heartbeat
// group commit) and returns, for each ref, the renewed lease or why it
// holds no slot (*LeaseGoneError, ErrNotFound). Each ref is renewed only
// within its own account.
func (s *Store) HeartbeatLeases(ctx context.Context, refs []LeaseRef) ([]Lease, []error, error) {
	accounts := make([]int64, len(refs))
	tokens := make([]string, len(refs))
	for i, r := range refs {
		accounts[i], tokens[i] = r.AccountID, r.Token
	}
	now := s.Now()
	var renewed []Lease
	if err := s.db.SelectContext(ctx, &renewed, heartbeatLeasesSQL, pq.Array(accounts), pq.Array(tokens), now); err != nil {
		return nil, nil, err
	}
	byToken := make(map[LeaseRef]Lease, len(renewed))
	for _, l := range renewed {
		byToken[LeaseRef{l.AccountID, l.Token}] = l
	}
	leases, errs := make([]Lease, len(refs)), make([]error, len(refs))
	for i, r := range refs {
		l, ok := byToken[r]
		if !ok {
			errs[i] = s.leaseGone(ctx, r.AccountID, r.Token, now)
			continue
		}
		leases[i] = l
	}
	return leases, errs, nil
}

// leaseGone explains why a lease holds no slot.
func (s *Store) leaseGone(ctx context.Context, accountID int64, token string, now time.Time) error {
	l, err := s.Lease(ctx, accountID, token)
	if err != nil {
		return err
	}
	if l.ReleaseReason.Valid {
		return &LeaseGoneError{Reason: l.ReleaseReason.String}
	}
	if !l.ExpiresAt.After(now) {
		return &LeaseGoneError{Reason: "expired"}
	}
	return &LeaseGoneError{Reason: "unknown"}
}

// Lease finds a lease of the account by its token.
func (s *Store) Lease(ctx context.Context, accountID int64, token string) (Lease, error) {
	var l Lease
	err := s.db.GetContext(ctx, &l, leaseByTokenSQL, token, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, ErrNotFound
	}
	return l, err
}

// CheckInLease frees a lease's slot. Checking in a lease that no longer
// holds one changes nothing and is not an error (the application is
// exiting either way); an unknown lease is ErrNotFound.
func (s *Store) CheckInLease(ctx context.Context, accountID int64, token string) error {
	res, err := s.db.ExecContext(ctx, checkInLeaseSQL, token, accountID, s.Now())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		_, err = s.Lease(ctx, accountID, token)
	}
	return err
}

// LiveLeases lists the account's leases holding a slot now.
func (s *Store) LiveLeases(ctx context.Context, accountID int64) ([]Lease, error) {
	var out []Lease
	err := s.db.SelectContext(ctx, &out, liveLeasesSQL, accountID, s.Now())
	return out, err
}

// ForceReleaseLease frees a live lease of the principal's account (customer
// admins), audited; the application learns it at its next heartbeat.
func (s *Store) ForceReleaseLease(ctx context.Context, p Principal, leaseID int64) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := authorize(ctx, tx, p, licensing.ManageDevices); err != nil {
			return err
		}
		var l struct {
			Token   string `db:"token"`
			User    string `db:"user_ref"`
			Machine string `db:"machine"`
		}
		now := s.Now()
		err := tx.GetContext(ctx, &l, forceReleaseLeaseSQL, leaseID, p.AccountID, now, p.Email)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: p.AccountID, Actor: p.actor(), Action: "lease.force_release",
			TargetType: "lease", TargetID: itoa(leaseID),
			Before: map[string]any{"user": l.User, "machine": l.Machine}, After: map[string]any{"released": "forced"}})
	})
}
