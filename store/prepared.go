package store

import (
	"context"
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
// than passed as a value (see pendingInvitationsSQL). Only statements
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
