package checks

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/lib/pq"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/tracing"
)

// OnNotify registers fn to hear every payload of store.ChangesChannel the
// listener receives (store.ChangedEverything after a reconnect, since
// notifications sent meanwhile are lost). Call before Run.
func (c *Cache) OnNotify(fn func(payload string)) {
	c.mu.Lock()
	c.hooks = append(c.hooks, fn)
	c.mu.Unlock()
}

func (c *Cache) tell(payload string) {
	c.mu.RLock()
	hooks := c.hooks
	c.mu.RUnlock()
	for _, fn := range hooks {
		fn(payload)
	}
}

// lose marks the cache out of sync: from now on it answers from memory,
// marked stale, until a catch-up that began after this call ends.
func (c *Cache) lose() {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	c.loseLocked()
}

func (c *Cache) loseLocked() {
	c.epoch++
	if c.synced.Load() {
		c.lostAt.Store(time.Now().UnixNano())
		c.synced.Store(false)
	}
}

// setConnected notes whether the listener is connected; a disconnection
// is a loss.
func (c *Cache) setConnected(up bool) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	c.connected = up
	if !up {
		c.loseLocked()
	}
}

// syncEpoch is the count of losses so far, read when a catch-up begins.
func (c *Cache) syncEpoch() uint64 {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	return c.epoch
}

// markSynced counts the cache in sync, unless it was lost again since the
// catch-up that ends here began.
func (c *Cache) markSynced(epoch uint64) bool {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	if c.epoch != epoch || !c.connected {
		return false
	}
	c.synced.Store(true)
	c.loaded.Store(true)
	return true
}

// resyncRetry is how often a failed catch-up is tried again.
const resyncRetry = time.Second

// Run listens on store.ChangesChannel through its own connection to
// databaseURL, loads every account's state and every API key, and writes
// key use every few seconds, until ctx ends (then it writes the last
// batch). When the listener loses its connection the cache keeps answering
// from memory, marked stale; when it is back, the cache catches up on what
// changed meanwhile (by the accounts' change numbers) before it counts
// itself in sync again.
func (c *Cache) Run(ctx context.Context, databaseURL string) error {
	connected := make(chan struct{}, 1)
	l := pq.NewListener(databaseURL, 100*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventConnected: // the first connection: load everything
			c.setConnected(true)
			select {
			case connected <- struct{}{}:
			default:
			}
		case pq.ListenerEventDisconnected:
			c.logger.Warn("change listener disconnected: checks are answered from memory, marked stale", "err", err)
			c.setConnected(false)
		case pq.ListenerEventReconnected:
			c.logger.Info("change listener reconnected: catching up")
			c.setConnected(true)
		case pq.ListenerEventConnectionAttemptFailed:
			c.logger.Warn("change listener cannot connect", "err", err)
		}
	})
	stop := context.AfterFunc(ctx, func() { l.Close() }) // unblocks Listen when the database never answers
	defer stop()
	defer l.Close()
	if err := l.Listen(store.ChangesChannel); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer c.setConnected(false)

	flush := time.NewTicker(keyUseFlushEvery)
	defer flush.Stop()
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	catchUp := func() {
		c.syncMu.Lock()
		up := c.connected
		c.syncMu.Unlock()
		if !up {
			return // the reconnection's catch-up comes with it
		}
		if err := c.resync(ctx); err != nil {
			if ctx.Err() == nil {
				c.logger.Warn("catch up with the database", "err", err)
				retry.Reset(resyncRetry)
			}
			return
		}
		c.tell(store.ChangedEverything) // live pages re-read what they show
	}
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			return c.FlushKeyUse(fctx)
		case n := <-l.Notify:
			if n == nil { // reconnected: whatever was sent meanwhile is gone
				c.lose()
				catchUp()
				continue
			}
			what, traceparent := store.ParseChange(n.Extra)
			if traceparent != "" { // the change was traced: the refresh joins its trace
				_, span := tracing.Start(tracing.WithTraceParent(ctx, traceparent), "checks.cache.refresh",
					trace.WithAttributes(attribute.String("entitle.change", what)))
				c.invalidate(n.Extra)
				span.End()
			} else {
				c.invalidate(n.Extra)
			}
			c.tell(what)
		case <-connected:
			catchUp()
		case <-retry.C:
			catchUp()
		case <-c.keysStale:
			if err := c.reloadKeys(ctx); err != nil {
				c.logger.Warn("reload API keys", "err", err)
			}
		case <-flush.C:
			if err := c.FlushKeyUse(ctx); err != nil {
				c.logger.Error("write API key use", "err", err)
			}
		case <-ping.C:
			_ = l.Ping() // a dead connection shows up as a disconnect event
		}
	}
}

// reloadKeys reads every API key again (one was revoked somewhere).
func (c *Cache) reloadKeys(ctx context.Context) error {
	for {
		gen := c.keys.generation()
		all, err := c.store.AllAPIKeys(ctx)
		if err != nil {
			return err
		}
		if c.keys.replace(all, gen, c.maxAge) {
			return nil
		}
	}
}

// loadWorkers is how many account states a catch-up reads at once.
const loadWorkers = 4

// resync catches up with the database: it reads every account's change
// number, reloads each account whose state is missing or was loaded under
// another number, reads every API key, and then counts the cache in sync.
// The listener is connected before it starts, so a change committed while
// it runs is either seen here or announced.
func (c *Cache) resync(ctx context.Context) error {
	epoch := c.syncEpoch()
	seqs, err := c.store.ChangeSeqs(ctx)
	if err != nil {
		return err
	}
	ids, err := c.store.AccountIDs(ctx)
	if err != nil {
		return err
	}
	if err := c.reloadKeys(ctx); err != nil {
		return err
	}
	var stale []int64
	c.mu.RLock()
	for _, id := range ids {
		a := c.accounts[id]
		if a == nil || a.cur == nil || a.cur.gen != a.gen || a.cur.catalogGen != c.catalogGen ||
			a.cur.seq.Account != seqs[id] || a.cur.seq.Catalog != seqs[store.CatalogChangeKey] {
			stale = append(stale, id)
		}
	}
	c.mu.RUnlock()
	if err := c.reload(ctx, stale); err != nil {
		return err
	}
	if !c.markSynced(epoch) {
		return errors.New("the change listener was lost again while catching up")
	}
	c.logger.Debug("checks in sync", "accounts", len(ids), "reloaded", len(stale))
	return nil
}

// reload reads the states of ids, a few at a time.
func (c *Cache) reload(ctx context.Context, ids []int64) error {
	work := make(chan int64)
	errs := make(chan error, loadWorkers)
	var wg sync.WaitGroup
	for range min(loadWorkers, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				if _, err := c.load(ctx, id); err != nil && !errorsIsNotFound(err) {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for _, id := range ids {
		select {
		case work <- id:
		case err := <-errs:
			close(work)
			wg.Wait()
			return err
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}
