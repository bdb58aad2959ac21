package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// CheckCache keeps, in this process, each account's evaluated state (as a
// licensing.Checker) and the API keys in use, so that the entitlement API
// answers checks without a query. Entries are dropped when a change is
// announced on ChangesChannel (by any instance) or committed by this
// process's Store. It only keeps entries while its listener is connected:
// without a live invalidation feed every call reads the database, so a
// cache that is not running is slow but never stale.
type CheckCache struct {
	store  *Store
	logger *slog.Logger
	maxAge time.Duration // safety net for a change announced by nobody
	live   atomic.Bool

	mu       sync.RWMutex
	accounts map[int64]*stateEntry
	keys     map[[32]byte]keyEntry // by SHA-256 of the token
	keysGen  uint64                // bumped whenever keys are dropped
	// unknown remembers tokens that match no usable key (a client retrying
	// with a revoked key, say), so they stop costing a query each. A token
	// is random: one that matches nothing now never will.
	unknown map[[32]byte]struct{}

	usedMu sync.Mutex
	used   map[int64]time.Time // API key id → last use, not yet written
}

type keyEntry struct {
	key     *APIKey
	expires time.Time // wall clock
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

// NewCheckCache makes a cache over s. Run starts its listener; until then
// it passes every call through to the database.
func NewCheckCache(s *Store, logger *slog.Logger) *CheckCache {
	c := &CheckCache{store: s, logger: logger, maxAge: cacheMaxAge,
		accounts: map[int64]*stateEntry{}, keys: map[[32]byte]keyEntry{}, unknown: map[[32]byte]struct{}{}, used: map[int64]time.Time{}}
	s.OnCommittedChange(c.invalidate)
	return c
}

// Live reports whether the cache is keeping entries (its listener is
// connected).
func (c *CheckCache) Live() bool { return c.live.Load() }

// Checker returns the account's checker, loading the state on a miss. Many
// concurrent misses for one account share one load.
func (c *CheckCache) Checker(ctx context.Context, accountID int64) (*licensing.Checker, error) {
	if !c.live.Load() {
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
			e = c.load(ctx, accountID)
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
func (c *CheckCache) load(ctx context.Context, accountID int64) *stateEntry {
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

// maxUnknownTokens bounds the memory of tokens that matched no key.
const maxUnknownTokens = 10000

// ErrUnknownAPIKey: no usable key matches the token.
var ErrUnknownAPIKey = errors.New("unknown or revoked API key")

// Authenticate finds the usable API key for a token and notes its use (the
// time is written later, in a batch, by Run). Unknown tokens are not
// remembered, so a key created a moment ago works at once.
func (c *CheckCache) Authenticate(ctx context.Context, token string) (*APIKey, error) {
	hash := sha256.Sum256([]byte(token))
	var key *APIKey
	live := c.live.Load()
	var gen uint64
	if live {
		c.mu.RLock()
		e := c.keys[hash]
		_, unknown := c.unknown[hash]
		gen = c.keysGen
		c.mu.RUnlock()
		if unknown {
			return nil, ErrUnknownAPIKey
		}
		if e.key != nil && time.Now().Before(e.expires) {
			key = e.key
		}
	}
	if key == nil {
		k, err := c.store.APIKeyByToken(ctx, token)
		if errors.Is(err, ErrNotFound) {
			if live {
				c.mu.Lock()
				if len(c.unknown) >= maxUnknownTokens { // bounded: a flood of random tokens cannot grow it
					c.unknown = map[[32]byte]struct{}{}
				}
				c.unknown[hash] = struct{}{}
				c.mu.Unlock()
			}
			return nil, ErrUnknownAPIKey
		}
		if err != nil {
			return nil, err
		}
		key = &k
		c.mu.Lock()
		// Kept only if no key was revoked since the read began: a key read
		// just before its revocation must not outlive it here.
		if live && c.keysGen == gen {
			c.keys[hash] = keyEntry{key: key, expires: time.Now().Add(c.maxAge)}
		}
		c.mu.Unlock()
	}
	now := c.store.Now()
	c.usedMu.Lock()
	c.used[key.ID] = now
	c.usedMu.Unlock()
	return key, nil
}

// invalidate drops what a change payload names.
func (c *CheckCache) invalidate(payload string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch payload {
	case ChangedEverything: // the catalog: every account's state, not the keys
		c.accounts = map[int64]*stateEntry{}
	case ChangedAPIKeys:
		c.keys, c.keysGen = map[[32]byte]keyEntry{}, c.keysGen+1
	default:
		if id, err := strconv.ParseInt(payload, 10, 64); err == nil {
			delete(c.accounts, id)
		}
	}
}

// setLive switches caching on or off; either way it starts empty, since
// changes may have been missed while the connection was down.
func (c *CheckCache) setLive(live bool) {
	c.mu.Lock()
	c.accounts = map[int64]*stateEntry{}
	c.keys, c.keysGen = map[[32]byte]keyEntry{}, c.keysGen+1
	c.live.Store(live)
	c.mu.Unlock()
}

// FlushKeyUse writes the API keys' last-use times gathered since the last
// flush.
func (c *CheckCache) FlushKeyUse(ctx context.Context) error {
	c.usedMu.Lock()
	used := c.used
	c.used = map[int64]time.Time{}
	c.usedMu.Unlock()
	if err := c.store.RecordAPIKeysUsed(ctx, used); err != nil {
		c.usedMu.Lock()
		for id, at := range used { // try again next time, unless a newer use came in
			if at.After(c.used[id]) {
				c.used[id] = at
			}
		}
		c.usedMu.Unlock()
		return err
	}
	return nil
}

// keyUseFlushEvery is how often last-use times are written.
const keyUseFlushEvery = 10 * time.Second

// Run listens on ChangesChannel through its own connection to databaseURL
// and writes key use every few seconds, until ctx ends (then it writes the
// last batch). Losing the connection switches caching off until the
// listener is back, and empties the cache: notifications sent meanwhile
// are lost.
func (c *CheckCache) Run(ctx context.Context, databaseURL string) error {
	l := pq.NewListener(databaseURL, 100*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventDisconnected:
			c.logger.Warn("change listener disconnected: checks read the database until it is back", "err", err)
			c.setLive(false)
		case pq.ListenerEventReconnected:
			c.logger.Info("change listener reconnected")
			c.setLive(true)
		case pq.ListenerEventConnectionAttemptFailed:
			c.logger.Warn("change listener cannot connect", "err", err)
		}
	})
	stop := context.AfterFunc(ctx, func() { l.Close() }) // unblocks Listen when the database never answers
	defer stop()
	defer l.Close()
	if err := l.Listen(ChangesChannel); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	c.setLive(true)
	defer c.setLive(false)
	c.logger.Debug("change listener connected", "channel", ChangesChannel)

	flush := time.NewTicker(keyUseFlushEvery)
	defer flush.Stop()
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			return c.FlushKeyUse(fctx)
		case n := <-l.Notify:
			if n == nil { // reconnected: whatever was sent meanwhile is gone
				c.setLive(true)
				continue
			}
			c.invalidate(n.Extra)
		case <-flush.C:
			if err := c.FlushKeyUse(ctx); err != nil {
				c.logger.Error("write API key use", "err", err)
			}
		case <-ping.C:
			_ = l.Ping() // a dead connection shows up as a disconnect event
		}
	}
}
