package store

import (
	"strconv"
	"sync"
)

// Hub hands the change feed to this process's open live pages:
// one pq.Listener per process (the check cache's) and this Store's own
// commits feed it; each open page subscribes to its account (0: every
// account, for the vendor's view). A notification is a hint that something
// changed, never what changed: a subscriber re-reads the state.
type Hub struct {
	mu   sync.Mutex
	subs map[int64]map[chan struct{}]struct{}
}

// NewHub makes an empty hub.
func NewHub() *Hub { return &Hub{subs: map[int64]map[chan struct{}]struct{}{}} }

// Subscribe returns a channel that receives (coalesced) a value after each
// change to accountID (0: to any account, and catalog changes), and the
// function that ends the subscription.
func (h *Hub) Subscribe(accountID int64) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	if h.subs[accountID] == nil {
		h.subs[accountID] = map[chan struct{}]struct{}{}
	}
	h.subs[accountID][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs[accountID], ch)
		if len(h.subs[accountID]) == 0 {
			delete(h.subs, accountID)
		}
		h.mu.Unlock()
	}
}

// Publish wakes the subscribers a ChangesChannel payload concerns: the
// account's and the vendor's; everyone for "*" (a catalog change, or a
// reconnect after which changes may have been missed). API key payloads
// change no figure.
func (h *Hub) Publish(payload string) {
	payload, _ = ParseChange(payload)
	h.mu.Lock()
	defer h.mu.Unlock()
	wake := func(subs map[chan struct{}]struct{}) {
		for ch := range subs {
			select {
			case ch <- struct{}{}:
			default: // a wake-up is already pending: one re-read covers both
			}
		}
	}
	switch payload {
	case ChangedAPIKeys:
		return
	case ChangedEverything:
		for _, subs := range h.subs {
			wake(subs)
		}
		return
	}
	if id, err := strconv.ParseInt(payload, 10, 64); err == nil {
		wake(h.subs[id])
		wake(h.subs[0])
	}
}

// Subscribers counts open subscriptions (for metrics and tests).
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, subs := range h.subs {
		n += len(subs)
	}
	return n
}
