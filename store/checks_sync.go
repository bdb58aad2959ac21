package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/entitle-dev/entitle/licensing"
)

// CatalogChangeKey is the key of ChangeSeqs under which catalog changes are
// numbered.
const CatalogChangeKey = 0

const (
	changeSeqsSQL       = `SELECT account_id, seq FROM account_change`
	accountChangeSeqSQL = `
SELECT coalesce((SELECT seq FROM account_change WHERE account_id = $1), 0) AS account,
       coalesce((SELECT seq FROM account_change WHERE account_id = 0), 0) AS catalog`
	accountIDsSQL    = `SELECT id FROM account ORDER BY id`
	apiKeysByHashSQL = `SELECT k.hash, ` + apiKeyColumns + ` FROM api_key k JOIN account a ON a.id = k.account_id`
)

// ChangeSeq is where an account's state stands in the change sequence: the
// account's own number and the catalog's (0 when never changed).
type ChangeSeq struct {
	Account int64 `db:"account"`
	Catalog int64 `db:"catalog"`
}

// ChangeSeqs gives every account's last change number (CatalogChangeKey:
// the catalog's). Accounts never changed are absent (their number is 0).
func (s *Store) ChangeSeqs(ctx context.Context) (map[int64]int64, error) {
	rows, err := s.db.QueryContext(ctx, changeSeqsSQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var id, seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, err
		}
		out[id] = seq
	}
	return out, rows.Err()
}

// AccountChangeSeq gives the account's change numbers as committed now: a
// reader that keeps something derived from the account's state can tell
// from them, in one indexed read, whether any change has committed since,
// on this instance or another, without waiting for the change feed.
func (s *Store) AccountChangeSeq(ctx context.Context, accountID int64) (ChangeSeq, error) {
	var seq ChangeSeq
	err := s.getPrepared(ctx, &seq, accountChangeSeqSQL, accountID)
	return seq, err
}

// AccountStateAt reads the account's state and its change numbers from one
// snapshot, so that the state is exactly the one those numbers name: every
// change numbered up to them is in it, none after. A cache that holds it
// can then tell from a change's number alone whether it already has it,
// and apply a UsageChange to it in place.
func (s *Store) AccountStateAt(ctx context.Context, accountID int64) (licensing.AccountState, ChangeSeq, error) {
	var (
		state licensing.AccountState
		seq   ChangeSeq
	)
	stmts, err := s.stateStatements(ctx)
	if err != nil {
		return state, seq, err
	}
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return state, seq, err
	}
	defer func() { _ = tx.Rollback() }()
	if err := tx.GetContext(ctx, &seq, accountChangeSeqSQL, accountID); err != nil {
		return state, seq, err
	}
	if state, err = s.accountState(ctx, preparedTx{Tx: tx, stmts: stmts}, accountID, wholeState); err != nil {
		return state, seq, err
	}
	return state, seq, tx.Commit()
}

// UsageChange is a committed change whose only effect on the account's
// state was to count Quantity of Product's Feature at At: a cache holding
// the state numbered Prev reaches the state numbered Seq by adding it,
// without reading the state again. It travels in the change's payload on
// ChangesChannel ("<account id> seq=… prev=… product=… feature=…
// quantity=… at=…"), so every instance can do so.
type UsageChange struct {
	AccountID int64
	Prev, Seq int64 // the account's change numbers before and after
	Product   string
	Feature   string
	Quantity  int64
	At        time.Time // store clock
}

// Payload is the change as announced on ChangesChannel (ParseChange reads
// its account id and trace context like any other payload's).
func (u UsageChange) Payload(traceparent string) string {
	p := strconv.FormatInt(u.AccountID, 10) + " seq=" + strconv.FormatInt(u.Seq, 10) + " prev=" + strconv.FormatInt(u.Prev, 10) +
		" product=" + url.QueryEscape(u.Product) + " feature=" + url.QueryEscape(u.Feature) +
		" quantity=" + strconv.FormatInt(u.Quantity, 10) + " at=" + strconv.FormatInt(u.At.UnixNano(), 10)
	if traceparent != "" {
		p += " " + traceparent
	}
	return p
}

// ParseUsageChange reads a UsageChange's payload; false for any other.
func ParseUsageChange(payload string) (UsageChange, bool) {
	what, rest, ok := strings.Cut(payload, " ")
	if !ok || !strings.Contains(rest, "=") {
		return UsageChange{}, false
	}
	var u UsageChange
	var err error
	if u.AccountID, err = strconv.ParseInt(what, 10, 64); err != nil {
		return UsageChange{}, false
	}
	var at int64
	seen := 0
	for rest != "" {
		var f string
		f, rest, _ = strings.Cut(rest, " ")
		name, v, ok := strings.Cut(f, "=")
		if !ok {
			continue // the trace context
		}
		switch name {
		case "seq":
			u.Seq, err = strconv.ParseInt(v, 10, 64)
		case "prev":
			u.Prev, err = strconv.ParseInt(v, 10, 64)
		case "product":
			u.Product, err = url.QueryUnescape(v)
		case "feature":
			u.Feature, err = url.QueryUnescape(v)
		case "quantity":
			u.Quantity, err = strconv.ParseInt(v, 10, 64)
		case "at":
			at, err = strconv.ParseInt(v, 10, 64)
		default:
			continue
		}
		if err != nil {
			return UsageChange{}, false
		}
		seen++
	}
	if seen != 6 || u.Seq <= u.Prev {
		return UsageChange{}, false
	}
	u.At = time.Unix(0, at).UTC()
	return u, true
}

const (
	// lockChangeSeqSQL locks the account's change number and reads it (0
	// when the account never changed), drawing the next one.
	lockChangeSeqSQL = `
INSERT INTO account_change (account_id, seq) VALUES ($1, 0)
ON CONFLICT (account_id) DO UPDATE SET seq = account_change.seq
RETURNING seq AS prev, nextval('account_change_seq') AS seq`
	usageChangedSQL = `
WITH stamped AS (UPDATE account_change SET seq = $2 WHERE account_id = $1)
SELECT pg_notify($3, $4)`
)

// announceUsage numbers and announces u inside tx in place of
// notifyAccountChanged: it fills u's Prev and Seq. Like the stamp, it runs
// last in its transaction, so the row lock it takes is held by one that
// takes no other lock afterwards.
func announceUsage(ctx context.Context, tx preparedTx, u *UsageChange) (string, error) {
	var seqs struct {
		Prev int64 `db:"prev"`
		Seq  int64 `db:"seq"`
	}
	if err := tx.get(ctx, &seqs, lockChangeSeqSQL, u.AccountID); err != nil {
		return "", err
	}
	u.Prev, u.Seq = seqs.Prev, seqs.Seq
	tp, _ := ctx.Value(traceParentKey{}).(string)
	announced := u.Payload(tp)
	if err := tx.exec(ctx, usageChangedSQL, u.AccountID, u.Seq, ChangesChannel, announced); err != nil {
		return "", err
	}
	return u.Payload(""), nil
}

// AccountIDs lists every account.
func (s *Store) AccountIDs(ctx context.Context) ([]int64, error) {
	var ids []int64
	err := s.db.SelectContext(ctx, &ids, accountIDsSQL)
	return ids, err
}

// KnownAPIKey is an API key with the SHA-256 of its token, revoked or not.
type KnownAPIKey struct {
	Hash [32]byte
	APIKey
}

// AllAPIKeys lists every API key, revoked ones included, by the SHA-256 of
// its token, so that the check path can tell a valid key from a revoked one
// without asking the database.
func (s *Store) AllAPIKeys(ctx context.Context) ([]KnownAPIKey, error) {
	var rows []struct {
		Hash []byte `db:"hash"`
		APIKey
	}
	if err := s.db.SelectContext(ctx, &rows, apiKeysByHashSQL); err != nil {
		return nil, err
	}
	out := make([]KnownAPIKey, 0, len(rows))
	for _, r := range rows {
		if len(r.Hash) != sha256.Size {
			continue
		}
		k := KnownAPIKey{APIKey: r.APIKey}
		copy(k.Hash[:], r.Hash)
		out = append(out, k)
	}
	return out, nil
}
