package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

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

func TestTheAppHoldsALeaseUntilItExitsOrAnAdminTakesItBack(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	srv := httptest.NewServer(web.New(web.Options{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SessionSecret: []byte("example-secret-example-secret-example")}))
	defer srv.Close()
	bg := context.Background()
	acct, _ := s.AccountBySlug(bg, "globex")
	key, _, err := s.CreateAPIKey(bg, store.SystemActor("test"), acct.ID, "example", []string{store.ScopeCheck})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{base: srv.URL, key: key, account: "globex", feature: "desktop_floating", user: "alice@globex.test",
		machine: "ws-1", every: 20 * time.Millisecond}
	live := func() []store.Lease {
		l, err := s.LiveLeases(bg, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited in vain for %s", what)
			}
		}
	}

	// Runs, then exits: the lease is checked in.
	ctx, cancel := context.WithCancel(bg)
	done := make(chan error, 1)
	var out syncBuffer
	go func() { done <- run(ctx, cfg, http.DefaultClient, &out) }()
	// The app says it holds the licence once the server's answer has
	// reached it; the lease's row alone is there a moment earlier, while
	// an exit would still cancel the checkout's request.
	waitFor("the app to hold the lease", func() bool { return strings.Contains(out.String(), "licence checked out") })
	cancel()
	if err := <-done; err != nil || !strings.Contains(out.String(), "licence checked in") {
		t.Fatalf("exit: %v\n%s", err, out.String())
	}
	if n := len(live()); n != 0 {
		t.Fatalf("%d leases left after the app exited", n)
	}

	// Runs, and an admin force-releases its lease: the app is told.
	out = syncBuffer{}
	go func() { done <- run(bg, cfg, http.DefaultClient, &out) }()
	waitFor("the app to hold the lease", func() bool { return strings.Contains(out.String(), "licence checked out") })
	owner := store.Principal{AccountID: acct.ID}
	if err := s.DB().QueryRow(`SELECT m.id, u.id, u.email FROM membership m JOIN app_user u ON u.id = m.user_id
		WHERE u.email = 'owner@globex.test'`).Scan(&owner.MembershipID, &owner.UserID, &owner.Email); err != nil {
		t.Fatal(err)
	}
	if err := s.ForceReleaseLease(bg, owner, live()[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrLicenceTaken) || !strings.Contains(out.String(), "licence taken back") {
		t.Fatalf("after a force release: %v\n%s", err, out.String())
	}

	// A full pool says when a licence frees up.
	for range 3 {
		if _, err := s.CheckOutLease(bg, acct.ID, store.LeaseRequest{Feature: "desktop_floating"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(bg, cfg, http.DefaultClient, io.Discard); err == nil || !strings.Contains(err.Error(), "the next frees up") {
		t.Fatalf("full pool: %v", err)
	}
}
