package store

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// applierQueries are the inbox applier's own statements, run for nearly
// every event or every batch: prepared once per connection, each run is
// neither parsed nor, mostly, planned again. Their columns are named (see
// preparedStmts).
var applierQueries = []string{lockSubByStripeIDSQL, lockedSubByIDSQL, resolvePriceSQL, updateSubFromStripeSQL, updateSubStatusSQL,
	dueAccountsSQL, lockInboxAccountSQL, claimAccountEventsSQL, claimUnknownAccountEventSQL, orderingGuardsSQL, markProcessedBatchSQL}

// applierStatements prepares applierQueries on the pool, before the
// applier's transaction begins (preparing takes a connection of its own).
func (s *Store) applierStatements(ctx context.Context) (map[string]*sqlx.Stmt, error) {
	return s.preparedSet(ctx, applierQueries)
}
