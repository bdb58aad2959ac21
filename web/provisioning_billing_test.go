package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// TestPlanChangesFlowThroughTheRules: seats bought through billing serve
// the waiting list as soon as the webhook lands (the reconciler hears the
// change on the changes channel, as in `entitle serve`); seats dropped at
// period end move the lowest priority holders to the waiting list when
// the drop takes effect, each audited with its cause.
func TestPlanChangesFlowThroughTheRules(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := billing.New(s, nil, logger, billing.Config{PublicURL: "http://portal.test"})
	if err != nil {
		t.Fatal(err)
	}
	r := store.NewReconciler(s, logger)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx, databaseURL(t, s), time.Hour) }()
	t.Cleanup(func() { cancel(); <-done; r.Close() })
	srv := httptest.NewServer(web.New(web.Options{Store: s, Logger: logger, Billing: b, Reconciler: r,
		SessionSecret: []byte("test-secret-test-secret-test-secret!")}))
	t.Cleanup(srv.Close)
	p := &scimPortal{portal: &portal{t: t, srv: srv, store: s, client: newClient()}, reconciler: r, globex: mustAccount(t, s, "globex")}
	p.idp = scimClient{t: t, base: srv.URL, token: newSCIMToken(t, s, "globex", "Okta")}

	gid := pushPeople(t, p, "Engineering", "ann@globex.test", "ben@globex.test", "cat@globex.test", "dan@globex.test", "eve@globex.test")
	addRule(t, s, "globex", "owner@globex.test", groupRowID(t, s, gid), "member", 10)
	if seats, waiting := seatsAndWaiting(t, s, p.globex); seats != 3 || waiting != 2 {
		t.Fatalf("before: %d seats, %d waiting", seats, waiting)
	}
	waitFor := func(what string, seats, waiting int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			gotSeats, gotWaiting := seatsAndWaiting(t, s, p.globex)
			if gotSeats == seats && gotWaiting == waiting {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d rule seats and %d waiting, want %d and %d", what, gotSeats, gotWaiting, seats, waiting)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Two more seats, bought at once: the waiting list is served.
	if _, err := b.ChangeSeats(context.Background(), store.Actor{Type: "user", Label: "owner@globex.test"}, p.globex, 12); err != nil {
		t.Fatal(err)
	}
	process(t, b)
	waitFor("after buying two seats", 5, 0)

	// Back to 10 at period end: nothing moves until then; then the two
	// lowest in standing (the last to join) wait again.
	if _, err := b.ChangeSeats(context.Background(), store.Actor{Type: "user", Label: "owner@globex.test"}, p.globex, 10); err != nil {
		t.Fatal(err)
	}
	process(t, b)
	settle(t, s, r, p.globex)
	if seats, waiting := seatsAndWaiting(t, s, p.globex); seats != 5 || waiting != 0 {
		t.Fatalf("before period end: %d seats, %d waiting", seats, waiting)
	}
	if err := b.Sim.AdvanceToPeriodEnd(context.Background(), p.globex); err != nil {
		t.Fatal(err)
	}
	process(t, b)
	waitFor("after the seats dropped", 3, 2)
	var moved []string
	if err := s.DB().Select(&moved, `SELECT after->>'email' FROM audit_entry WHERE account_id = $1 AND action = 'seat.wait'
		AND after->>'cause' = 'fewer seats than holders: lowest priority moved to the waiting list' ORDER BY seq`, p.globex); err != nil {
		t.Fatal(err)
	}
	if len(moved) != 2 || moved[0] != "dan@globex.test" || moved[1] != "eve@globex.test" {
		t.Errorf("moved to the waiting list: %v", moved)
	}
	if a := p.idp.get("/Users?count=0").ok(t, http.StatusOK); a.integer(t, "totalResults") != 5 {
		t.Errorf("count=0: %s", a.body)
	}
}
