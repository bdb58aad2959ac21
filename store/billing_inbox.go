package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// StripeEvent is one row of the inbox.
type StripeEvent struct {
	ID            string         `db:"id"`
	Type          string         `db:"type"`
	APIVersion    string         `db:"api_version"`
	AccountID     sql.NullInt64  `db:"account_id"`
	AccountSlug   sql.NullString `db:"account_slug"`
	Created       time.Time      `db:"created"`
	Payload       []byte         `db:"payload"`
	ReceivedAt    time.Time      `db:"received_at"`
	ProcessedAt   sql.NullTime   `db:"processed_at"`
	Attempts      int            `db:"attempts"`
	NextAttemptAt time.Time      `db:"next_attempt_at"`
	LastError     string         `db:"last_error"`
	FailedAt      sql.NullTime   `db:"failed_at"`
	Outcome       string         `db:"outcome"`
	TraceParent   string         `db:"trace_parent"` // W3C trace context of the delivery, "" when not traced
}

// NewStripeEvent is a verified event about to enter the inbox.
type NewStripeEvent struct {
	ID, Type, APIVersion string
	CustomerID           string // lets the inbox name the account at once
	Created              time.Time
	Payload              []byte
	TraceParent          string // the delivery's trace context, continued by the apply
}

// EventError is why an event could not be applied. A permanent one (a
// price no plan maps to, a payload that cannot be read) parks the event
// until an operator retries it; others are retried with backoff.
type EventError struct {
	Reason    string
	Permanent bool
}

func (e *EventError) Error() string { return e.Reason }

func permanent(format string, args ...any) error {
	return &EventError{Reason: fmt.Sprintf(format, args...), Permanent: true}
}

func retryable(format string, args ...any) error {
	return &EventError{Reason: fmt.Sprintf(format, args...)}
}

// Retry policy: attempt n waits retryBase·2^(n-1), at most retryMax; after
// maxAttempts the event is parked for an operator.
const (
	retryBase   = 5 * time.Second
	retryMax    = time.Hour
	maxAttempts = 10
)

func backoff(attempts int) time.Duration {
	d := retryBase
	for i := 1; i < attempts && d < retryMax; i++ {
		d *= 2
	}
	return min(d, retryMax)
}

const (
	insertStripeEventSQL = `
INSERT INTO stripe_event (id, type, api_version, account_id, created, payload, received_at, next_attempt_at, trace_parent)
VALUES ($1, $2, $3, (SELECT id FROM account WHERE stripe_customer_id = $4 AND $4 <> ''), $5, $6, $7, $7, $8)
ON CONFLICT (id) DO NOTHING`
	stripeEventColumns = `e.id, e.type, e.api_version, e.account_id, a.slug AS account_slug, e.created, e.payload,
       e.received_at, e.processed_at, e.attempts, e.next_attempt_at, e.last_error, e.failed_at, e.outcome, e.trace_parent`
	// The accounts with due events, the one whose oldest due event is
	// oldest first (NULL: events whose account is not known yet).
	dueAccountsSQL = `
SELECT account_id FROM stripe_event
WHERE processed_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
GROUP BY account_id
ORDER BY min(created), min(id)
LIMIT 20`
	lockInboxAccountSQL = `SELECT pg_try_advisory_xact_lock($1, $2::int)`
	// An account's due events, in order; the caller holds the account's
	// inbox lock, so no other worker holds any of them.
	claimAccountEventsSQL = `
SELECT ` + stripeEventColumns + `
FROM stripe_event e LEFT JOIN account a ON a.id = e.account_id
WHERE e.account_id = $2 AND e.processed_at IS NULL AND e.failed_at IS NULL AND e.next_attempt_at <= $1
ORDER BY e.created, e.id
LIMIT $3
FOR UPDATE OF e`
	claimUnknownAccountEventSQL = `
SELECT ` + stripeEventColumns + `
FROM stripe_event e LEFT JOIN account a ON a.id = e.account_id
WHERE e.account_id IS NULL AND e.processed_at IS NULL AND e.failed_at IS NULL AND e.next_attempt_at <= $1
ORDER BY e.created, e.id
LIMIT 1
FOR UPDATE OF e SKIP LOCKED`
	markFailedSQL = `
UPDATE stripe_event SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3, failed_at = $4,
       account_id = coalesce($5, account_id)
WHERE id = $1`
	stripeEventByIDSQL     = `SELECT ` + stripeEventColumns + ` FROM stripe_event e LEFT JOIN account a ON a.id = e.account_id WHERE e.id = $1`
	pendingStripeEventsSQL = `
SELECT count(*) FILTER (WHERE failed_at IS NULL) AS pending, count(*) FILTER (WHERE failed_at IS NOT NULL) AS parked
FROM stripe_event WHERE account_id = $1 AND processed_at IS NULL`
	inboxCountsSQL = `
SELECT count(*) AS received, count(processed_at) AS processed,
       count(*) FILTER (WHERE processed_at IS NULL AND failed_at IS NOT NULL) AS parked
FROM stripe_event`
)

// InsertStripeEvent stores a verified event once: a second delivery of the
// same id changes nothing. It reports whether the event was new.
// Its statement is prepared once per connection: every delivery runs it.
func (s *Store) InsertStripeEvent(ctx context.Context, e NewStripeEvent) (bool, error) {
	st, err := s.prepared(ctx, insertStripeEventSQL)
	if err != nil {
		return false, err
	}
	res, err := st.ExecContext(ctx, e.ID, e.Type, e.APIVersion, e.CustomerID,
		e.Created.UTC(), string(e.Payload), s.Now(), e.TraceParent)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// StripeEventByID loads one inbox row.
func (s *Store) StripeEventByID(ctx context.Context, id string) (StripeEvent, error) {
	var e StripeEvent
	err := s.db.GetContext(ctx, &e, stripeEventByIDSQL, id)
	if errors.Is(err, sql.ErrNoRows) {
		return e, ErrNotFound
	}
	return e, err
}

// Decoder turns an inbox row's payload into the change it carries. The
// billing package supplies it (it knows Stripe's object shapes).
type Decoder func(StripeEvent) (StripeChange, error)

// inboxLockClass is the first key of the advisory lock that gives one
// worker at a time an account's inbox events.
const inboxLockClass = 0x4942 // "IB"

// ProcessStripeEvents claims due events, up to max, of the accounts whose
// oldest due event is oldest first (see claimStripeEvents), in one step:
// it takes each account's inbox lock (an advisory lock held to the end of the
// transaction; an account another worker holds is passed over), so two
// workers never hold events of the same account, and any number of workers
// share the inbox. It applies them in created order and marks them
// processed, all in one transaction: a crash anywhere leaves them pending
// and nothing half-applied. Each event is applied under its own savepoint,
// so one that fails is rolled back alone and recorded on its row with its
// next attempt time. Events whose account is not known yet are taken one
// at a time. It returns how many it claimed.
//
// What every applied event of the batch needs once is done once, at the
// end of the batch and still in its transaction: the rows are marked
// processed in one statement, and the account's change is announced once
// (PostgreSQL would fold the repeats anyway). A savepoint is released by
// the statement that opens the next one.
func (s *Store) ProcessStripeEvents(ctx context.Context, decode Decoder, max int) (int, error) {
	now := s.Now()
	claimed := 0
	stmts, err := s.applierStatements(ctx)
	if err != nil {
		return 0, err
	}
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		ptx := preparedTx{Tx: tx, stmts: stmts}
		batch, err := claimStripeEvents(ctx, ptx, now, max)
		if err != nil {
			return err
		}
		b := &inboxBatch{}
		decoded := decodeBatch(batch, decode)
		guards, err := readOrderingGuards(ctx, ptx, decoded)
		if err != nil {
			return err
		}
		for _, d := range decoded {
			if err := s.processClaimed(ctx, ptx, now, d, guards, b); err != nil {
				return err
			}
		}
		if err := b.finish(ctx, ptx, now); err != nil {
			return err
		}
		claimed = len(batch)
		return nil
	})
	return claimed, err
}

// claimStripeEvents takes due events, up to limit, account by account:
// the first account no other worker holds, then, while the batch has
// room, the next ones (a trickle of events over many accounts shares one
// commit). Each account's events come in created order and all of them
// are under its inbox lock; events whose account is not known yet come at
// most one per batch.
func claimStripeEvents(ctx context.Context, ptx preparedTx, now time.Time, limit int) ([]StripeEvent, error) {
	var accounts []sql.NullInt64
	if err := ptx.selectAll(ctx, &accounts, dueAccountsSQL, now); err != nil {
		return nil, err
	}
	limit = max(limit, 1)
	var claimed []StripeEvent
	for _, acct := range accounts {
		if len(claimed) >= limit {
			break
		}
		var batch []StripeEvent
		if !acct.Valid {
			if err := ptx.selectAll(ctx, &batch, claimUnknownAccountEventSQL, now); err != nil {
				return nil, err
			}
		} else {
			var locked bool
			if err := ptx.get(ctx, &locked, lockInboxAccountSQL, inboxLockClass, acct.Int64); err != nil {
				return nil, err
			}
			if !locked {
				continue // another worker has this account's events
			}
			if err := ptx.selectAll(ctx, &batch, claimAccountEventsSQL, now, acct.Int64, limit-len(claimed)); err != nil {
				return nil, err
			}
		}
		claimed = append(claimed, batch...)
	}
	return claimed, nil
}

// inboxBatch is what a batch's applied events leave for its end.
type inboxBatch struct {
	savepointOpen bool // the last event's savepoint is still open (it applied)
	ids, outcomes []string
	accounts      []int64 // 0: not known
	announce      []int64 // accounts whose change is announced at the end
}

const markProcessedBatchSQL = `
UPDATE stripe_event e SET processed_at = $1, attempts = e.attempts + 1, outcome = u.outcome, last_error = '',
       account_id = coalesce(nullif(u.account_id, 0), e.account_id)
FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(id, outcome, account_id)
WHERE e.id = u.id`

// openSavepoint starts an event's savepoint, releasing the previous
// event's in the same round trip.
func (b *inboxBatch) openSavepoint(ctx context.Context, tx *sqlx.Tx) error {
	q := `SAVEPOINT apply_event`
	if b.savepointOpen {
		q = `RELEASE SAVEPOINT apply_event; SAVEPOINT apply_event`
	}
	b.savepointOpen = false
	_, err := tx.ExecContext(ctx, q)
	return err
}

// applied records an event that applied: its savepoint stays open until
// the next one, its row is marked at the end.
func (b *inboxBatch) applied(ev StripeEvent, outcome string, accountID sql.NullInt64, announce bool) {
	b.savepointOpen = true
	b.ids, b.outcomes = append(b.ids, ev.ID), append(b.outcomes, outcome)
	b.accounts = append(b.accounts, accountID.Int64)
	if announce && !slices.Contains(b.announce, accountID.Int64) {
		b.announce = append(b.announce, accountID.Int64)
	}
}

// skipped records an event decided without applying it: no savepoint of
// its own was opened, its row is marked at the end.
func (b *inboxBatch) skipped(ev StripeEvent, outcome string) {
	b.ids, b.outcomes = append(b.ids, ev.ID), append(b.outcomes, outcome)
	b.accounts = append(b.accounts, ev.AccountID.Int64)
}

func (b *inboxBatch) finish(ctx context.Context, ptx preparedTx, now time.Time) error {
	if len(b.ids) > 0 {
		if err := ptx.exec(ctx, markProcessedBatchSQL, now, pq.Array(b.ids), pq.Array(b.outcomes), pq.Array(b.accounts)); err != nil {
			return err
		}
	}
	for _, id := range b.announce {
		if err := notifyAccountChanged(ctx, ptx.Tx, id); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) processClaimed(ctx context.Context, ptx preparedTx, now time.Time, d decodedEvent, guards orderingGuards, b *inboxBatch) error {
	var end func(outcome string, err error)
	if s.applyHook != nil {
		ctx, end = s.applyHook(ctx, d.ev)
	}
	if guards.overtaken(d) {
		// Older than what its subscription already shows: the apply would
		// skip it on the locked row, so it is skipped without a savepoint
		// or a round trip (shuffled deliveries make these the most common).
		if end != nil {
			end(OutcomeSkippedOlder, nil)
		}
		b.skipped(d.ev, OutcomeSkippedOlder)
		return nil
	}
	if err := b.openSavepoint(ctx, ptx.Tx); err != nil {
		return err
	}
	outcome, accountID, applyErr := s.applyStripeEvent(ctx, ptx, now, d)
	if end != nil {
		end(outcome, applyErr)
	}
	return s.finishClaimed(ctx, ptx.Tx, now, d.ev, outcome, accountID, applyErr, b)
}

// OnApplyEvent registers fn to be called around each inbox event's apply:
// it returns the context the apply runs in (the event's trace, say) and a
// function told the outcome. Call before the worker runs.
func (s *Store) OnApplyEvent(fn func(ctx context.Context, ev StripeEvent) (context.Context, func(outcome string, err error))) {
	s.applyHook = fn
}

// finishClaimed marks an applied event processed, or records its failure.
func (s *Store) finishClaimed(ctx context.Context, tx *sqlx.Tx, now time.Time, ev StripeEvent, outcome string, accountID sql.NullInt64, applyErr error, b *inboxBatch) error {
	if applyErr == nil {
		b.applied(ev, outcome, accountID, outcome == OutcomeApplied && accountID.Valid)
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: leave the events as they were
	}
	if retryable40(applyErr) {
		// A deadlock or serialization failure is the moment's fault, not the
		// event's: roll the whole batch back so that every event stays due
		// with no attempt counted, and the worker's next pass applies it.
		return applyErr
	}
	if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT apply_event`); err != nil {
		return err
	}
	attempts := ev.Attempts + 1
	var failedAt sql.NullTime
	var ee *EventError
	if (errors.As(applyErr, &ee) && ee.Permanent) || attempts >= maxAttempts {
		failedAt = nullTime(now)
	}
	_, err := tx.ExecContext(ctx, markFailedSQL, ev.ID, applyErr.Error(), now.Add(backoff(attempts)), failedAt, accountID)
	return err
}

// PendingStripeEvents counts an account's events not yet applied: pending
// (due or waiting for a retry) and parked (failed until an operator acts).
func (s *Store) PendingStripeEvents(ctx context.Context, accountID int64) (pending, parked int, err error) {
	var row struct {
		Pending int `db:"pending"`
		Parked  int `db:"parked"`
	}
	err = s.db.GetContext(ctx, &row, pendingStripeEventsSQL, accountID)
	return row.Pending, row.Parked, err
}

// InboxCounts is the whole inbox at a glance (the benchmark reads it).
type InboxCounts struct {
	Received  int `db:"received"`
	Processed int `db:"processed"`
	Parked    int `db:"parked"`
}

// StripeInboxCounts counts every inbox row by state.
func (s *Store) StripeInboxCounts(ctx context.Context) (InboxCounts, error) {
	var c InboxCounts
	err := s.db.GetContext(ctx, &c, inboxCountsSQL)
	return c, err
}
