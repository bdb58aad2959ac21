// Command benchoutbound measures outbound webhook delivery: against a
// running `entitle serve` (scripts/bench-outbound.sh starts it), it
// registers an endpoint on a receiver in this process that verifies every
// signature with the Standard Webhooks library, queues a backlog of events
// for it, and prints events delivered per second from the first delivery
// to the last, next to /healthz requests per second measured just before.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/entitle-dev/entitle/store"
)

func main() {
	n := flag.Int("n", 20000, "events in the backlog")
	healthz := flag.String("healthz", "", "the server's /healthz, for the baseline")
	flag.Parse()
	if err := run(*n, *healthz); err != nil {
		fmt.Fprintln(os.Stderr, "benchoutbound:", err)
		os.Exit(1)
	}
}

// queueSQL writes n events of Globex and a delivery of each to the
// endpoint, as the write paths do one by one, in one statement.
const queueSQL = `
WITH ev AS (
    INSERT INTO webhook_event (message_id, account_id, seq, type, payload, created_at)
    SELECT 'msg_bench_' || g, a.id, 1000000 + g, 'seat.assigned',
           jsonb_build_object('id', 'msg_bench_' || g, 'type', 'seat.assigned', 'timestamp', now(), 'sequence', 1000000 + g,
                              'account', jsonb_build_object('id', a.id, 'slug', a.slug, 'name', a.name, 'external_id', a.external_id),
                              'data', jsonb_build_object('member', jsonb_build_object('membership_id', g, 'user_id', g,
                                  'email', 'bench' || g || '@globex.test', 'role', 'member', 'status', 'active'),
                                  'subscription_id', 1, 'product', 'analytics', 'seats', 10, 'seats_assigned', 8)),
           now()
    FROM generate_series(1, $1) g, account a WHERE a.slug = 'globex'
    RETURNING id)
INSERT INTO webhook_delivery (event_id, endpoint_id, next_attempt_at, created_at)
SELECT id, $2, now(), now() FROM ev`

func run(n int, healthz string) error {
	ctx := context.Background()
	db, err := store.Open(ctx, os.Getenv("DATABASE_URL"), 10*time.Second)
	if err != nil {
		return err
	}
	defer db.Close()
	s := store.New(db, nil)

	var got, bad atomic.Int64
	var mu sync.Mutex
	var first, last time.Time
	var secret atomic.Pointer[string]
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		wh, err := standardwebhooks.NewWebhook(*secret.Load())
		if err != nil || wh.Verify(body, r.Header) != nil {
			bad.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		now := time.Now()
		mu.Lock()
		if first.IsZero() {
			first = now
		}
		last = now
		mu.Unlock()
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	ep, err := s.CreateWebhookEndpoint(ctx, store.SystemActor("bench"), store.WebhookEndpointInput{URL: recv.URL + "/hooks",
		Description: "bench receiver", EventTypes: []string{store.EventSeatAssigned}})
	if err != nil {
		return err
	}
	secret.Store(&ep.Secret)

	base := 0.0
	if healthz != "" {
		base = healthzRate(healthz, 32, 3*time.Second)
	}
	if _, err := db.ExecContext(ctx, queueSQL, n, ep.ID); err != nil {
		return fmt.Errorf("queue the backlog: %w", err)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for got.Load() < int64(n) {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d events delivered in 10 minutes", got.Load(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	elapsed := last.Sub(first)
	mu.Unlock()
	rate := float64(n-1) / elapsed.Seconds()
	var dupes int64
	_ = db.GetContext(ctx, &dupes, `SELECT count(*) - count(DISTINCT delivery_id) FROM webhook_attempt`)
	fmt.Printf("%-28s %10s\n", "", "per second")
	fmt.Printf("%-28s %10.0f\n", "GET /healthz (32 conns)", base)
	fmt.Printf("%-28s %10.0f   (%d events in %.1fs, %d bad signatures, %d retried)\n", "events delivered", rate, n,
		elapsed.Seconds(), bad.Load(), dupes)
	if base > 0 {
		fmt.Printf("%-28s %10.2f\n", "ratio to /healthz", rate/base)
	}
	return nil
}

// healthzRate is /healthz requests per second over d with conns workers.
func healthzRate(u string, conns int, d time.Duration) float64 {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	var count atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				res, err := client.Get(u)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(count.Load()) / d.Seconds()
}
