// Package insightscache keeps each account's insights figures in memory
// between the changes that move them, so that the insights page, its live
// fragment (polled every few seconds by each open tab) and every open
// stream (re-rendered after each change) read an account's seats once per
// change instead of once per viewer. It imports store and licensing and is
// imported by web and handlers.
package insightscache

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// MaxAge is how long figures are kept at most, by the store's clock. What
// moves them without a change being committed for the account shows within
// it: a sign-in, seats' last use (written in batches every few seconds), a
// seat becoming idle as days pass. It is the live fragment's polling
// interval, so a page that polls sees nothing later than it would without
// the cache.
const MaxAge = 5 * time.Second

// readTimeout bounds one read of the figures: the callers waiting for it
// share it, so none of their contexts may end it.
const readTimeout = 10 * time.Second

// Cache holds the figures of the accounts viewed lately.
//
// Figures are served only to an ask that finds the account's change
// numbers where they were when the figures were read (store.ChangeSeq,
// read from the database on each ask: every committed change moves them,
// whichever instance made it, so a page rendered right after a write shows
// it), and that comes with the checker they were computed with: the check
// cache hands out a new one once it has heard of a change, so the metered
// figures follow it too. Without a running check cache every checker is
// new, and so are the figures.
type Cache struct {
	store *store.Store

	mu       sync.Mutex
	accounts map[int64]*entry
	swept    int // accounts held after the last sweep of expired ones

	reads atomic.Uint64 // figures read from the database
}

// entry is one read of an account's figures, in flight or done.
type entry struct {
	checker *licensing.Checker
	seq     store.ChangeSeq
	done    chan struct{} // closed when in and err are set
	in      store.AccountInsights
	err     error
}

// New makes an empty cache over s.
func New(s *store.Store) *Cache {
	return &Cache{store: s, accounts: map[int64]*entry{}}
}

// Insights returns the account's figures computed with checker: the ones
// held, when no change has committed for the account since they were read,
// they were computed with this very checker, and less than MaxAge ago;
// else they are read now (callers asking meanwhile share that read). The
// figures are shared: callers must not modify them. A nil checker reads
// the state and is never cached.
func (c *Cache) Insights(ctx context.Context, accountID int64, checker *licensing.Checker) (store.AccountInsights, error) {
	if checker == nil {
		c.reads.Add(1)
		return c.store.Insights(ctx, accountID, nil)
	}
	seq, err := c.store.AccountChangeSeq(ctx, accountID)
	if err != nil {
		return store.AccountInsights{}, err
	}
	c.mu.Lock()
	e := c.accounts[accountID]
	if e == nil || e.checker != checker || e.seq != seq || !c.current(e) {
		e = &entry{checker: checker, seq: seq, done: make(chan struct{})}
		c.accounts[accountID] = e
		c.sweepLocked()
		c.mu.Unlock()
		c.read(ctx, accountID, e)
	} else {
		c.mu.Unlock()
	}
	select {
	case <-e.done:
		return e.in, e.err
	case <-ctx.Done():
		return store.AccountInsights{}, ctx.Err()
	}
}

// read fills e. It outlives the caller's cancellation, since others may be
// waiting for it, within readTimeout; a failed read is not kept, and a
// panic fails it for those waiting before it goes on up.
func (c *Cache) read(ctx context.Context, accountID int64, e *entry) {
	c.reads.Add(1)
	defer func() {
		r := recover()
		if r != nil {
			e.err = fmt.Errorf("insights: %v", r)
		}
		if e.err != nil {
			c.mu.Lock()
			if c.accounts[accountID] == e {
				delete(c.accounts, accountID)
			}
			c.mu.Unlock()
		}
		close(e.done)
		if r != nil {
			panic(r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readTimeout)
	defer cancel()
	e.in, e.err = c.store.Insights(ctx, accountID, e.checker)
}

// current reports whether e may still be served: in flight, or read less
// than MaxAge ago by the store's clock (a clock set back counts as moved).
// Call with c.mu held.
func (c *Cache) current(e *entry) bool {
	select {
	case <-e.done:
	default:
		return true
	}
	age := c.store.Now().Sub(e.in.At)
	return e.err == nil && age >= 0 && age < MaxAge
}

// sweepLocked drops expired figures once the accounts held have doubled
// since the last sweep, so that memory follows the accounts viewed within
// MaxAge, not every account ever viewed. Call with c.mu held.
func (c *Cache) sweepLocked() {
	if len(c.accounts) < 2*c.swept+64 {
		return
	}
	for id, e := range c.accounts {
		if !c.current(e) {
			delete(c.accounts, id)
		}
	}
	c.swept = len(c.accounts)
}

// Reads counts the figures read from the database, for tests.
func (c *Cache) Reads() uint64 { return c.reads.Load() }
