package billing_test

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/billing"
)

// TestWorkersOnOneAccountNeverFailAnAttempt runs several workers against
// interleaved events of one account (plan changes and invoices, arriving
// while the workers run, each worker taking small batches), beside a
// second account's (so that a batch spans accounts), every event delivered
// twice at once in concurrent bursts (so that duplicates race to be stored):
// whatever the interleaving, every event is stored once, reported new to
// exactly one of its deliveries, and applied on its first attempt, and
// none waits for a retry.
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
	const m = 20 // Initech's events, between Globex's
	for i := range m {
		at := start.Add(time.Duration(i)*time.Second + 500*time.Millisecond)
		events = append(events, event("customer.subscription.updated", at,
			subscription("sub_sim_initech", "cus_sim_initech", "active", businessPrice, 3+i%4, end, nil)))
	}
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
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
	var freshMu sync.Mutex
	fresh := map[string]int{}
	for b := 0; b < len(events); b += 7 { // in bursts, so that workers hold batches while more arrive
		var burst sync.WaitGroup
		for _, ev := range events[b:min(b+7, len(events))] {
			for range 2 {
				burst.Add(1)
				go func() {
					defer burst.Done()
					id, isNew, err := e.b.Inbox.Receive(e.ctx, ev, sign(ev, billing.DevWebhookSecret))
					if err != nil {
						t.Errorf("receive: %v", err)
						return
					}
					freshMu.Lock()
					defer freshMu.Unlock()
					k := fresh[id] // an id answered only as a duplicate is counted 0
					if isNew {
						k++
					}
					fresh[id] = k
				}()
			}
		}
		burst.Wait()
		time.Sleep(2 * time.Millisecond)
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
	if len(rows) != n+m {
		t.Fatalf("%d events in the inbox, want %d", len(rows), n+m)
	}
	for id, k := range fresh {
		if k != 1 {
			t.Errorf("event %s: reported new to %d of its deliveries, want 1", id, k)
		}
	}
	if len(fresh) != n+m {
		t.Errorf("%d events answered, want %d", len(fresh), n+m)
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
	if got := e.sub("initech"); got.Seats != 3+(m-1)%4 || got.Status != "active" {
		t.Errorf("Initech's final state %+v, want the last update's %d seats", got, 3+(m-1)%4)
	}
}
