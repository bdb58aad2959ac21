package billing

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/entitle-dev/entitle/store"
)

// Worker applies inbox events. Any number of workers, in one process or
// many, share the inbox: each event is claimed with FOR UPDATE SKIP LOCKED
// and applied and marked in the same transaction.
type Worker struct {
	Store    *store.Store
	Logger   *slog.Logger
	Interval time.Duration // how often to look for due events (retries) without a wake-up
	Workers  int           // concurrent appliers in Run

	mu    sync.Mutex
	wakes []chan struct{} // one per applier in Run
}

// Wake makes every applier of Run look at the inbox now (a new event
// arrived). Wake-ups coalesce: a busy applier sees one when it is done.
func (w *Worker) Wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ch := range w.wakes {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// batchSize is how many events of one account a transaction applies at
// most: fewer commits under load, and still one account at a time.
const batchSize = 50

// ProcessPending applies due events until none is left and returns how
// many it claimed (applied, skipped, ignored or failed).
func (w *Worker) ProcessPending(ctx context.Context) (int, error) {
	n := 0
	for {
		claimed, err := w.Store.ProcessStripeEvents(ctx, Decode, batchSize)
		n += claimed
		if err != nil || claimed == 0 {
			return n, err
		}
	}
}

// Run processes the inbox on every wake-up and every Interval until ctx
// ends, with Workers appliers side by side.
func (w *Worker) Run(ctx context.Context) {
	interval := w.Interval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	var wg sync.WaitGroup
	for range max(w.Workers, 1) {
		wake := make(chan struct{}, 1)
		w.mu.Lock()
		w.wakes = append(w.wakes, wake)
		w.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				if n, err := w.ProcessPending(ctx); err != nil && ctx.Err() == nil {
					w.Logger.Error("billing worker", "err", err)
				} else if n > 0 {
					w.Logger.Debug("billing worker applied events", "count", n)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				case <-wake:
				}
			}
		}()
	}
	wg.Wait()
}
