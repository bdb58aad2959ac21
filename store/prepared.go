package store

import (
	"context"
	"database/sql"
	"sync"

	"github.com/jmoiron/sqlx"
)

// preparedStmts holds the statements that every signed-in page runs (the
// session, the account switcher, the banners' seat pools, the members
// page's invitation card), prepared once per connection instead of parsed
// and planned on each request: their plans do not depend on the values
// given, and planning them was a fifth of the database's time per page.
// PostgreSQL keeps a prepared statement's plan only when it looks no
// dearer than a fresh one, so a LIMIT is written into the text rather
// than passed as a value (see pendingInvitationsSQL). A statement whose
// best plan depends on the size of an account stays unprepared: a kept
// plan is made from the figures of its first runs (the SCIM userName
// filter, prepared, kept the plan of an import's first, empty minutes and
// read every membership by its end). Only statements
// whose columns are named go here, so that a migration adding a column
// never changes what a prepared one returns.
type preparedStmts struct {
	mu    sync.Mutex
	stmts map[string]*sqlx.Stmt
}

// prepared returns query prepared on the pool; database/sql prepares it on
// each connection the first time that connection runs it.
func (s *Store) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	if st, ok := s.stmts.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.stmts.stmts == nil {
		s.stmts.stmts = map[string]*sqlx.Stmt{}
	}
	s.stmts.stmts[query] = st
	return st, nil
}

// getPrepared and selectPrepared are GetContext and SelectContext through
// a prepared statement.
func (s *Store) getPrepared(ctx context.Context, dest any, query string, args ...any) error {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return err
	}
	return st.GetContext(ctx, dest, args...)
}

func (s *Store) selectPrepared(ctx context.Context, dest any, query string, args ...any) error {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return err
	}
	return st.SelectContext(ctx, dest, args...)
}

// preparedTx is a transaction with some statements prepared: get, exec and
// the sqlx.QueryerContext methods (so that sqlx.GetContext and
// sqlx.SelectContext take it) run a query through its prepared statement
// when it has one.
type preparedTx struct {
	*sqlx.Tx
	stmts map[string]*sqlx.Stmt
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
