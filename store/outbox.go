package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"
)

// Mail is a message to send, written to the outbox in the transaction that
// causes it, so that a change and its mail commit together.
type Mail struct {
	Kind    string // invitation, ...
	To      string
	Subject string
	Body    string
}

// OutboxMail is one row of the outbox.
type OutboxMail struct {
	ID        int64         `db:"id"`
	AccountID sql.NullInt64 `db:"account_id"`
	Kind      string        `db:"kind"`
	To        string        `db:"to_address"`
	Subject   string        `db:"subject"`
	Body      string        `db:"body"`
	CreatedAt time.Time     `db:"created_at"`
	SentAt    sql.NullTime  `db:"sent_at"`
	Transport string        `db:"transport"` // smtp or log, once sent
	Attempts  int           `db:"attempts"`
	LastError string        `db:"last_error"`
}

const (
	outboxColumns  = `id, account_id, kind, to_address, subject, body, created_at, sent_at, transport, attempts, last_error`
	enqueueMailSQL = `
INSERT INTO outbox (account_id, kind, to_address, subject, body, created_at, next_attempt_at)
VALUES ($1, $2, $3, $4, $5, $6, $6)`
	outboxSQL        = `SELECT ` + outboxColumns + ` FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1`
	accountOutboxSQL = `SELECT ` + outboxColumns + ` FROM outbox WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`
	claimMailSQL     = `
SELECT ` + outboxColumns + ` FROM outbox
WHERE sent_at IS NULL AND next_attempt_at <= $1
ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`
	mailSentSQL   = `UPDATE outbox SET sent_at = $2, transport = $3, attempts = attempts + 1, last_error = '' WHERE id = $1`
	mailFailedSQL = `UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $1`
)

func enqueueMail(ctx context.Context, tx *sqlx.Tx, now time.Time, accountID int64, m Mail) error {
	_, err := tx.ExecContext(ctx, enqueueMailSQL, accountID, m.Kind, m.To, m.Subject, m.Body, now)
	return err
}

// Outbox lists the latest mails, newest first (for the vendor console).
func (s *Store) Outbox(ctx context.Context, limit int) ([]OutboxMail, error) {
	var out []OutboxMail
	err := s.db.SelectContext(ctx, &out, outboxSQL, limit)
	return out, err
}

// AccountOutbox lists the latest mails of one account, newest first.
func (s *Store) AccountOutbox(ctx context.Context, accountID int64, limit int) ([]OutboxMail, error) {
	var out []OutboxMail
	err := s.db.SelectContext(ctx, &out, accountOutboxSQL, accountID, limit)
	return out, err
}

// DeliverMail takes up to limit mails that are due, hands each to send, and
// records the outcome: sent (with the transport send names) or failed, to be
// retried with backoff. Rows are claimed with SKIP LOCKED, so any number of
// instances share the outbox without sending a mail twice.
func (s *Store) DeliverMail(ctx context.Context, limit int, send func(OutboxMail) (transport string, err error)) (sent, failed int, err error) {
	now := s.Now()
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		sent, failed = 0, 0
		var due []OutboxMail
		if err := tx.SelectContext(ctx, &due, claimMailSQL, now, limit); err != nil {
			return err
		}
		for _, m := range due {
			transport, serr := send(m)
			if serr != nil {
				failed++
				if _, err := tx.ExecContext(ctx, mailFailedSQL, m.ID, serr.Error(), now.Add(mailBackoff(m.Attempts+1))); err != nil {
					return err
				}
				continue
			}
			sent++
			if _, err := tx.ExecContext(ctx, mailSentSQL, m.ID, now, transport); err != nil {
				return err
			}
		}
		return nil
	})
	return sent, failed, err
}

// mailBackoff is the wait before the next attempt: 30 s, 2 min, 4.5 min, ...
// up to an hour.
func mailBackoff(attempts int) time.Duration {
	return min(time.Duration(attempts*attempts)*30*time.Second, time.Hour)
}
