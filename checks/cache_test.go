package checks_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/checks"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

func accountID(t *testing.T, s *store.Store, slug string) int64 {
	t.Helper()
	a, err := s.AccountBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// startCache runs a cache over s until the test ends and waits until it is
// in sync; it returns the cache and the database's name.
func startCache(t *testing.T, s *store.Store) (*checks.Cache, string) {
	t.Helper()
	var name string
	if err := s.DB().Get(&name, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := checks.New(s, slog.New(slog.NewTextHandler(io.Discard, nil)), 0)
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx, storetest.ServerURL(name)) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the cache is in sync", c.Live)
	return c, name
}

func TestCacheLoadsOnceAndForgetsWhatChanged(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	c, _ := startCache(t, s)
	globex := accountID(t, s, "globex")
	var wg sync.WaitGroup
	got := make([]*licensing.Checker, 32)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = c.Checker(ctx, globex)
		}()
	}
	wg.Wait()
	for _, ch := range got {
		if ch == nil || ch != got[0] {
			t.Fatal("concurrent misses did not share one load")
		}
	}
	if again, _ := c.Checker(ctx, globex); again != got[0] {
		t.Fatal("a second check reloaded the state")
	}
	if _, err := s.RecordUsage(ctx, globex, store.UsageReport{Feature: "api_calls", Quantity: 5, IdempotencyKey: "c1"}); err != nil {
		t.Fatal(err)
	}
	fresh, err := c.Checker(ctx, globex) // this process's own change: shows at commit, no waiting
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := fresh.Check("api_calls", "", time.Now()); r.Decision.Used != 4205 {
		t.Errorf("after a report, used = %d", r.Decision.Used)
	}
	if _, err := c.Checker(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
}

// TestUsageReportsAreAddedToTheStateHeld reports usage through this
// instance and through another (its own pool: heard only through the
// change feed): each report shows in the next check without the state
// being read again, and a report that follows another instance's change
// this one has not heard of yet still shows both.
func TestUsageReportsAreAddedToTheStateHeld(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	c, name := startCache(t, s)
	globex := accountID(t, s, "globex")
	base := apiCalls(t, c, globex)
	db2, err := store.Open(ctx, storetest.ServerURL(name), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	other := store.New(db2, nil)
	report := func(s *store.Store, key string, n int64) {
		t.Helper()
		if _, err := s.RecordUsage(ctx, globex, store.UsageReport{Feature: "api_calls", Quantity: n, IdempotencyKey: key}); err != nil {
			t.Fatal(err)
		}
	}
	_, misses := c.Stats()

	report(s, "here-1", 5)
	if got := apiCalls(t, c, globex); got != base+5 {
		t.Errorf("after a report here, used = %d, want %d", got, base+5)
	}
	report(other, "there-1", 7)
	waitFor(t, "the other instance's report shows", func() bool { return apiCalls(t, c, globex) == base+12 })
	// Heard after the echo of "here-1" (the feed keeps commit order).
	if _, now := c.Stats(); now != misses {
		t.Errorf("%d loads of the state for reports that could be added in place", now-misses)
	}

	report(other, "there-2", 11) // perhaps not heard yet when the next report commits
	report(s, "here-2", 13)
	if got := apiCalls(t, c, globex); got != base+36 {
		t.Errorf("a report here after one elsewhere: used = %d, want %d", got, base+36)
	}
	report(s, "here-2", 13) // a replay counts nothing
	if got := apiCalls(t, c, globex); got != base+36 {
		t.Errorf("after a replayed report, used = %d, want %d", got, base+36)
	}
}

// TestNoChangeIsMissedWhenTheListenerDrops terminates only the change
// listener's connection (the database stays up), keeps it from coming back
// for a while, and commits changes meanwhile, whose notifications are lost:
// the cache answers stale until the listener is back, then reloads what
// changed, and every change shows.
func TestNoChangeIsMissedWhenTheListenerDrops(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	c, name := startCache(t, s)
	slugs := []string{"globex", "initech", "umbrella"}
	ids := map[string]int64{}
	used := map[string]int64{}
	for _, slug := range slugs {
		ids[slug] = accountID(t, s, slug)
		used[slug] = apiCalls(t, c, ids[slug])
	}
	admin, err := sqlx.Open("postgres", storetest.ServerURL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	allow := func(on bool) {
		t.Helper()
		if _, err := admin.Exec(`ALTER DATABASE ` + pq.QuoteIdentifier(name) + ` ALLOW_CONNECTIONS ` + map[bool]string{true: "true", false: "false"}[on]); err != nil {
			t.Fatal(err)
		}
	}
	// Changes keep being committed, before, during and after the drop, by
	// another instance (its own pool: this cache hears them only through
	// the database).
	db2, err := store.Open(ctx, storetest.ServerURL(name), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	other := store.New(db2, nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var mu sync.Mutex
	report := func(slug string, n int) {
		t.Helper()
		if _, err := other.RecordUsage(context.Background(), ids[slug], store.UsageReport{Feature: "api_calls", Quantity: 1,
			IdempotencyKey: slug + "-" + strconv.Itoa(n)}); err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		used[slug]++
		mu.Unlock()
	}
	// Open pool connections keep working while new ones are refused.
	var warm sync.WaitGroup
	for range 4 {
		warm.Add(1)
		go func() { defer warm.Done(); _, _ = db2.Exec(`SELECT pg_sleep(0.05)`) }()
	}
	warm.Wait()
	wg.Add(1)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			report(slugs[n%len(slugs)], n)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	allow(false) // the listener cannot reconnect; open pool connections keep working
	var terminated int
	if err := admin.Get(&terminated, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = $1 AND query LIKE 'LISTEN %'`, name); err != nil || terminated != 1 {
		t.Fatalf("terminate the listener: %d, %v", terminated, err)
	}
	waitFor(t, "the cache notices", func() bool { return !c.Live() })
	for i, slug := range slugs { // lost notifications: these are known only by the change numbers
		report(slug, 1000000+i)
	}
	st, err := c.State(ctx, ids["globex"])
	if err != nil || !st.Stale {
		t.Errorf("a check while the listener is away: stale=%v err=%v", st.Stale, err)
	}
	allow(true)
	waitFor(t, "the cache is in sync again", c.Live)
	close(stop)
	wg.Wait()
	for _, slug := range slugs {
		mu.Lock()
		want := used[slug]
		mu.Unlock()
		waitFor(t, slug+"'s usage shows", func() bool { return apiCalls(t, c, ids[slug]) == want })
	}
}

func apiCalls(t *testing.T, c *checks.Cache, id int64) int64 {
	t.Helper()
	st, err := c.State(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	r, err := st.Checker.Check("api_calls", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return r.Decision.Used
}

// waitFor waits (up to 30 s, a bound for a busy machine) for cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
