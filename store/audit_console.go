package store

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// ConsoleAuditFilter narrows the global audit log (every account's chain
// and the vendor's own).
type ConsoleAuditFilter struct {
	Account  string    // an account slug, or "vendor" for the vendor's chain
	Actor    string    // part of the actor's label or of the impersonator
	Action   string    // an action or its prefix, e.g. "impersonation."
	From, To time.Time // entries at or after From and before To (zero: open)
	BeforeID int64     // paging: entries older than this id
	Limit    int       // 0: every matching entry (CSV export)
}

// ConsoleAuditRow is one entry with its account's slug.
type ConsoleAuditRow struct {
	AuditEntry
	AccountSlug string `db:"account_slug"`
}

const consoleAuditSQL = `
SELECT e.id, e.account_id, e.seq, e.at, e.actor_type, e.actor_id, e.actor_label, e.impersonator, e.action,
       e.target_type, e.target_id, e.before, e.after, e.prev_hash, e.hash,
       CASE WHEN e.account_id = 0 THEN 'vendor' ELSE coalesce(a.slug, '') END AS account_slug
FROM audit_entry e LEFT JOIN account a ON a.id = e.account_id
WHERE ($1 = '' OR e.account_id = CASE WHEN $1 = 'vendor' THEN 0 ELSE (SELECT id FROM account WHERE slug = $1) END)
  AND ($2 = '%%' OR e.actor_label ILIKE $2 OR e.impersonator ILIKE $2)
  AND ($3 = '%' OR e.action LIKE $3)
  AND ($4::timestamptz IS NULL OR e.at >= $4)
  AND ($5::timestamptz IS NULL OR e.at < $5)
  AND ($6::bigint = 0 OR e.id < $6)
ORDER BY e.id DESC
LIMIT $7`

func (f ConsoleAuditFilter) args() []any {
	prefix := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.TrimSpace(f.Action)) + "%"
	limit := sql.NullInt64{Int64: int64(f.Limit), Valid: f.Limit > 0}
	return []any{strings.TrimSpace(f.Account), consoleLikePattern(f.Actor), prefix, nullTime(f.From), nullTime(f.To), f.BeforeID, limit}
}

// ConsoleAudit lists the newest entries matching the filter.
func (s *Store) ConsoleAudit(ctx context.Context, f ConsoleAuditFilter) ([]ConsoleAuditRow, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	var out []ConsoleAuditRow
	err := s.db.SelectContext(ctx, &out, consoleAuditSQL, f.args()...)
	return out, err
}

// EachConsoleAudit streams every entry matching the filter (ignoring its
// Limit) to fn, newest first, without holding them all in memory.
func (s *Store) EachConsoleAudit(ctx context.Context, f ConsoleAuditFilter, fn func(ConsoleAuditRow) error) error {
	f.Limit = 0
	rows, err := s.db.QueryxContext(ctx, consoleAuditSQL, f.args()...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r ConsoleAuditRow
		if err := rows.StructScan(&r); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}
