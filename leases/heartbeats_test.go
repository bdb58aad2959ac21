package leases_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/leases"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// Many heartbeats at once, batched: each caller hears its own lease's
// answer — renewed, gone (and why), or not found in its account.
func TestBatchedHeartbeatsAnswerEachCallerForItsOwnLease(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	clk := storetest.NewClock(t0)
	s := storetest.NewDemo(t, clk)
	ctx := context.Background()
	globex, err := s.AccountBySlug(ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	initech, err := s.AccountBySlug(ctx, "initech")
	if err != nil {
		t.Fatal(err)
	}
	checkout := func(account int64, user string) store.Lease {
		l, err := s.CheckOutLease(ctx, account, store.LeaseRequest{Feature: "desktop_floating", User: user})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	live := checkout(globex.ID, "ann")
	checkedIn := checkout(globex.ID, "bob")
	if err := s.CheckInLease(ctx, globex.ID, checkedIn.Token); err != nil {
		t.Fatal(err)
	}
	other := checkout(initech.ID, "peter")
	clk.Advance(time.Minute)

	h := leases.New(s)
	type call struct {
		account int64
		token   string
		check   func(store.Lease, error) bool
	}
	calls := []call{
		{globex.ID, live.Token, func(l store.Lease, err error) bool {
			return err == nil && l.ExpiresAt.Equal(clk.Now().Add(2*time.Minute)) && l.User == "ann"
		}},
		{globex.ID, checkedIn.Token, func(_ store.Lease, err error) bool {
			var gone *store.LeaseGoneError
			return errors.As(err, &gone) && gone.Reason == "checked_in"
		}},
		{globex.ID, other.Token, func(_ store.Lease, err error) bool { return errors.Is(err, store.ErrNotFound) }},
		{initech.ID, other.Token, func(l store.Lease, err error) bool { return err == nil && l.User == "peter" }},
	}
	const rounds = 25
	var wg sync.WaitGroup
	bad := make(chan string, rounds*len(calls))
	for range rounds {
		for i, c := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := h.Heartbeat(ctx, c.account, c.token)
				if !c.check(l, err) {
					bad <- calls[i].token + ": " + l.User + " " + errString(err)
				}
			}()
		}
	}
	wg.Wait()
	close(bad)
	for b := range bad {
		t.Error(b)
	}
	// Expired meanwhile: a batch never revives it.
	clk.Advance(9 * time.Minute) // ten minutes after t0
	var gone *store.LeaseGoneError
	if _, err := h.Heartbeat(ctx, globex.ID, live.Token); !errors.As(err, &gone) || gone.Reason != "expired" {
		t.Fatalf("heartbeat after expiry: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
