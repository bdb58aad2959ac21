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

	wakeOnce sync.Once
	wake     chan struct{} // holds at most one wake-up, for whichever applier is free first
}

func (w *Worker) wakes() chan struct{} {
	w.wakeOnce.Do(func() { w.wake = make(chan struct{}, 1) })
	return w.wake
}

// Wake makes one applier of Run look at the inbox now (a new event
// arrived). Wake-ups coalesce into one, which the first free applier
// takes: a burst of deliveries does not send every applier to the inbox
// at once, most of them to find nothing it can take. Each delivery wakes
// one more while the others are busy, so appliers join in as deliveries
// keep coming, and every applier looks at the inbox when Run starts.
func (w *Worker) Wake() {
	select {
	case w.wakes() <- struct{}{}:
	default:
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
	wake := w.wakes()
	for range max(w.Workers, 1) {
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
