package checks_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

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

func TestCacheLoadsOnceAndForgetsWhatChanged(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var name string
	_ = s.DB().Get(&name, `SELECT current_database()`)
	c := checks.New(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	go func() { _ = c.Run(ctx, storetest.ServerURL(name)) }()
	for deadline := time.Now().Add(10 * time.Second); !c.Live(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("listener did not connect")
		}
	}
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
	fresh, err := c.Checker(ctx, globex) // this process's own change: dropped at commit, no waiting
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
