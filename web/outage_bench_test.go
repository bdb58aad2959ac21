package web_test

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// BenchmarkChecksDuringADatabaseOutage measures checks of a loaded account
// over loopback HTTP before and during an outage of the instance's
// PostgreSQL (a private cluster, pg_ctl -m immediate stop), and counts
// what was not a 200 (none may be: the account's last state is served,
// marked stale). scripts/bench-outage.sh prints the ratio of the two rates:
// go test -run '^$' -bench ChecksDuringADatabaseOutage ./web
func BenchmarkChecksDuringADatabaseOutage(b *testing.B) {
	cluster := storetest.NewCluster(b)
	dbURL := cluster.URL("entitle")
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL, 30*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := store.Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	s := store.New(db, nil)
	if err := s.ApplyDemo(ctx); err != nil {
		b.Fatal(err)
	}
	seed := &apiInstance{t: b, store: s}
	key := seed.newKey("globex") // made before the start: the instance loads it
	a := startInstanceAt(b, s, dbURL)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	checks := func(b *testing.B, wantStale bool) {
		var failed, stale atomic.Int64
		b.SetParallelism(16) // 32 requests in flight on 2 CPUs, as bench-api.sh drives
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			req, _ := http.NewRequest(http.MethodGet, a.url+"/api/v1/accounts/globex/entitlements/api_calls", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			for pb.Next() {
				res, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				if res.Header.Get("Entitle-Stale-As-Of") != "" {
					stale.Add(1)
				}
			}
		})
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
		b.ReportMetric(float64(failed.Load()), "not-200")
		if failed.Load() > 0 {
			b.Errorf("%d of %d checks of a loaded account did not answer 200", failed.Load(), b.N)
		}
		if wantStale != (stale.Load() == int64(b.N)) {
			b.Errorf("%d of %d answers said they were stale (want all: %v)", stale.Load(), b.N, wantStale)
		}
	}

	b.Run("before", func(b *testing.B) { checks(b, false) })
	cluster.Crash()
	for deadline := time.Now().Add(30 * time.Second); a.cache.Live(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the instance did not notice its database was gone")
		}
	}
	b.Run("during", func(b *testing.B) { checks(b, true) })
}
