package billing

import (
	"context"
	"sync"

	"github.com/entitle-dev/entitle/store"
)

// receipts group-commits the inbox: deliveries that arrive while one
// insert is on its way to PostgreSQL wait, and the first of them then
// stores them all in one statement and one commit. Each delivery is still
// answered only once its own event is durably stored (or its error known),
// so Stripe's retry on a failure keeps every event; what changes is that a
// burst pays one commit instead of one each.
type receipts struct {
	mu       sync.Mutex
	queue    []*receipt
	flushing bool // a leader is storing a group now
}

type receipt struct {
	ev       store.NewStripeEvent
	done     chan struct{} // closed when inserted/err are set
	lead     chan struct{} // closed when this receipt must store the queue
	inserted bool
	err      error
}

// maxGroup bounds one statement; a longer queue is stored by the next leader.
const maxGroup = 256

// insert stores ev with whatever else is waiting and reports whether it
// was new.
func (r *receipts) insert(ctx context.Context, st *store.Store, ev store.NewStripeEvent) (bool, error) {
	me := &receipt{ev: ev, done: make(chan struct{}), lead: make(chan struct{})}
	r.mu.Lock()
	r.queue = append(r.queue, me)
	leader := !r.flushing
	if leader {
		r.flushing = true
	}
	r.mu.Unlock()
	if !leader {
		select {
		case <-me.done:
			return me.inserted, me.err
		case <-me.lead:
		}
	}
	r.flush(ctx, st)
	<-me.done
	return me.inserted, me.err
}

// flush stores the queue's first group (which holds the caller), then
// hands the lead to the first delivery still waiting, if any. The group's
// statement does not end with the leader's request: the others wait on it.
func (r *receipts) flush(ctx context.Context, st *store.Store) {
	r.mu.Lock()
	group := r.queue[:min(len(r.queue), maxGroup)]
	r.queue = r.queue[len(group):]
	r.mu.Unlock()

	events := make([]store.NewStripeEvent, len(group))
	for i, g := range group {
		events[i] = g.ev
	}
	inserted, err := st.InsertStripeEvents(context.WithoutCancel(ctx), events)
	if err != nil && len(group) > 1 && !store.IsUnavailable(err) {
		// One event the database refuses must not fail the others: store
		// them one by one, each with its own answer.
		for _, g := range group {
			ok, err := st.InsertStripeEvents(context.WithoutCancel(ctx), []store.NewStripeEvent{g.ev})
			g.err = err
			if err == nil {
				g.inserted = ok[0]
			}
			close(g.done)
		}
	} else {
		for i, g := range group {
			g.err = err
			if err == nil {
				g.inserted = inserted[i]
			}
			close(g.done)
		}
	}

	r.mu.Lock()
	if len(r.queue) > 0 {
		close(r.queue[0].lead) // still flushing: the lead passes on
	} else {
		r.flushing = false
	}
	r.mu.Unlock()
}
