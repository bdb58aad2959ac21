package outbound_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/outbound"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// childDatabaseEnv makes the test binary a bare dispatcher process on that
// database (the process TestKilledMidDeliveryLosesNothing kills).
const childDatabaseEnv = "ENTITLE_TEST_DISPATCHER_DATABASE"

func TestMain(m *testing.M) {
	if url := os.Getenv(childDatabaseEnv); url != "" {
		db, err := store.Open(context.Background(), url, 10*time.Second)
		if err != nil {
			os.Exit(3)
		}
		d := &outbound.Dispatcher{Store: store.New(db, nil), Client: loopback.Client(), Batch: 20, PerEndpoint: 4,
			Interval: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
		d.Run(context.Background()) // until killed
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestKilledMidDeliveryLosesNothing(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := storetest.NewDemo(t, c)
	r := newReceiver(t)
	r.delay.Store(int64(2 * time.Millisecond))
	ep := newEndpoint(t, s, r, store.EventSeatAssigned, store.EventSeatUnassigned)
	g := demoGlobex(t, s)
	g.churn(t, s, 60) // 120 events

	var dbName string
	if err := s.DB().Get(&dbName, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childDatabaseEnv+"="+storetest.ServerURL(dbName))
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); r.count() < 20; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			_ = child.Process.Kill()
			t.Fatalf("the dispatcher process delivered only %d events in 30 s", r.count())
		}
	}
	if err := child.Process.Kill(); err != nil { // SIGKILL: no outcome of the requests in flight is recorded
		t.Fatal(err)
	}
	_ = child.Wait()
	killedAt := r.count()
	if killedAt >= 120 {
		t.Fatalf("the process delivered everything (%d) before it was killed; slow the receiver down", killedAt)
	}

	// Another instance takes over once the dead one's leases run out.
	d := dispatcher(s, loopback)
	c.Advance(store.WebhookLease + time.Minute)
	drain(t, d)
	var ids []string
	if err := s.DB().Select(&ids, `SELECT e.message_id FROM webhook_delivery d JOIN webhook_event e ON e.id = d.event_id
		WHERE d.endpoint_id = $1`, ep.ID); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 120 || r.count() != 120 {
		t.Fatalf("%d events to deliver, %d received (killed after %d)", len(ids), r.count(), killedAt)
	}
	for _, id := range ids {
		if _, ok := r.got[id]; !ok {
			t.Fatalf("event %s was lost", id)
		}
	}
	t.Logf("killed after %d events; %d duplicates, each recognised by its webhook-id", killedAt, r.dupes)
}
