package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/checks"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// syncBuffer is the app's output, read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// The example answers through OpenFeature from the SDK's state, hears of a
// seat given meanwhile through the change stream, and sends the usage it
// reported when it exits.
func TestTheAppSeesASeatGivenWhileItRunsAndSendsItsUsageOnExit(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var dbName string
	if err := s.DB().Get(&dbName, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}
	cache := checks.New(s, logger, 0) // as in `entitle serve`: the change stream wakes on its feed
	feedCtx, stopFeed := context.WithCancel(context.Background())
	feedDone := make(chan struct{})
	go func() { defer close(feedDone); _ = cache.Run(feedCtx, storetest.ServerURL(dbName)) }()
	t.Cleanup(func() { stopFeed(); <-feedDone })
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited in vain for %s", what)
			}
		}
	}
	waitFor("the change listener", cache.Live)
	srv := httptest.NewServer(web.New(web.Options{Store: s, Logger: logger, Checks: cache,
		SessionSecret: []byte("example-secret-example-secret-example")}))
	t.Cleanup(srv.Close) // after the app below has stopped: its change stream holds a connection

	bg := context.Background()
	acct, _ := s.AccountBySlug(bg, "globex")
	key, _, err := s.CreateAPIKey(bg, store.SystemActor("test"), acct.ID, "example", store.Scopes)
	if err != nil {
		t.Fatal(err)
	}
	usedBefore := used(t, s, acct.ID)

	ctx, cancel := context.WithCancel(bg)
	done := make(chan error, 1)
	var out syncBuffer
	cfg := config{base: srv.URL, key: key, account: "globex", user: "frank@globex.test",
		flags: []string{"dashboards", "api_calls", "no_such_feature"}, report: "api_calls", every: 20 * time.Millisecond}
	go func() { done <- run(ctx, cfg, &out) }()
	t.Cleanup(func() {
		if ctx.Err() == nil { // a failed wait: stop the app before the server
			cancel()
			<-done
			t.Logf("the app printed:\n%s", out.String())
		}
	})
	waitFor("the first answers", func() bool {
		o := out.String()
		return strings.Contains(o, "dashboards for frank@globex.test: no (no_seat)") &&
			strings.Contains(o, "api_calls for frank@globex.test: no (no_seat)") &&
			strings.Contains(o, "no_such_feature for frank@globex.test: no (")
	})

	// An owner gives frank a seat: the stream announces it, the flag turns.
	var owner store.Principal
	var sub, frank int64
	if err := s.DB().QueryRow(`SELECT m.account_id, m.id, u.id, u.email FROM membership m JOIN app_user u ON u.id = m.user_id
		WHERE u.email = 'owner@globex.test'`).Scan(&owner.AccountID, &owner.MembershipID, &owner.UserID, &owner.Email); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().QueryRow(`SELECT s.id, m.id FROM subscription s, membership m JOIN app_user u ON u.id = m.user_id
		WHERE s.account_id = $1 AND u.email = 'frank@globex.test'`, owner.AccountID).Scan(&sub, &frank); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AssignSeats(bg, owner, sub, []int64{frank}); err != nil {
		t.Fatal(err)
	}
	waitFor("frank's seat in the flags", func() bool {
		o := out.String()
		return strings.Contains(o, "dashboards for frank@globex.test: yes") && strings.Contains(o, "api_calls for frank@globex.test: yes, ")
	})

	cancel()
	if err := <-done; err != nil || !strings.Contains(out.String(), "stopped; usage sent") {
		t.Fatalf("exit: %v\n%s", err, out.String())
	}
	if after := used(t, s, acct.ID); after <= usedBefore {
		t.Fatalf("api_calls used %d before the app, %d after: its reported usage did not arrive\n%s", usedBefore, after, out.String())
	}
}

// used is the usage the account has recorded, every feature and period.
func used(t *testing.T, s *store.Store, accountID int64) int64 {
	t.Helper()
	var n int64
	if err := s.DB().Get(&n, `SELECT coalesce(sum(quantity), 0) FROM usage_event WHERE account_id = $1`, accountID); err != nil {
		t.Fatal(err)
	}
	return n
}
