package store

import "time"

// maxSeatUses bounds the seats' last uses kept between two flushes: past it
// new ones are dropped until the next flush (a last use is a hint, not a
// ledger).
const maxSeatUses = 100000

// NoteSeatUse remembers that a check named user (an id or an address) as a
// holder of a seat of product; Run writes it with the next batch, so a
// check never writes to the database.
func (c *CheckCache) NoteSeatUse(accountID int64, product, user string, at time.Time) {
	k := SeatUse{AccountID: accountID, Product: product, User: user}
	c.usedMu.Lock()
	if _, ok := c.seatsUsed[k]; ok || len(c.seatsUsed) < maxSeatUses {
		c.seatsUsed[k] = at
	}
	c.usedMu.Unlock()
}

// OnNotify registers fn to hear every payload of ChangesChannel the
// listener receives (ChangedEverything after a reconnect, since
// notifications sent meanwhile are lost). Call before Run.
func (c *CheckCache) OnNotify(fn func(payload string)) {
	c.mu.Lock()
	c.hooks = append(c.hooks, fn)
	c.mu.Unlock()
}

func (c *CheckCache) tell(payload string) {
	c.mu.RLock()
	hooks := c.hooks
	c.mu.RUnlock()
	for _, fn := range hooks {
		fn(payload)
	}
}

// CacheStats counts account state lookups answered from memory (hits) and
// from the database (misses) since the start.
func (c *CheckCache) CacheStats() (hits, misses uint64) { return c.hits.Load(), c.misses.Load() }
