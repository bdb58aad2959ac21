package checks

import (
	"context"
	"sync"
	"time"

	"github.com/entitle-dev/entitle/store"
)

// maxSeatUses bounds the seats' last uses kept between two flushes: past it
// new ones are dropped until the next flush (a last use is a hint, not a
// ledger).
const maxSeatUses = 100000

// keyUseFlushEvery is how often last-use times (API keys and seats) are
// written.
const keyUseFlushEvery = 5 * time.Second

// useBatch gathers API keys' and seats' last use between two writes, so a
// check never writes to the database.
type useBatch struct {
	mu    sync.Mutex
	keys  map[int64]time.Time // API key id → last use, not yet written
	seats map[store.SeatUse]time.Time
}

func newUseBatch() *useBatch {
	return &useBatch{keys: map[int64]time.Time{}, seats: map[store.SeatUse]time.Time{}}
}

func (b *useBatch) keyUsed(id int64, at time.Time) {
	b.mu.Lock()
	b.keys[id] = at
	b.mu.Unlock()
}

// take hands over what was gathered and starts a new batch.
func (b *useBatch) take() (map[int64]time.Time, map[store.SeatUse]time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	keys, seats := b.keys, b.seats
	b.keys, b.seats = map[int64]time.Time{}, map[store.SeatUse]time.Time{}
	return keys, seats
}

// putBack returns uses that could not be written, unless a newer use came
// in meanwhile.
func (b *useBatch) putBack(keys map[int64]time.Time, seats map[store.SeatUse]time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, at := range keys {
		if at.After(b.keys[k]) {
			b.keys[k] = at
		}
	}
	for k, at := range seats {
		if at.After(b.seats[k]) {
			b.seats[k] = at
		}
	}
}

// NoteSeatUse remembers that a check named user (an id or an address) as a
// holder of a seat of product; Run writes it with the next batch.
func (c *Cache) NoteSeatUse(accountID int64, product, user string, at time.Time) {
	k := store.SeatUse{AccountID: accountID, Product: product, User: user}
	c.uses.mu.Lock()
	if _, ok := c.uses.seats[k]; ok || len(c.uses.seats) < maxSeatUses {
		c.uses.seats[k] = at
	}
	c.uses.mu.Unlock()
}

// FlushKeyUse writes the API keys' and seats' last-use times gathered since
// the last flush.
func (c *Cache) FlushKeyUse(ctx context.Context) error {
	keys, seats := c.uses.take()
	if err := c.store.RecordAPIKeysUsed(ctx, keys); err != nil {
		c.uses.putBack(keys, seats)
		return err
	}
	if err := c.store.RecordSeatUse(ctx, seats); err != nil {
		c.uses.putBack(nil, seats)
		return err
	}
	return nil
}
