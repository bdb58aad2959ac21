package store

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"
)

// applierQueries are the inbox applier's own statements, run for nearly
// every event or every batch. lib/pq runs an unprepared statement with
// arguments in two round trips (parse and describe, then bind and
// execute); prepared once per connection, each run is one, and most are
// not planned again. Their columns are named (see preparedStmts).
var applierQueries = []string{lockSubByStripeIDSQL, lockedSubByIDSQL, resolvePriceSQL, updateSubFromStripeSQL, updateSubStatusSQL,
	dueAccountsSQL, lockInboxAccountSQL, claimAccountEventsSQL, claimUnknownAccountEventSQL, orderingGuardsSQL, markProcessedBatchSQL}

// preparedTx is a transaction with some statements prepared: get, exec and
// the sqlx.QueryerContext methods (so that sqlx.GetContext and
// sqlx.SelectContext take it) run a query through its prepared statement
// when it has one.
type preparedTx struct {
	*sqlx.Tx
	stmts map[string]*sqlx.Stmt
}

// applierStatements prepares applierQueries on the pool, before the
// applier's transaction begins (preparing takes a connection of its own).
func (s *Store) applierStatements(ctx context.Context) (map[string]*sqlx.Stmt, error) {
	return s.preparedSet(ctx, applierQueries)
}

// preparedSet prepares queries on the pool, for a preparedTx.
func (s *Store) preparedSet(ctx context.Context, queries []string) (map[string]*sqlx.Stmt, error) {
	out := make(map[string]*sqlx.Stmt, len(queries))
	for _, q := range queries {
		st, err := s.prepared(ctx, q)
		if err != nil {
			return nil, err
		}
		out[q] = st
	}
	return out, nil
}

func (t preparedTx) get(ctx context.Context, dest any, query string, args ...any) error {
	if st, ok := t.stmts[query]; ok {
		return t.StmtxContext(ctx, st).GetContext(ctx, dest, args...)
	}
	return t.GetContext(ctx, dest, query, args...)
}

func (t preparedTx) selectAll(ctx context.Context, dest any, query string, args ...any) error {
	if st, ok := t.stmts[query]; ok {
		return t.StmtxContext(ctx, st).SelectContext(ctx, dest, args...)
	}
	return t.SelectContext(ctx, dest, query, args...)
}

func (t preparedTx) exec(ctx context.Context, query string, args ...any) error {
	var err error
	if st, ok := t.stmts[query]; ok {
		_, err = t.StmtxContext(ctx, st).ExecContext(ctx, args...)
	} else {
		_, err = t.ExecContext(ctx, query, args...)
	}
	return err
}

func (t preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st, ok := t.stmts[query]; ok {
		return t.StmtxContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t preparedTx) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	if st, ok := t.stmts[query]; ok {
		return t.StmtxContext(ctx, st).QueryxContext(ctx, args...)
	}
	return t.Tx.QueryxContext(ctx, query, args...)
}

func (t preparedTx) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	if st, ok := t.stmts[query]; ok {
		return t.StmtxContext(ctx, st).QueryRowxContext(ctx, args...)
	}
	return t.Tx.QueryRowxContext(ctx, query, args...)
}
