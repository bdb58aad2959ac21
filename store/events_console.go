package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"
)

// The console's view of the Stripe inbox. An event has failed when the
// worker tried it and it is still unprocessed with an error; billing's
// worker picks a retried row up at its next_attempt_at.
const (
	consoleFailedEventsSQL = `
SELECT e.id, e.type, a.slug AS account_slug, e.created, e.received_at, e.processed_at, e.attempts,
       e.next_attempt_at, e.last_error, e.payload
FROM stripe_event e LEFT JOIN account a ON a.id = e.account_id
WHERE e.processed_at IS NULL AND e.last_error <> ''
ORDER BY e.received_at DESC, e.id LIMIT $1`
	consoleFailedCountSQL = `SELECT count(*) FROM stripe_event WHERE processed_at IS NULL AND last_error <> ''`
	consoleRetryEventSQL  = `
UPDATE stripe_event SET next_attempt_at = $2, failed_at = NULL
WHERE id = $1 AND processed_at IS NULL AND last_error <> ''
RETURNING type, attempts, last_error`
	consoleRetryAllSQL = `
UPDATE stripe_event SET next_attempt_at = $1, failed_at = NULL
WHERE processed_at IS NULL AND last_error <> ''
RETURNING id`
)

// ConsoleFailedEvents lists failed inbox events, newest first, with the
// number of failed events in all.
func (s *Store) ConsoleFailedEvents(ctx context.Context, limit int) ([]ConsoleStripeEvent, int, error) {
	var total int
	if err := s.db.GetContext(ctx, &total, consoleFailedCountSQL); err != nil {
		return nil, 0, err
	}
	var out []ConsoleStripeEvent
	err := s.db.SelectContext(ctx, &out, consoleFailedEventsSQL, limit)
	return out, total, err
}

// ConsoleRetryEvent schedules one failed event for the worker's next pass
// (its error and attempts are kept until the worker tries again).
func (s *Store) ConsoleRetryEvent(ctx context.Context, actor Actor, eventID string) error {
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var ev struct {
			Type      string `db:"type"`
			Attempts  int    `db:"attempts"`
			LastError string `db:"last_error"`
		}
		if err := tx.GetContext(ctx, &ev, consoleRetryEventSQL, eventID, now); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{Actor: actor, Action: "stripe_event.retry", TargetType: "stripe_event",
			TargetID: eventID, Before: map[string]any{"type": ev.Type, "attempts": ev.Attempts, "last_error": ev.LastError},
			After: map[string]any{"next_attempt_at": now}})
	})
}

// ConsoleRetryAllEvents schedules every failed event at once and returns
// how many there were.
func (s *Store) ConsoleRetryAllEvents(ctx context.Context, actor Actor) (int, error) {
	now := s.Now()
	var ids []string
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.SelectContext(ctx, &ids, consoleRetryAllSQL, now); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		return audit(ctx, tx, now, AuditEvent{Actor: actor, Action: "stripe_event.retry_all", TargetType: "stripe_event",
			After: map[string]any{"count": len(ids), "events": ids, "next_attempt_at": now}})
	})
	return len(ids), err
}
