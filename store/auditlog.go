package store

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// AuditFilter selects an account's audit entries. From and To bound the
// time (To excluded); zero means unbounded.
type AuditFilter struct {
	Actor  string // part of the actor's label (an address, a token name)
	Action string // exact action, e.g. seat.assign
	From   time.Time
	To     time.Time
	Before string // cursor: entries older than this one
	Limit  int
}

// AuditPage is one page of the log, newest first; Next is the cursor for
// older entries, empty on the last page.
type AuditPage struct {
	Entries []AuditEntry
	Next    string
}

// The filters fold away when empty (see ListMembers); the order is that of
// audit_entry_account_at_idx, so paging is an index range scan.
const (
	auditListColumns = `id, account_id, seq, at, actor_type, actor_id, actor_label, impersonator, action,
       target_type, target_id, before, after, prev_hash, hash`
	auditWhere = `
WHERE account_id = $1
  AND ($2 = '' OR lower(actor_label) LIKE $2)
  AND ($3 = '' OR action = $3)
  AND ($4::timestamptz IS NULL OR at >= $4)
  AND ($5::timestamptz IS NULL OR at < $5)`
	auditPageSQL = `SELECT ` + auditListColumns + ` FROM audit_entry` + auditWhere + `
  AND (at, id) < ($6, $7)
ORDER BY at DESC, id DESC LIMIT $8`
	auditExportSQL = `SELECT ` + auditListColumns + ` FROM audit_entry` + auditWhere + `
ORDER BY at DESC, id DESC`
	auditActionsSQL = `SELECT DISTINCT action FROM audit_entry WHERE account_id = $1 ORDER BY action`
)

func (f AuditFilter) args(accountID int64) []any {
	actor := ""
	if a := strings.TrimSpace(strings.ToLower(f.Actor)); a != "" {
		actor = "%" + likeEscaper.Replace(a) + "%"
	}
	return []any{accountID, actor, strings.TrimSpace(f.Action), nullTime(f.From), nullTime(f.To)}
}

// AuditLog returns one page of an account's audit log, newest first.
func (s *Store) AuditLog(ctx context.Context, accountID int64, f AuditFilter) (AuditPage, error) {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	at, id := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), int64(1<<62)
	if t, i, ok := decodeAuditCursor(f.Before); ok {
		at, id = t, i
	}
	var entries []AuditEntry
	if err := s.db.SelectContext(ctx, &entries, auditPageSQL, append(f.args(accountID), at, id, limit+1)...); err != nil {
		return AuditPage{}, err
	}
	page := AuditPage{Entries: entries}
	if len(entries) > limit {
		page.Entries = entries[:limit]
		last := page.Entries[limit-1]
		page.Next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last.At.UnixMicro(), 10) + ":" + strconv.FormatInt(last.ID, 10)))
	}
	return page, nil
}

func decodeAuditCursor(c string) (time.Time, int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if c == "" || err != nil {
		return time.Time{}, 0, false
	}
	atText, idText, ok := strings.Cut(string(b), ":")
	micros, err1 := strconv.ParseInt(atText, 10, 64)
	id, err2 := strconv.ParseInt(idText, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return time.Time{}, 0, false
	}
	return time.UnixMicro(micros).UTC(), id, true
}

// ExportAudit calls fn with every entry the filter selects, newest first,
// streaming rows so that a long log is never held in memory.
func (s *Store) ExportAudit(ctx context.Context, accountID int64, f AuditFilter, fn func(AuditEntry) error) error {
	rows, err := s.db.QueryxContext(ctx, auditExportSQL, f.args(accountID)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e AuditEntry
		if err := rows.StructScan(&e); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AuditActions lists the actions that occur in an account's log (for the
// filter's choices).
func (s *Store) AuditActions(ctx context.Context, accountID int64) ([]string, error) {
	var out []string
	err := s.db.SelectContext(ctx, &out, auditActionsSQL, accountID)
	return out, err
}
