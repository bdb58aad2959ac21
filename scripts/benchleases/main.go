// Command benchleases measures floating licence leases over HTTP on
// loopback (scripts/bench-leases.sh runs it): heartbeats (each worker
// renews its own lease) and checkout + check-in cycles, interleaved in
// rounds with GET /healthz, printing requests per second, p50 and p99 and
// the ratio of each to /healthz. It gives the account a pool large enough
// for every worker with a vendor grant written straight into the bench
// database, so the figures are of the path, not of refusals.
//
//	benchleases -db URL -url http://127.0.0.1:PORT -token ent_... -c 16 -d 10s
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchleases:", err)
		os.Exit(1)
	}
}

func run() error {
	db := flag.String("db", "", "the bench database (for the pool grant)")
	base := flag.String("url", "", "the server's base URL")
	token := flag.String("token", "", "an API key of globex with the check scope")
	conns := flag.Int("c", 16, "workers, each with its own connection and lease")
	dur := flag.Duration("d", 10*time.Second, "measured time per target")
	rounds := flag.Int("rounds", 5, "interleaved rounds")
	flag.Parse()
	conn, err := sqlx.Open("postgres", *db)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Exec(`INSERT INTO entitlement_grant (account_id, kind, feature_id, amount, reason, created_by)
		SELECT a.id, 'extra_limit', f.id, 100000, 'lease benchmark', 'bench' FROM account a, feature f
		WHERE a.slug = 'globex' AND f.key = 'desktop_floating'`); err != nil {
		return fmt.Errorf("pool grant: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conns * 2, MaxConnsPerHost: *conns * 2,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}, Timeout: 10 * time.Second}
	api := *base + "/api/v1/accounts/globex/leases"
	call := func(method, url string, body []byte) (int, []byte, error) {
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+*token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		data, err := io.ReadAll(res.Body)
		return res.StatusCode, data, err
	}
	checkout := []byte(`{"feature":"desktop_floating","user":"bench","machine":"bench"}`)
	leases := make([]string, *conns)
	for w := range leases {
		status, data, err := call(http.MethodPost, api, checkout)
		if err != nil || status != http.StatusCreated {
			return fmt.Errorf("checkout %d: %d %s %v", w, status, data, err)
		}
		var l struct{ ID string }
		if err := json.Unmarshal(data, &l); err != nil {
			return err
		}
		leases[w] = l.ID
	}
	type target struct {
		name string
		op   func(w int) bool
	}
	targets := []target{
		{"healthz", func(int) bool {
			status, _, err := call(http.MethodGet, *base+"/healthz", nil)
			return err == nil && status == http.StatusOK
		}},
		{"check", func(int) bool {
			status, _, err := call(http.MethodGet, *base+"/api/v1/accounts/globex/entitlements/desktop_floating", nil)
			return err == nil && status == http.StatusOK
		}},
		{"heartbeat", func(w int) bool {
			status, _, err := call(http.MethodPost, api+"/"+leases[w]+"/heartbeat", nil)
			return err == nil && status == http.StatusOK
		}},
		{"checkout+in", func(int) bool { // two requests: counted as one cycle
			status, data, err := call(http.MethodPost, api, checkout)
			if err != nil || status != http.StatusCreated {
				return false
			}
			var l struct{ ID string }
			if json.Unmarshal(data, &l) != nil {
				return false
			}
			status, _, err = call(http.MethodDelete, api+"/"+l.ID, nil)
			return err == nil && status == http.StatusNoContent
		}},
	}
	lat := make([][]time.Duration, len(targets))
	elapsed := make([]time.Duration, len(targets))
	fails := make([]int, len(targets))
	for range *rounds {
		for i, t := range targets {
			ctx, cancel := context.WithTimeout(context.Background(), *dur/time.Duration(*rounds))
			var mu sync.Mutex
			var wg sync.WaitGroup
			start := time.Now()
			for w := range *conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var mine []time.Duration
					bad := 0
					for ctx.Err() == nil {
						t0 := time.Now()
						// An operation that ends after the window still counts:
						// elapsed runs until the last one ends, and dropping
						// them would understate the rate of slow operations
						// (at 0.5 s each, most of a short window's).
						ok := t.op(w)
						mine = append(mine, time.Since(t0))
						if !ok {
							bad++
						}
					}
					mu.Lock()
					lat[i] = append(lat[i], mine...)
					fails[i] += bad
					mu.Unlock()
				}()
			}
			wg.Wait()
			cancel()
			elapsed[i] += time.Since(start)
		}
	}
	fmt.Printf("%d workers, %v per target in %d interleaved rounds\n", *conns, *dur, *rounds)
	fmt.Printf("%-12s %10s %9s %9s %8s %12s\n", "target", "per s", "p50", "p99", "errors", "rate ratio")
	baseRate := float64(len(lat[0])) / elapsed[0].Seconds()
	for i, t := range targets {
		slices.Sort(lat[i])
		n := len(lat[i])
		if n == 0 {
			return fmt.Errorf("%s: no request completed", t.name)
		}
		rate := float64(n) / elapsed[i].Seconds()
		fmt.Printf("%-12s %10.0f %9s %9s %8d %12.2f\n", t.name, rate, lat[i][n*50/100].Round(10*time.Microsecond),
			lat[i][n*99/100].Round(10*time.Microsecond), fails[i], rate/baseRate)
	}
	var live int
	if err := conn.Get(&live, `SELECT count(*) FROM lease l JOIN account a ON a.id = l.account_id
		WHERE a.slug = 'globex' AND l.released_at IS NULL`); err != nil {
		return err
	}
	fmt.Printf("live leases after the run: %d (the %d workers' own; every cycle checked in)\n", live, *conns)
	return nil
}
