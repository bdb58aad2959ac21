// Package leases makes floating licence heartbeats cheap: heartbeats that
// arrive while one batch is being written are written together by the next
// single UPDATE (a group commit). Every caller waits for the statement that
// carries its heartbeat and gets that statement's answer, so no renewal
// exists only in memory and no instance can hand out a slot another
// application was told it still holds. It imports store and is wired by
// web.
package leases

import (
	"context"
	"sync"
	"time"

	"github.com/entitle-dev/entitle/store"
)

// flushTimeout bounds one batch's statement; it is not the callers'
// context, since the batch serves many callers.
const flushTimeout = 10 * time.Second

// Heartbeats batches lease renewals. The zero value is not usable: use New.
type Heartbeats struct {
	store *store.Store

	mu       sync.Mutex
	pending  []*waiter
	flushing bool
}

type waiter struct {
	ref   store.LeaseRef
	lease store.Lease
	err   error
	done  chan struct{}
}

// New batches heartbeats for s.
func New(s *store.Store) *Heartbeats { return &Heartbeats{store: s} }

// Heartbeat renews the account's lease token and answers as
// store.HeartbeatLease would: the renewed lease, *store.LeaseGoneError, or
// store.ErrNotFound. The first caller to find no batch in progress starts
// the flusher, which writes batches until none is left; every caller waits
// for the batch that carries its heartbeat.
func (h *Heartbeats) Heartbeat(ctx context.Context, accountID int64, token string) (store.Lease, error) {
	w := &waiter{ref: store.LeaseRef{AccountID: accountID, Token: token}, done: make(chan struct{})}
	h.mu.Lock()
	h.pending = append(h.pending, w)
	lead := !h.flushing
	h.flushing = true
	h.mu.Unlock()
	if lead {
		go h.flush() // the flusher goes on while heartbeats keep coming; this caller only waits for its own
	}
	select {
	case <-w.done:
		return w.lease, w.err
	case <-ctx.Done():
		// The batch still runs and may renew the lease; the caller, gone,
		// simply does not hear of it (as with a dropped answer).
		return store.Lease{}, ctx.Err()
	}
}

// flush writes batches until the queue is empty.
func (h *Heartbeats) flush() {
	for {
		h.mu.Lock()
		batch := h.pending
		h.pending = nil
		if len(batch) == 0 {
			h.flushing = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
		refs := make([]store.LeaseRef, len(batch))
		for i, w := range batch {
			refs[i] = w.ref
		}
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		leases, errs, err := h.store.HeartbeatLeases(ctx, refs)
		cancel()
		for i, w := range batch {
			if err != nil {
				w.err = err
			} else {
				w.lease, w.err = leases[i], errs[i]
			}
			close(w.done)
		}
	}
}
