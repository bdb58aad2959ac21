package checks

import (
	"context"
	"time"

	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/store"
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

// Run listens on store.ChangesChannel through its own connection to
// databaseURL and writes key use every few seconds, until ctx ends (then it
// writes the last batch). Losing the connection switches caching off until
// the listener is back, and empties the cache: notifications sent meanwhile
// are lost.
func (c *Cache) Run(ctx context.Context, databaseURL string) error {
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
	if err := l.Listen(store.ChangesChannel); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	c.setLive(true)
	defer c.setLive(false)
	c.logger.Debug("change listener connected", "channel", store.ChangesChannel)

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
				c.tell(store.ChangedEverything)
				continue
			}
			c.invalidate(n.Extra)
			c.tell(n.Extra)
		case <-flush.C:
			if err := c.FlushKeyUse(ctx); err != nil {
				c.logger.Error("write API key use", "err", err)
			}
		case <-ping.C:
			_ = l.Ping() // a dead connection shows up as a disconnect event
		}
	}
}
