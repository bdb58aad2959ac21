package checks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// Cache keeps, in this process, each account's evaluated state (as a
// licensing.Checker) and the API keys, so that the entitlement API answers
// checks without a query. A change announced on store.ChangesChannel (by
// any instance) or committed by this process's Store makes the account's
// state be read again on its next check, except a usage report: its count
// is added to the state held when that state is the one the report's
// change followed (store.UsageChange), so metering does not cost a reload
// per report.
//
// While the change feed is connected and caught up the cache is in sync
// and its answers are current. When the feed or the database is lost, the
// cache keeps what it holds and answers from it, marked stale with the time
// the state is known to date from, for at most StaleLimit; what it does not
// hold is read from the database, and refused with ErrUnavailable when that
// cannot be reached. When the feed is back, it reloads every account whose
// change number moved meanwhile before it counts itself in sync again.
type Cache struct {
	store      *store.Store
	logger     *slog.Logger
	maxAge     time.Duration // safety net for a change announced by nobody
	staleLimit time.Duration

	synced    atomic.Bool  // the feed is connected and every held state is current
	lostAt    atomic.Int64 // when the cache last stopped being in sync (unix ns)
	loaded    atomic.Bool  // every account was loaded once
	syncMu    sync.Mutex   // orders losses and catch-ups
	epoch     uint64       // losses so far
	connected bool         // the listener's connection is up

	mu         sync.RWMutex
	accounts   map[int64]*account
	catalogGen uint64 // bumped by every catalog change
	keys       *keyCache
	keysStale  chan struct{} // a key was revoked: reload the keys
	refs       accountRefs   // vendor keys' account names

	uses  *useBatch
	hooks []func(payload string)
	// account state lookups and stale answers, for /metrics
	hits, misses, stale atomic.Uint64
}

// account is what the cache knows of one account.
type account struct {
	cur       *stateEntry // the last state loaded; nil before the first load
	gen       uint64      // bumped by every change that names the account
	changedAt time.Time   // when cur stopped being current (zero while it is)
	loading   *stateEntry // the load in flight, if any
}

// stateEntry is one load of an account's state.
type stateEntry struct {
	done       chan struct{} // closed when loaded
	gen        uint64        // the account's gen when the load began
	catalogGen uint64
	checker    *licensing.Checker
	// seq numbers the state exactly (store.AccountStateAt): every change
	// of the account numbered up to seq.Account is in it, none after.
	seq      store.ChangeSeq
	err      error
	loadedAt time.Time // wall clock
	expires  time.Time // wall clock
	// day is the store clock's day the state's usage was summed in (zero
	// when the load straddled midnight): usage counted outside it cannot be
	// added in place.
	day time.Time
}

// Answer is an account's state as a check sees it.
type Answer struct {
	Checker *licensing.Checker
	// Stale is set when the state could not be confirmed current (the
	// database or the change feed is unreachable); AsOf is then the time
	// it is known to date from.
	Stale bool
	AsOf  time.Time
}

// ErrUnavailable: the check cannot be answered, neither from memory nor
// from the database; the caller should retry soon.
var ErrUnavailable = fmt.Errorf("checks: %w", store.ErrUnavailable)

// cacheMaxAge bounds how long an entry lives even if no change is announced
// (a write path that forgot to notify heals within this time).
const cacheMaxAge = 5 * time.Minute

// DefaultStaleLimit is how long, by default, a state is served after the
// cache lost touch with the database.
const DefaultStaleLimit = time.Hour

// New makes a cache over s that serves stale states for at most
// staleLimit (DefaultStaleLimit when zero). Run starts its listener; until
// then it passes every call through to the database.
func New(s *store.Store, logger *slog.Logger, staleLimit time.Duration) *Cache {
	if staleLimit <= 0 {
		staleLimit = DefaultStaleLimit
	}
	c := &Cache{store: s, logger: logger, maxAge: cacheMaxAge, staleLimit: staleLimit,
		accounts: map[int64]*account{}, keys: newKeyCache(storeKeys{s}), keysStale: make(chan struct{}, 1),
		uses: newUseBatch()}
	c.lostAt.Store(time.Now().UnixNano())
	s.OnCommittedChange(c.invalidate)
	s.OnCommittedChange(c.refs.invalidate)
	c.OnNotify(c.refs.invalidate)
	return c
}

// Live reports whether the cache is in sync (its listener is connected and
// caught up).
func (c *Cache) Live() bool { return c.synced.Load() }

// Ready reports whether checks can be answered from memory: every account
// was loaded once, and the cache is in sync or lost it less than the stale
// limit ago.
func (c *Cache) Ready() bool {
	if !c.loaded.Load() {
		return false
	}
	return c.synced.Load() || time.Since(time.Unix(0, c.lostAt.Load())) <= c.staleLimit
}

// Checker returns the account's checker (see State).
func (c *Cache) Checker(ctx context.Context, accountID int64) (*licensing.Checker, error) {
	a, err := c.State(ctx, accountID)
	return a.Checker, err
}

// State returns the account's state, loading it on a miss (many concurrent
// misses for one account share one load). When the state cannot be
// confirmed current the last one held is returned, marked stale, within
// the stale limit; past it, or with none held, ErrUnavailable.
func (c *Cache) State(ctx context.Context, accountID int64) (Answer, error) {
	synced := c.synced.Load()
	if synced {
		c.mu.RLock()
		a := c.accounts[accountID]
		var e *stateEntry
		if a != nil && a.cur != nil && a.cur.gen == a.gen && a.cur.catalogGen == c.catalogGen {
			e = a.cur
		}
		c.mu.RUnlock()
		if e != nil && time.Now().Before(e.expires) {
			c.hits.Add(1)
			return Answer{Checker: e.checker}, nil
		}
	} else if ans, ok := c.fromMemory(accountID); ok {
		return ans, nil
	}
	c.misses.Add(1)
	e, err := c.load(ctx, accountID)
	if err == nil {
		return Answer{Checker: e.checker}, nil // read just now: current
	}
	if !store.IsUnavailable(err) {
		return Answer{}, err
	}
	if ans, ok := c.fromMemory(accountID); ok {
		return ans, nil
	}
	return Answer{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// fromMemory answers with the last state held, marked stale, if it dates
// from less than the stale limit ago.
func (c *Cache) fromMemory(accountID int64) (Answer, bool) {
	if !c.loaded.Load() { // never in sync: nothing held is vouched for
		return Answer{}, false
	}
	now := time.Now()
	c.mu.RLock()
	a := c.accounts[accountID]
	if a == nil || a.cur == nil {
		c.mu.RUnlock()
		return Answer{}, false
	}
	e, until := a.cur, now
	if !a.changedAt.IsZero() {
		until = a.changedAt
	}
	c.mu.RUnlock()
	if !c.synced.Load() {
		if lost := time.Unix(0, c.lostAt.Load()); lost.Before(until) {
			until = lost
		}
	}
	asOf := until
	if e.loadedAt.After(asOf) {
		asOf = e.loadedAt
	}
	if now.Sub(asOf) > c.staleLimit {
		return Answer{}, false
	}
	c.stale.Add(1)
	return Answer{Checker: e.checker, Stale: true, AsOf: asOf}, true
}

// loadTimeout bounds one load of an account's state; unsyncedLoadTimeout
// when the cache is out of sync, and the database perhaps out of reach.
const (
	loadTimeout         = 10 * time.Second
	unsyncedLoadTimeout = 2 * time.Second
)

// load starts (or joins) the load of an account's state. A load that began
// before a change named the account is handed only to the callers already
// waiting for it: a later caller starts a new one.
func (c *Cache) load(ctx context.Context, accountID int64) (*stateEntry, error) {
	c.mu.Lock()
	a := c.accounts[accountID]
	if a == nil {
		a = &account{}
		c.accounts[accountID] = a
	}
	e := a.loading
	if e == nil || e.gen != a.gen || e.catalogGen != c.catalogGen {
		e = &stateEntry{done: make(chan struct{}), gen: a.gen, catalogGen: c.catalogGen}
		a.loading = e
		c.mu.Unlock()
		// The load outlives the first caller's cancellation: others wait on it.
		go c.run(context.WithoutCancel(ctx), accountID, e)
	} else {
		c.mu.Unlock()
	}
	select {
	case <-e.done:
		return e, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run reads the state for e and keeps it as the account's current state
// unless a newer load already is.
func (c *Cache) run(ctx context.Context, accountID int64, e *stateEntry) {
	timeout := loadTimeout
	if !c.synced.Load() { // the database may be gone: do not keep checks waiting long
		timeout = unsyncedLoadTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	e.loadedAt = time.Now()
	before := c.store.Now()
	state, seq, err := c.store.AccountStateAt(ctx, accountID)
	if err == nil {
		e.checker, e.seq = licensing.NewChecker(state), seq
		// Usage is summed per calendar period: the state is stale at the
		// next UTC midnight, the shortest period's end.
		now := c.store.Now()
		e.expires = e.loadedAt.Add(min(c.maxAge, licensing.PeriodEnd(licensing.Daily, now).Sub(now)))
		if day := licensing.PeriodStart(licensing.Daily, now); day.Equal(licensing.PeriodStart(licensing.Daily, before)) {
			e.day = day
		}
	}
	e.err = err
	c.mu.Lock()
	a := c.accounts[accountID]
	if a.loading == e {
		a.loading = nil
	}
	if err == nil && (a.cur == nil || e.gen > a.cur.gen || (e.gen == a.cur.gen && !e.loadedAt.Before(a.cur.loadedAt))) {
		a.cur = e
		if e.gen == a.gen && e.catalogGen == c.catalogGen {
			a.changedAt = time.Time{}
		}
	}
	if errors.Is(err, store.ErrNotFound) && a.cur == nil && a.loading == nil {
		delete(c.accounts, accountID) // unknown accounts are not remembered
	}
	c.mu.Unlock()
	close(e.done)
}

// invalidate notes what a change payload names: the next check of it reads
// the database again, unless the state held already has the change or
// can take it in place (a usage report).
func (c *Cache) invalidate(raw string) {
	payload, _ := store.ParseChange(raw)
	now := time.Now()
	switch payload {
	case store.ChangedEverything: // the catalog: every account's state, not the keys
		c.mu.Lock()
		c.catalogGen++
		for _, a := range c.accounts {
			a.changed(now)
		}
		c.mu.Unlock()
	case store.ChangedAPIKeys:
		c.keys.drop()
		select {
		case c.keysStale <- struct{}{}:
		default:
		}
	default:
		if id, err := strconv.ParseInt(payload, 10, 64); err == nil {
			u, usage := store.ParseUsageChange(raw)
			c.mu.Lock()
			if a := c.accounts[id]; a != nil && !(usage && c.applyUsage(a, u, now)) {
				a.gen++
				a.changed(now)
			}
			c.mu.Unlock()
		}
	}
}

// applyUsage brings a's state up to date with the usage change u without
// a load, when it can tell that is exact: the state held is current, and
// either already has u (its number is u's or later: each instance hears
// its own reports twice, at commit and from the feed) or is the very state
// u followed (numbered u.Prev), with u counted in the day its usage was
// summed in. It reports whether a's state is now up to date. Call with
// c.mu held.
func (c *Cache) applyUsage(a *account, u store.UsageChange, now time.Time) bool {
	e := a.cur
	if e == nil || e.gen != a.gen || e.catalogGen != c.catalogGen || !now.Before(e.expires) {
		return false
	}
	if e.seq.Account >= u.Seq {
		return true
	}
	if e.seq.Account != u.Prev || e.day.IsZero() || u.At.Before(e.day) || !u.At.Before(licensing.PeriodEnd(licensing.Daily, e.day)) {
		return false
	}
	checker := e.checker.WithUsage(u.Product, u.Feature, u.Quantity)
	if checker == nil {
		return false
	}
	next := &stateEntry{done: closedChan, catalogGen: e.catalogGen, checker: checker, loadedAt: now,
		expires: e.expires, day: e.day, seq: store.ChangeSeq{Account: u.Seq, Catalog: e.seq.Catalog}}
	// A load in flight began before the change: it must not replace this.
	a.gen++
	next.gen = a.gen
	a.cur = next
	return true
}

// closedChan is the done channel of states made in place, never loaded.
var closedChan = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

func (a *account) changed(now time.Time) {
	if a.changedAt.IsZero() {
		a.changedAt = now
	}
}

// Stats counts account state lookups answered from memory (hits) and from
// the database (misses) since the start.
func (c *Cache) Stats() (hits, misses uint64) { return c.hits.Load(), c.misses.Load() }

// StaleAnswers counts states served stale since the start.
func (c *Cache) StaleAnswers() uint64 { return c.stale.Load() }

func errorsIsNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
