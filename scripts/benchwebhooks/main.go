// Command benchwebhooks measures Stripe webhook handling end to end: it
// seeds a fresh database, starts `bin/entitle serve` on loopback, posts
// signed events (with duplicates, in shuffled order) to /webhooks/stripe,
// waits until the inbox is drained and prints events accepted and applied
// per second, next to /healthz requests per second as a baseline. Run by
// scripts/bench-webhooks.sh.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/entitle-dev/entitle/scripts/benchserver"
)

const secret = "whsec_bench_webhooks"

func main() {
	n := flag.Int("n", 3000, "distinct events")
	dupPct := flag.Int("dup", 20, "duplicate deliveries, percent of events")
	conc := flag.Int("c", 8, "concurrent senders")
	bin := flag.String("bin", "bin/entitle", "the entitle binary")
	bare := benchserver.BareFlag(flag.CommandLine)
	flag.Parse()
	if err := run(*n, *dupPct, *conc, *bin, benchserver.BareURL(*bare)); err != nil {
		fmt.Fprintln(os.Stderr, "bench-webhooks:", err)
		os.Exit(1)
	}
}

func run(n, dupPct, conc int, bin, bare string) error {
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		return fmt.Errorf("DATABASE_URL is not set")
	}
	dbURL, drop, err := benchserver.FreshDatabase(base, "entitle_bench_webhooks")
	if err != nil {
		return err
	}
	defer drop()
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "STRIPE_WEBHOOK_SECRET="+secret, "LOG_LEVEL=warn",
		"SESSION_SECRET=bench-webhooks-session-secret-0123456789")
	seed := exec.Command(bin, "demo", "seed")
	seed.Env = env
	if out, err := seed.CombinedOutput(); err != nil {
		return fmt.Errorf("demo seed: %v\n%s", err, out)
	}
	addr, err := benchserver.FreePort()
	if err != nil {
		return err
	}
	srv := exec.Command(bin, "serve")
	srv.Env = append(env, "ADDR="+addr, "PUBLIC_URL=http://"+addr)
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { _ = srv.Process.Signal(os.Interrupt); _ = srv.Wait() }()
	baseURL := "http://" + addr
	if err := benchserver.WaitReady(baseURL + "/readyz"); err != nil {
		return err
	}
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		return err
	}
	defer db.Close()

	events, final := generate(n)
	deliveries := make([][]byte, 0, n+n*dupPct/100)
	deliveries = append(deliveries, events...)
	for i := 0; i < n*dupPct/100; i++ {
		deliveries = append(deliveries, events[rand.IntN(len(events))])
	}
	rand.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	health := make([][]byte, len(deliveries))
	var bareFig benchserver.Figure
	if bare != "" {
		if bareFig.Rate, err = post(client, bare, health, conc, false); err != nil {
			return err
		}
	}
	var own benchserver.Figure
	if own.Rate, err = post(client, baseURL+"/healthz", health, conc, false); err != nil {
		return err
	}
	start, cpuStart := time.Now(), benchserver.CPUTime()
	acceptRate, err := post(client, baseURL+"/webhooks/stripe", deliveries, conc, true)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(50 * time.Second)
	var processed int
	for {
		if err := db.Get(&processed, `SELECT count(*) FROM stripe_event WHERE processed_at IS NOT NULL`); err != nil {
			return err
		}
		if processed >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed, cpu := time.Since(start), benchserver.CPUTime()-cpuStart
	var stored int
	_ = db.Get(&stored, `SELECT count(*) FROM stripe_event`)
	ok := true
	for sub, seats := range final {
		var got int
		if err := db.Get(&got, `SELECT seats FROM subscription WHERE stripe_subscription_id = $1`, sub); err != nil || got != seats {
			ok = false
		}
	}
	fmt.Printf("deliveries: %d (%d events + %d duplicates, shuffled), %d senders; events stored: %d\n",
		len(deliveries), n, len(deliveries)-n, conc, stored)
	accepted := benchserver.Figure{Name: "webhook deliveries accepted", Rate: acceptRate, Unit: "deliveries",
		Note: "verified, stored in the inbox, answered"}
	applied := benchserver.Figure{Name: fmt.Sprintf("Stripe webhook events applied (%d senders)", conc),
		Rate: float64(processed) / elapsed.Seconds(), Unit: "events",
		Target: "≥ 2,000 events/s, same guarantees",
		Note: fmt.Sprintf("%d applied in %.2fs from first delivery to drained inbox, %.0f µs of CPU per event (all processes); final state equals the newest event of every subscription: %v",
			processed, elapsed.Seconds(), float64(cpu.Microseconds())/float64(max(processed, 1)), ok && processed == n)}
	applied.Met = benchserver.Verdict(applied.Rate >= 2000, ok, processed == n)
	benchserver.Table(os.Stdout, fmt.Sprintf("Stripe webhooks, %d events + %d duplicates", n, len(deliveries)-n), bareFig, own, accepted, applied)
	if processed < n || !ok {
		return fmt.Errorf("inbox not drained correctly: %d of %d applied", processed, n)
	}
	return nil
}

// generate makes n events over the demo subscriptions, each with a newer
// created time than the last for its subscription, and says which seat
// count each subscription must end with.
func generate(n int) ([][]byte, map[string]int) {
	subs := []struct{ sub, customer, price string }{
		{"sub_sim_globex", "cus_sim_globex", "price_analytics_team_monthly"},
		{"sub_sim_initech", "cus_sim_initech", "price_analytics_business_monthly"},
		{"sub_sim_umbrella", "cus_sim_umbrella", "price_analytics_team_monthly"},
	}
	final := map[string]int{}
	start := time.Now().Add(time.Minute).Unix()
	periodEnd := time.Now().AddDate(0, 1, 0).Unix()
	out := make([][]byte, 0, n)
	for i := range n {
		s := subs[i%len(subs)]
		created := start + int64(i)
		typ, obj := "invoice.paid", map[string]any{"id": fmt.Sprintf("in_bench_%d", i), "object": "invoice",
			"customer": s.customer, "subscription": s.sub, "amount_due": 1200, "currency": "usd", "status": "paid"}
		if i%5 != 3 || i >= n-len(subs) {
			seats := 5 + i%20
			final[s.sub] = seats
			typ, obj = "customer.subscription.updated", map[string]any{"id": s.sub, "object": "subscription",
				"customer": s.customer, "status": "active", "current_period_end": periodEnd, "cancel_at_period_end": false,
				"items": map[string]any{"object": "list", "data": []any{map[string]any{"id": "si_" + s.sub,
					"object": "subscription_item", "quantity": seats, "price": map[string]any{"id": s.price, "object": "price"}}}}}
		}
		b, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("evt_bench_%d", i), "object": "event",
			"api_version": stripe.APIVersion, "created": created, "type": typ, "data": map[string]any{"object": obj}})
		out = append(out, b)
	}
	return out, final
}

// post sends every payload (signed when sign is set) with conc senders and
// returns requests per second; any answer but 200 is an error.
func post(client *http.Client, target string, payloads [][]byte, conc int, sign bool) (float64, error) {
	work := make(chan []byte)
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				var res *http.Response
				var err error
				if sign {
					req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(p))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Stripe-Signature", webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: p, Secret: secret}).Header)
					res, err = client.Do(req)
				} else {
					res, err = client.Get(target)
				}
				if err == nil {
					// Read to the end, so that the connection is used again
					// rather than a new one dialled for every delivery.
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s answered %d", target, res.StatusCode)
					}
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for _, p := range payloads {
		work <- p
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	return float64(len(payloads)) / time.Since(start).Seconds(), nil
}
