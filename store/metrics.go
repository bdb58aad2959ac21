package store

import (
	"context"
	"database/sql"
	"time"
)

// OpsFigures is what /metrics reads from the database at each scrape
// : a few aggregate queries, bounded by the catalog's size.
type OpsFigures struct {
	InboxDepth     int
	OldestPending  time.Duration // age of the oldest unprocessed webhook event (0: none)
	EventsApplied  int64
	EventsFailed   int64
	SeatsByProduct []ProductSeats
}

// ProductSeats is one product's seats across all accounts.
type ProductSeats struct {
	Product   string `db:"product"`
	Purchased int64  `db:"purchased"`
	Assigned  int64  `db:"assigned"`
}

const (
	opsInboxSQL = `
SELECT count(*) FILTER (WHERE processed_at IS NULL AND failed_at IS NULL) AS depth,
       min(received_at) FILTER (WHERE processed_at IS NULL AND failed_at IS NULL) AS oldest,
       count(*) FILTER (WHERE processed_at IS NOT NULL) AS applied,
       count(*) FILTER (WHERE processed_at IS NULL AND failed_at IS NOT NULL) AS failed
FROM stripe_event`
	opsSeatsSQL = `
SELECT p.key AS product, coalesce(sum(s.seats), 0) AS purchased,
       coalesce(sum(s.seats_assigned), 0) AS assigned
FROM product p LEFT JOIN subscription s ON s.product_id = p.id AND s.status <> 'canceled'
GROUP BY p.key ORDER BY p.key`
)

// OpsFigures reads the operational figures.
func (s *Store) OpsFigures(ctx context.Context) (OpsFigures, error) {
	var out OpsFigures
	var row struct {
		Depth   int          `db:"depth"`
		Oldest  sql.NullTime `db:"oldest"`
		Applied int64        `db:"applied"`
		Failed  int64        `db:"failed"`
	}
	if err := s.db.GetContext(ctx, &row, opsInboxSQL); err != nil {
		return out, err
	}
	out.InboxDepth, out.EventsApplied, out.EventsFailed = row.Depth, row.Applied, row.Failed
	if row.Oldest.Valid {
		out.OldestPending = max(s.Now().Sub(row.Oldest.Time), 0)
	}
	err := s.db.SelectContext(ctx, &out.SeatsByProduct, opsSeatsSQL)
	return out, err
}
