package billing_test

import (
	"sync"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/billing"
)

// TestWorkersOnOneAccountNeverFailAnAttempt runs several workers against
// interleaved events of one account (plan changes and invoices, arriving
// while the workers run, each worker taking small batches): whatever the
// interleaving, every event is applied on its first attempt and none waits
// for a retry.
func TestWorkersOnOneAccountNeverFailAnAttempt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	start := e.clock.Now().Add(time.Minute)
	end := start.AddDate(0, 1, 0)
	prices := []string{businessPrice, "price_analytics_enterprise_monthly", teamPrice}
	const n = 60
	var events [][]byte
	for i := range n {
		at := start.Add(time.Duration(i) * time.Second)
		if i%3 == 2 {
			events = append(events, event("invoice.paid", at, invoice("in_race_"+itoa(int64(i)), "cus_sim_globex", "sub_sim_globex", 1000)))
			continue
		}
		events = append(events, event("customer.subscription.updated", at,
			subscription("sub_sim_globex", "cus_sim_globex", "active", prices[i%len(prices)], 10+i%5, end, nil)))
	}
	const workers = 4
	var wg sync.WaitGroup
	delivered := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				claimed, err := e.store.ProcessStripeEvents(e.ctx, billing.Decode, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if claimed == 0 {
					select {
					case <-delivered:
						return
					default:
						time.Sleep(time.Millisecond)
					}
				}
			}
		}()
	}
	for i, ev := range events { // in bursts, so that workers hold batches while more arrive
		e.deliver(ev)
		if i%7 == 6 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	close(delivered)
	wg.Wait()
	e.process() // anything the last idle pass did not see

	var rows []struct {
		ID        string `db:"id"`
		Attempts  int    `db:"attempts"`
		LastError string `db:"last_error"`
		Processed bool   `db:"processed"`
	}
	if err := e.store.DB().Select(&rows, `SELECT id, attempts, last_error, processed_at IS NOT NULL AS processed FROM stripe_event`); err != nil {
		t.Fatal(err)
	}
	if len(rows) != n {
		t.Fatalf("%d events in the inbox, want %d", len(rows), n)
	}
	for _, r := range rows {
		if !r.Processed || r.Attempts != 1 || r.LastError != "" {
			t.Errorf("event %s: processed=%v after %d attempts, last error %q", r.ID, r.Processed, r.Attempts, r.LastError)
		}
	}
	last := n - 1
	for last%3 == 2 {
		last--
	}
	if got := e.sub("globex"); got.Seats != 10+last%5 || got.Status != "active" {
		t.Errorf("final state %+v, want the last update's %d seats", got, 10+last%5)
	}
}
