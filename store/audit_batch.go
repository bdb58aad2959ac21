package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// insertAuditManySQL appends entries of one chain in one statement.
const insertAuditManySQL = `
INSERT INTO audit_entry (account_id, seq, at, actor_type, actor_id, actor_label, impersonator,
                         action, target_type, target_id, before, after, prev_hash, hash)
SELECT $1, x.seq, $2, $3, $4, $5, $6, x.action, x.target_type, x.target_id, x.before::jsonb, x.after::jsonb, x.prev_hash, x.hash
FROM unnest($7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
     AS x(seq, action, target_type, target_id, before, after, prev_hash, hash)`

// insertAnnouncedAuditSQL is insertAuditManySQL that also announces the
// account's change (announceSQL, from $15).
var insertAnnouncedAuditSQL = `WITH entries AS (` + insertAuditManySQL + `)
` + announceSQL(15)

// auditMany appends events of one account by one actor, in order, to the
// account's chain inside tx, and announces the account's change (not for
// the vendor's own chain, account 0: no account's entitlements changed).
// One statement writes them all (provisioning: the reconciler audits
// thousands of seats and waiting entries in one transaction, and a
// statement per entry would hold the account's chain for seconds).
func auditMany(ctx context.Context, tx *sqlx.Tx, at time.Time, accountID int64, actor Actor, events []AuditEvent) error {
	return auditManyKnowing(ctx, tx, at, accountID, actor, events, nil)
}

// auditManyKnowing is auditMany for a caller that has just written the
// members its events name, and passes them as their webhook events
// describe them, so they are not read again.
func auditManyKnowing(ctx context.Context, tx *sqlx.Tx, at time.Time, accountID int64, actor Actor, events []AuditEvent,
	members map[int64]WebhookMember) error {
	if len(events) == 0 {
		return nil
	}
	prevSeq, prevHash, err := lockChainHead(ctx, tx, accountID)
	if err != nil {
		return err
	}
	at = at.UTC().Truncate(time.Microsecond)
	n := len(events)
	seqs := make([]int64, n)
	actions, types, targets := make([]string, n), make([]string, n), make([]string, n)
	befores, afters := make([]sql.NullString, n), make([]sql.NullString, n)
	prevs, hashes := make([]string, n), make([]string, n)
	for i, e := range events {
		before, err := canonicalJSON(e.Before)
		if err != nil {
			return fmt.Errorf("audit before: %w", err)
		}
		after, err := canonicalJSON(e.After)
		if err != nil {
			return fmt.Errorf("audit after: %w", err)
		}
		entry := AuditEntry{AccountID: accountID, Seq: prevSeq + 1, At: at, ActorType: actor.Type, ActorID: actor.ID,
			ActorLabel: actor.Label, Impersonator: actor.Impersonator, Action: e.Action, TargetType: e.TargetType,
			TargetID: e.TargetID, Before: before, After: after, PrevHash: prevHash}
		entry.Hash = entry.canonicalHash()
		seqs[i], actions[i], types[i], targets[i] = entry.Seq, entry.Action, entry.TargetType, entry.TargetID
		befores[i], afters[i] = jsonText(entry.Before), jsonText(entry.After)
		prevs[i], hashes[i] = entry.PrevHash, entry.Hash
		prevSeq, prevHash = entry.Seq, entry.Hash
	}
	insert, args := insertAuditManySQL, []any{accountID, at, actor.Type, actor.ID, actor.Label, actor.Impersonator,
		pq.Array(seqs), pq.Array(actions), pq.Array(types), pq.Array(targets), pq.Array(befores), pq.Array(afters),
		pq.Array(prevs), pq.Array(hashes)}
	if accountID != 0 {
		// Every change a customer would care about is audited, so
		// announcing the account's change with its entries means no write
		// path can forget to drop the entitlement caches (PostgreSQL folds
		// repeats within a transaction).
		insert, args = insertAnnouncedAuditSQL, append(args, announcement(ctx, itoa(accountID))...)
	}
	if _, err := tx.ExecContext(ctx, insert, args...); err != nil {
		return fmt.Errorf("audit insert: %w", err)
	}
	return webhooksForAudit(ctx, tx, at, accountID, events, members)
}

func jsonText(b []byte) sql.NullString {
	if len(b) == 0 || string(b) == "null" {
		return sql.NullString{}
	}
	return sql.NullString{String: string(b), Valid: true}
}
