package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Actor is who made a change, as the audit log records it.
type Actor struct {
	Type         string // user, staff, stripe, scim, system
	ID           string
	Label        string // an email, a token name, an event id
	Impersonator string // the staff member acting as Type/ID, if any
}

// SystemActor is Entitle itself (demo seeding, the catalog loader, jobs).
func SystemActor(label string) Actor { return Actor{Type: "system", Label: label} }

// AuditEvent is one state change to record.
type AuditEvent struct {
	AccountID  int64 // 0: the vendor's own chain
	Actor      Actor
	Action     string // e.g. seat.assign, member.invite
	TargetType string
	TargetID   string
	Before     any
	After      any
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID           int64     `db:"id"`
	AccountID    int64     `db:"account_id"`
	Seq          int64     `db:"seq"`
	At           time.Time `db:"at"`
	ActorType    string    `db:"actor_type"`
	ActorID      string    `db:"actor_id"`
	ActorLabel   string    `db:"actor_label"`
	Impersonator string    `db:"impersonator"`
	Action       string    `db:"action"`
	TargetType   string    `db:"target_type"`
	TargetID     string    `db:"target_id"`
	Before       []byte    `db:"before"`
	After        []byte    `db:"after"`
	PrevHash     string    `db:"prev_hash"`
	Hash         string    `db:"hash"`
}

// auditLockClass is the first key of the advisory lock that serialises
// appends to one account's chain (the second key is the account id).
const auditLockClass = 0x4155 // "AU"

const (
	lockAuditChainSQL = `SELECT pg_advisory_xact_lock($1, $2::int)`
	// chainHeadSQL takes the chain's lock and then reads its head (see
	// migration 00186 for why that needs a function).
	chainHeadSQL = `SELECT seq, hash FROM audit_chain_head($1, $2)`
)

// audit appends e to its account's chain inside tx, and announces the
// account's change on ChangesChannel. Every state-changing store method
// calls it with its own transaction, so a change, its audit entry and its
// notification commit together or not at all.
func audit(ctx context.Context, tx *sqlx.Tx, at time.Time, e AuditEvent) error {
	return auditMany(ctx, tx, at, e.AccountID, e.Actor, []AuditEvent{e})
}

// lockChainHead takes the lock on the account's chain, held until tx ends,
// and reads the chain's head (0 and "" for an empty chain).
func lockChainHead(ctx context.Context, tx *sqlx.Tx, accountID int64) (seq int64, hash string, err error) {
	err = tx.QueryRowxContext(ctx, chainHeadSQL, auditLockClass, accountID).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("audit chain head: %w", err)
	}
	return seq, hash, nil
}

// computeHash hashes the previous link with this entry's content. The
// content is encoded as JSON with a fixed field order, and before/after are
// re-encoded canonically, so the hash survives the jsonb round trip.
func (a AuditEntry) computeHash() string {
	a.Before, _ = canonicalJSON(json.RawMessage(orNull(a.Before)))
	a.After, _ = canonicalJSON(json.RawMessage(orNull(a.After)))
	return a.canonicalHash()
}

// canonicalHash is computeHash of an entry whose before and after are
// canonicalJSON's already (as a writer makes them): encoding them again
// would give the same bytes, at a third of the time a reconcile spends
// auditing its thousands of changes.
func (a AuditEntry) canonicalHash() string {
	content, _ := json.Marshal(struct {
		AccountID    int64           `json:"account_id"`
		Seq          int64           `json:"seq"`
		At           string          `json:"at"`
		ActorType    string          `json:"actor_type"`
		ActorID      string          `json:"actor_id"`
		ActorLabel   string          `json:"actor_label"`
		Impersonator string          `json:"impersonator"`
		Action       string          `json:"action"`
		TargetType   string          `json:"target_type"`
		TargetID     string          `json:"target_id"`
		Before       json.RawMessage `json:"before"`
		After        json.RawMessage `json:"after"`
	}{a.AccountID, a.Seq, a.At.UTC().Format(time.RFC3339Nano), a.ActorType, a.ActorID, a.ActorLabel,
		a.Impersonator, a.Action, a.TargetType, a.TargetID, orNull(a.Before), orNull(a.After)})
	sum := sha256.Sum256(append([]byte(a.PrevHash+"\n"), content...))
	return hex.EncodeToString(sum[:])
}

// canonicalJSON encodes v, then decodes and re-encodes it so that key order,
// spacing and number spelling are the same as after a jsonb round trip.
func canonicalJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	return json.Marshal(generic)
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

// ChainBreak describes the first entry whose link does not hold.
type ChainBreak struct {
	EntryID   int64
	AccountID int64
	Seq       int64
	Problem   string
}

func (b ChainBreak) String() string {
	return fmt.Sprintf("audit chain broken at entry %d (account %d, seq %d): %s", b.EntryID, b.AccountID, b.Seq, b.Problem)
}

const allAuditSQL = `
SELECT id, account_id, seq, at, actor_type, actor_id, actor_label, impersonator, action,
       target_type, target_id, before, after, prev_hash, hash
FROM audit_entry ORDER BY account_id, seq`

// VerifyAudit walks every chain and returns the first broken link, or nil
// when every chain holds, along with the number of entries checked.
func (s *Store) VerifyAudit(ctx context.Context) (*ChainBreak, int, error) {
	rows, err := s.db.QueryxContext(ctx, allAuditSQL)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var (
		n        int
		account  int64 = -1
		prevSeq  int64
		prevHash string
	)
	for rows.Next() {
		var e AuditEntry
		if err := rows.StructScan(&e); err != nil {
			return nil, n, err
		}
		n++
		if e.AccountID != account {
			account, prevSeq, prevHash = e.AccountID, 0, ""
		}
		brk := func(problem string) *ChainBreak {
			return &ChainBreak{EntryID: e.ID, AccountID: e.AccountID, Seq: e.Seq, Problem: problem}
		}
		switch {
		case e.Seq != prevSeq+1:
			return brk(fmt.Sprintf("expected seq %d: an entry is missing", prevSeq+1)), n, nil
		case e.PrevHash != prevHash:
			return brk("prev_hash does not match the previous entry's hash"), n, nil
		case e.computeHash() != e.Hash:
			return brk("content does not match its hash: the entry was altered"), n, nil
		}
		prevSeq, prevHash = e.Seq, e.Hash
	}
	return nil, n, rows.Err()
}
