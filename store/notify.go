package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jmoiron/sqlx"
)

// ChangesChannel is the PostgreSQL NOTIFY channel on which every change to
// what feeds entitlement evaluation is announced, so that every instance's
// in-process caches drop what changed. Payloads:
//
//	"<account id>"  the account's subscription, seats, grants or usage changed
//	"*"             the catalog changed: every account may be affected
//	"apikeys"       an API key was revoked
//
// A payload may carry a W3C trace context after a space (ParseChange).
//
// A notification is sent inside the transaction that makes the change, so
// it is delivered if and only if the change commits, and only after it has.
const ChangesChannel = "entitle_changes"

// Payloads of ChangesChannel other than an account id.
const (
	ChangedEverything = "*"
	ChangedAPIKeys    = "apikeys"
)

// notifySQL announces the change and remembers its payload in the
// transaction (a transaction-local setting) for stampChangesSQL.
var notifySQL = announceSQL(1)

// announceSQL is the select of notifySQL with its three parameters
// numbered from first, so that a statement that makes a change can end by
// announcing it (the audit's insert does) instead of taking a round trip
// of its own. Its arguments are announcement's.
func announceSQL(first int) string {
	return fmt.Sprintf(`SELECT pg_notify($%d, $%d),
       set_config('entitle.changed', coalesce(current_setting('entitle.changed', true), '') || $%d || ',', true)`,
		first, first+1, first+2)
}

// stampChangesSQL gives each account the transaction announced (0 for the
// catalog) a new change number. It runs as the last statement before
// commit, so the row lock it takes is held by a transaction that takes no
// other lock afterwards, in account order: it cannot be part of a deadlock.
const stampChangesSQL = `
INSERT INTO account_change (account_id, seq)
SELECT id, nextval('account_change_seq')
FROM (SELECT DISTINCT CASE p WHEN '*' THEN 0 ELSE p::bigint END AS id
      FROM unnest(string_to_array(coalesce(current_setting('entitle.changed', true), ''), ',')) AS p
      WHERE p ~ '^([0-9]+|\*)$' ORDER BY 1) AS changed
ON CONFLICT (account_id) DO UPDATE SET seq = excluded.seq`

// notifyAccountChanged announces, inside tx, that what feeds the account's
// entitlements changed. Every store method that changes a subscription,
// seats, grants, usage or memberships of an account calls it in its
// transaction; PostgreSQL folds repeats within one transaction into one.
func notifyAccountChanged(ctx context.Context, tx *sqlx.Tx, accountID int64) error {
	return notify(ctx, tx, strconv.FormatInt(accountID, 10))
}

// notifyCatalogChanged announces a catalog change (every account may be
// affected).
func notifyCatalogChanged(ctx context.Context, tx *sqlx.Tx) error {
	return notify(ctx, tx, ChangedEverything)
}

func notify(ctx context.Context, tx *sqlx.Tx, payload string) error {
	_, err := tx.ExecContext(ctx, notifySQL, announcement(ctx, payload)...)
	return err
}

// announcement is the arguments of announceSQL for payload: the channel,
// the payload with the trace context of ctx, and the payload alone.
func announcement(ctx context.Context, payload string) []any {
	announced := payload
	if tp, _ := ctx.Value(traceParentKey{}).(string); tp != "" {
		announced += " " + tp
	}
	return []any{ChangesChannel, announced, payload}
}

type traceParentKey struct{}

// traced tells whether the changes announced under ctx carry a trace.
func traced(ctx context.Context) bool {
	tp, _ := ctx.Value(traceParentKey{}).(string)
	return tp != ""
}

// WithTraceParent makes the changes announced under ctx carry a W3C trace
// context (after a space: "<account id> <traceparent>"), so that what each
// instance does on hearing them joins the trace of the change.
func WithTraceParent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return context.WithValue(ctx, traceParentKey{}, traceparent)
}

// ParseChange splits a payload of ChangesChannel into what changed (an
// account id, ChangedEverything or ChangedAPIKeys) and the trace context
// it carries ("" when none). Fields of the form name=value after what
// (UsageChange's) are skipped here.
func ParseChange(payload string) (what, traceparent string) {
	what, rest, _ := strings.Cut(payload, " ")
	for rest != "" {
		var f string
		f, rest, _ = strings.Cut(rest, " ")
		if f != "" && !strings.Contains(f, "=") {
			traceparent = f
		}
	}
	return what, traceparent
}

// changeHooks are this process's listeners for changes it committed itself,
// called right after commit, so that a key revoked through this instance
// fails on this instance at once rather than when the NOTIFY comes back.
type changeHooks struct {
	mu  sync.RWMutex
	fns []func(payload string)
}

// OnCommittedChange registers fn to hear of changes this Store committed
// (same payloads as ChangesChannel).
func (s *Store) OnCommittedChange(fn func(payload string)) {
	s.changes.mu.Lock()
	defer s.changes.mu.Unlock()
	s.changes.fns = append(s.changes.fns, fn)
}

// committed tells the local hooks about a change that has committed.
func (s *Store) committed(payloads ...string) {
	s.changes.mu.RLock()
	defer s.changes.mu.RUnlock()
	for _, fn := range s.changes.fns {
		for _, p := range payloads {
			fn(p)
		}
	}
}

func accountPayload(accountID int64) string { return strconv.FormatInt(accountID, 10) }
