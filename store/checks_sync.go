package store

import (
	"context"
	"crypto/sha256"
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

// AccountChangeSeq reads the account's and the catalog's change numbers.
// Read before the state, it is never newer than the state.
func (s *Store) AccountChangeSeq(ctx context.Context, accountID int64) (ChangeSeq, error) {
	var seq ChangeSeq
	err := s.db.GetContext(ctx, &seq, accountChangeSeqSQL, accountID)
	return seq, err
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
