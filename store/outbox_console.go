package store

import (
	"context"
	"database/sql"
	"time"
)

// ConsoleOutboxMail is one message of the mail outbox (store/outbox.go):
// what was sent, or would have been sent while SMTP is not configured.
type ConsoleOutboxMail struct {
	ID          int64          `db:"id"`
	AccountSlug sql.NullString `db:"account_slug"`
	To          string         `db:"to_address"`
	Subject     string         `db:"subject"`
	Body        string         `db:"body"`
	CreatedAt   time.Time      `db:"created_at"`
	SentAt      sql.NullTime   `db:"sent_at"`
}

const consoleOutboxSQL = `
SELECT o.id, a.slug AS account_slug, o.to_address, o.subject, o.body, o.created_at, o.sent_at
FROM outbox o LEFT JOIN account a ON a.id = o.account_id
ORDER BY o.created_at DESC, o.id DESC LIMIT $1`

// ConsoleOutbox lists the newest messages of the outbox.
func (s *Store) ConsoleOutbox(ctx context.Context, limit int) ([]ConsoleOutboxMail, error) {
	var out []ConsoleOutboxMail
	err := s.db.SelectContext(ctx, &out, consoleOutboxSQL, limit)
	return out, err
}
