package checks

import (
	"context"
	"sync"
	"sync/atomic"
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
// check never writes to the database. A key's use is noted on every check,
// so it takes no lock: each key has its own atomic slot.
type useBatch struct {
	keys  sync.Map // API key id → *atomic.Int64: last use not yet written (unix µs; 0: none)
	mu    sync.Mutex
	seats map[store.SeatUse]time.Time
}

func newUseBatch() *useBatch {
	return &useBatch{seats: map[store.SeatUse]time.Time{}}
}

func (b *useBatch) keyUsed(id int64, at time.Time) {
	v, ok := b.keys.Load(id)
	if !ok {
		v, _ = b.keys.LoadOrStore(id, new(atomic.Int64))
	}
	v.(*atomic.Int64).Store(at.UnixMicro())
}

// take hands over what was gathered and starts a new batch.
func (b *useBatch) take() (map[int64]time.Time, map[store.SeatUse]time.Time) {
	keys := map[int64]time.Time{}
	b.keys.Range(func(id, v any) bool {
		if at := v.(*atomic.Int64).Swap(0); at != 0 {
			keys[id.(int64)] = time.UnixMicro(at).UTC()
		}
		return true
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	seats := b.seats
	b.seats = map[store.SeatUse]time.Time{}
	return keys, seats
}

// putBack returns uses that could not be written, unless a newer use came
// in meanwhile.
func (b *useBatch) putBack(keys map[int64]time.Time, seats map[store.SeatUse]time.Time) {
	for id, at := range keys {
		v, _ := b.keys.LoadOrStore(id, new(atomic.Int64))
		slot := v.(*atomic.Int64)
		for us := at.UnixMicro(); ; {
			cur := slot.Load()
			if cur >= us || slot.CompareAndSwap(cur, us) {
				break
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
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
