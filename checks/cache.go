package checks

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// Cache keeps, in this process, each account's evaluated state (as a
// licensing.Checker) and the API keys in use, so that the entitlement API
// answers checks without a query. Entries are dropped when a change is
// announced on store.ChangesChannel (by any instance) or committed by this
// process's Store. It only keeps entries while its listener is connected:
// without a live invalidation feed every call reads the database, so a
// cache that is not running is slow but never stale.
type Cache struct {
	store  *store.Store
	logger *slog.Logger
	maxAge time.Duration // safety net for a change announced by nobody
	live   atomic.Bool

	mu       sync.RWMutex
	accounts map[int64]*stateEntry
	keys     *keyCache
	refs     accountRefs // vendor keys' account names

	uses  *useBatch
	hooks []func(payload string)
	// account state lookups, for /metrics
	hits, misses atomic.Uint64
}

type stateEntry struct {
	done    chan struct{} // closed when loaded
	checker *licensing.Checker
	err     error
	expires time.Time // wall clock
}

// cacheMaxAge bounds how long an entry lives even if no change is announced
// (a write path that forgot to notify heals within this time).
const cacheMaxAge = 5 * time.Minute

// New makes a cache over s. Run starts its listener; until then it passes
// every call through to the database.
func New(s *store.Store, logger *slog.Logger) *Cache {
	c := &Cache{store: s, logger: logger, maxAge: cacheMaxAge,
		accounts: map[int64]*stateEntry{}, keys: newKeyCache(storeKeys{s}), uses: newUseBatch()}
	s.OnCommittedChange(c.invalidate)
	s.OnCommittedChange(c.refs.invalidate)
	c.OnNotify(c.refs.invalidate)
	return c
}

// Live reports whether the cache is keeping entries (its listener is
// connected).
func (c *Cache) Live() bool { return c.live.Load() }

// Checker returns the account's checker, loading the state on a miss. Many
// concurrent misses for one account share one load.
func (c *Cache) Checker(ctx context.Context, accountID int64) (*licensing.Checker, error) {
	if !c.live.Load() {
		c.misses.Add(1)
		state, err := c.store.AccountState(ctx, accountID)
		if err != nil {
			return nil, err
		}
		return licensing.NewChecker(state), nil
	}
	for {
		c.mu.RLock()
		e := c.accounts[accountID]
		c.mu.RUnlock()
		if e == nil {
			c.misses.Add(1)
			e = c.load(ctx, accountID)
		} else {
			c.hits.Add(1)
		}
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err != nil {
			return nil, e.err
		}
		if time.Now().Before(e.expires) {
			return e.checker, nil
		}
		c.mu.Lock()
		if c.accounts[accountID] == e {
			delete(c.accounts, accountID)
		}
		c.mu.Unlock()
	}
}

// load starts (or joins) the load of an account's state. An invalidation
// while it runs removes the entry from the map, so a state read before a
// change is handed only to the callers that were already waiting for it and
// never kept.
func (c *Cache) load(ctx context.Context, accountID int64) *stateEntry {
	c.mu.Lock()
	if e := c.accounts[accountID]; e != nil {
		c.mu.Unlock()
		return e
	}
	e := &stateEntry{done: make(chan struct{})}
	c.accounts[accountID] = e
	c.mu.Unlock()

	// The load outlives the first caller's cancellation: others wait on it.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	state, err := c.store.AccountState(lctx, accountID)
	if err == nil {
		e.checker = licensing.NewChecker(state)
		// Usage is summed per calendar period: the state is stale at the
		// next UTC midnight, the shortest period's end.
		now := c.store.Now()
		e.expires = time.Now().Add(min(c.maxAge, licensing.PeriodEnd(licensing.Daily, now).Sub(now)))
	}
	e.err = err
	close(e.done)
	if err != nil {
		c.mu.Lock()
		if c.accounts[accountID] == e {
			delete(c.accounts, accountID)
		}
		c.mu.Unlock()
	}
	return e
}

// invalidate drops what a change payload names.
func (c *Cache) invalidate(payload string) {
	switch payload {
	case store.ChangedEverything: // the catalog: every account's state, not the keys
		c.mu.Lock()
		c.accounts = map[int64]*stateEntry{}
		c.mu.Unlock()
	case store.ChangedAPIKeys:
		c.keys.drop()
	default:
		if id, err := strconv.ParseInt(payload, 10, 64); err == nil {
			c.mu.Lock()
			delete(c.accounts, id)
			c.mu.Unlock()
		}
	}
}

// setLive switches caching on or off; either way it starts empty, since
// changes may have been missed while the connection was down.
func (c *Cache) setLive(live bool) {
	c.mu.Lock()
	c.accounts = map[int64]*stateEntry{}
	c.keys.drop()
	c.live.Store(live)
	c.mu.Unlock()
}

// Stats counts account state lookups answered from memory (hits) and from
// the database (misses) since the start.
func (c *Cache) Stats() (hits, misses uint64) { return c.hits.Load(), c.misses.Load() }
