// Package store is Entitle's PostgreSQL layer: every query and transaction
// lives here, next to the method that runs it. Invariants (seats never
// oversold, the audit chain unbroken) are held under row locks inside one
// transaction, and every state change writes its audit entry through the
// same transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// Store runs Entitle's queries against one PostgreSQL database.
type Store struct {
	db    *sqlx.DB
	clock licensing.Clock
	// Entitlement API: this process's caches hear of its own
	// committed changes at once; other processes through NOTIFY.
	changes *changeHooks
	// applyHook runs around each webhook event's apply (tracing).
	applyHook func(ctx context.Context, ev StripeEvent) (context.Context, func(outcome string, err error))
	stmts     *preparedStmts
	// SCIM creates waiting for their token's next transaction.
	scimCreates scimCreateQueues
}

// New wraps an open database.
func New(db *sqlx.DB, clock licensing.Clock) *Store {
	if clock == nil {
		clock = licensing.SystemClock{}
	}
	return &Store{db: db, clock: clock, changes: &changeHooks{}, stmts: &preparedStmts{}}
}

// DB exposes the pool for the few callers that manage it (tests, shutdown).
func (s *Store) DB() *sqlx.DB { return s.db }

// Now is the store's clock reading, truncated to what PostgreSQL keeps.
func (s *Store) Now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// Open connects to databaseURL, creating the database when the server is
// reachable but the database does not exist yet (a new machine's first
// `make run`). It fails within timeout when the server cannot be reached.
func Open(ctx context.Context, databaseURL string, timeout time.Duration) (*sqlx.DB, error) {
	db, err := connect(ctx, databaseURL, timeout)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "3D000" { // invalid_catalog_name
		if cerr := createDatabase(ctx, databaseURL, timeout); cerr != nil {
			return nil, cerr
		}
		db, err = connect(ctx, databaseURL, timeout)
	}
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// connect opens a pool whose connections send a statement's arguments
// with the statement (lib/pq's binary_parameters): an unprepared statement
// with arguments is one round trip instead of two (parse and describe,
// then bind and execute), which every transaction pays once per statement
// while it holds its locks. The price: a []byte argument goes as binary
// data, which bytea and text read as they are but jsonb refuses ("unsupported
// jsonb version number"), so JSON is passed as a string.
func connect(ctx context.Context, databaseURL string, timeout time.Duration) (*sqlx.DB, error) {
	cfg, err := pq.NewConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	cfg.BinaryParameters = true
	conn, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	db := sqlx.NewDb(sql.OpenDB(conn), "postgres")
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// createDatabase connects to the server's maintenance database and creates
// the database that databaseURL names.
func createDatabase(ctx context.Context, databaseURL string, timeout time.Duration) error {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return fmt.Errorf("database url: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return errors.New("database url names no database")
	}
	u.Path = "/postgres"
	admin, err := connect(ctx, u.String(), timeout)
	if err != nil {
		return err
	}
	defer admin.Close()
	_, err = admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name))
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "42P04" { // created meanwhile by another instance
		return nil
	}
	return err
}

// tx runs fn in a transaction, committing when fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return s.txPreview(ctx, false, fn)
}

// txPreview runs fn in a transaction like tx, but when preview is set it
// rolls back after fn succeeds: a preview runs the very change, under the
// same locks, so its answers are exact, and keeps nothing.
//
// Every commit runs stampChangesSQL, so it is prepared (before the
// transaction: preparing on the pool may take a connection of its own); it
// has no parameters, so PostgreSQL plans it once per connection.
func (s *Store) txPreview(ctx context.Context, preview bool, fn func(tx *sqlx.Tx) error) error {
	stamp, err := s.prepared(ctx, stampChangesSQL)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if preview {
		return tx.Rollback()
	}
	if _, err := tx.StmtxContext(ctx, stamp).ExecContext(ctx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Ping reports whether the database answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// nullTime turns a zero time into SQL NULL.
func nullTime(t time.Time) sql.NullTime { return sql.NullTime{Time: t, Valid: !t.IsZero()} }
