package billing_test

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestDeliveriesAreAppliedWithoutWaitingForTheSweep runs the worker as the
// server does, with a sweep an hour apart, so that only the wake-up a
// delivery sends can get an event applied: a lone delivery is applied,
// then a burst over three accounts from eight senders at once, and each
// subscription ends as its newest event says.
func TestDeliveriesAreAppliedWithoutWaitingForTheSweep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.b.Worker.Interval = time.Hour
	e.b.Worker.Workers = 4
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { defer close(done); e.b.Worker.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	start := e.clock.Now().Add(time.Minute)
	end := start.AddDate(0, 1, 0)
	e.deliver(event("customer.subscription.updated", start,
		subscription("sub_sim_globex", "cus_sim_globex", "active", businessPrice, 11, end, nil)))
	e.waitApplied(1)
	if got := e.sub("globex"); got.Seats != 11 || got.Plan != "business" {
		t.Fatalf("after one delivery Globex has %+v, want business with 11 seats", got)
	}

	subs := []struct{ slug, sub, customer string }{
		{"globex", "sub_sim_globex", "cus_sim_globex"},
		{"initech", "sub_sim_initech", "cus_sim_initech"},
		{"umbrella", "sub_sim_umbrella", "cus_sim_umbrella"},
	}
	const n = 90
	payloads := make(chan []byte, n)
	for i := range n {
		s := subs[i%len(subs)]
		payloads <- event("customer.subscription.updated", start.Add(time.Duration(i+1)*time.Second),
			subscription(s.sub, s.customer, "active", teamPrice, 5+i, end, nil))
	}
	close(payloads)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range payloads {
				e.deliver(p)
			}
		}()
	}
	wg.Wait()
	e.waitApplied(1 + n)
	for i, s := range subs {
		if got, want := e.sub(s.slug).Seats, 5+n-len(subs)+i; got != want {
			t.Errorf("%s has %d seats, want %d (its newest event's)", s.slug, got, want)
		}
	}
}

// waitApplied waits until n inbox events are processed; the test fails
// if that takes longer than any wake-up could.
func (e *env) waitApplied(n int) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var processed int
		if err := e.store.DB().Get(&processed, `SELECT count(*) FROM stripe_event WHERE processed_at IS NOT NULL`); err != nil {
			e.t.Fatal(err)
		}
		if processed >= n {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d of %d events applied; the worker was not woken by their deliveries", processed, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
