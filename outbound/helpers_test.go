package outbound_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/entitle-dev/entitle/outbound"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// newClock is a clock the test moves, standing at this second.
func newClock() *storetest.Clock { return storetest.NewClock(time.Now().UTC().Truncate(time.Second)) }

// receiver is the vendor's side: a real HTTP server that verifies every
// signature with the Standard Webhooks library, de-duplicates by
// webhook-id, and keeps what it accepted.
type receiver struct {
	t       testing.TB
	srv     *httptest.Server
	secret  atomic.Pointer[string]
	down    atomic.Bool   // answer 503
	hold    chan struct{} // when set, each request waits on it
	delay   atomic.Int64  // nanoseconds each request takes
	strict  bool          // verify the timestamp against the wall clock too
	mu      sync.Mutex
	got     map[string]store.WebhookPayload // by webhook-id
	order   []string                        // ids in the order first seen
	dupes   int
	badSigs int
	hits    atomic.Int64
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t, got: map[string]store.WebhookPayload{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.hits.Add(1)
	body, _ := io.ReadAll(req.Body)
	if d := r.delay.Load(); d > 0 {
		time.Sleep(time.Duration(d))
	}
	if r.down.Load() {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	wh, err := standardwebhooks.NewWebhook(*r.secret.Load())
	if err != nil {
		r.t.Errorf("receiver secret: %v", err)
		return
	}
	verify := wh.VerifyIgnoringTimestamp // the tests' clock moves; the strict receiver checks it too
	if r.strict {
		verify = wh.Verify
	}
	if err := verify(body, req.Header); err != nil {
		r.mu.Lock()
		r.badSigs++
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p store.WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		r.t.Errorf("payload is not JSON: %v", err)
		return
	}
	id := req.Header.Get(standardwebhooks.HeaderWebhookID)
	if id != p.ID {
		r.t.Errorf("webhook-id %q but payload id %q", id, p.ID)
	}
	r.mu.Lock()
	if _, seen := r.got[id]; seen {
		r.dupes++
	} else {
		r.got[id] = p
		r.order = append(r.order, id)
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// events are the distinct events received, ordered per account by
// sequence as a receiver would order them.
func (r *receiver) events() []store.WebhookPayload {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]store.WebhookPayload, 0, len(r.got))
	for _, id := range r.order {
		out = append(out, r.got[id])
	}
	sort.SliceStable(out, func(i, j int) bool {
		ai, aj := accountOf(out[i]), accountOf(out[j])
		if ai != aj {
			return ai < aj
		}
		return out[i].Sequence < out[j].Sequence
	})
	return out
}

func accountOf(p store.WebhookPayload) int64 {
	if p.Account == nil {
		return 0
	}
	return p.Account.ID
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// loopback lets the dispatcher reach the test's receiver on 127.0.0.1.
var loopback = outbound.Guard{AllowHTTP: true, AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}

func dispatcher(s *store.Store, g outbound.Guard) *outbound.Dispatcher {
	return &outbound.Dispatcher{Store: s, Client: g.Client(), Logger: slog.New(slog.DiscardHandler), ConsoleURL: "http://console.test"}
}

// drain runs rounds until nothing due is left (at the clock's time).
func drain(t testing.TB, d *outbound.Dispatcher) {
	t.Helper()
	for i := 0; i < 100; i++ {
		n, err := d.DeliverOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("deliveries never ran out")
}

// globex is the demo account Globex: its owner and its seat pool.
type globex struct {
	owner   store.Principal
	subID   int64
	holders []int64 // membership ids holding a seat
}

func demoGlobex(t testing.TB, s *store.Store) globex {
	t.Helper()
	var g globex
	db := s.DB()
	if err := db.QueryRow(`SELECT m.account_id, m.id, u.id, u.email FROM membership m JOIN app_user u ON u.id = m.user_id
		WHERE u.email = 'owner@globex.test'`).Scan(&g.owner.AccountID, &g.owner.MembershipID, &g.owner.UserID, &g.owner.Email); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(&g.subID, `SELECT id FROM subscription WHERE account_id = $1`, g.owner.AccountID); err != nil {
		t.Fatal(err)
	}
	if err := db.Select(&g.holders, `SELECT membership_id FROM seat_assignment WHERE subscription_id = $1 ORDER BY membership_id`, g.subID); err != nil {
		t.Fatal(err)
	}
	return g
}

// churn unassigns and reassigns a seat n times: 2n seat events.
func (g globex) churn(t testing.TB, s *store.Store, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		m := []int64{g.holders[i%len(g.holders)]}
		if _, err := s.UnassignSeats(ctx, g.owner, g.subID, m); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AssignSeats(ctx, g.owner, g.subID, m); err != nil {
			t.Fatal(err)
		}
	}
}

func newEndpoint(t testing.TB, s *store.Store, r *receiver, types ...string) store.WebhookEndpoint {
	t.Helper()
	ep, err := s.CreateWebhookEndpoint(context.Background(), store.SystemActor("test"),
		store.WebhookEndpointInput{URL: r.srv.URL + "/hooks", Description: "test receiver", EventTypes: types})
	if err != nil {
		t.Fatal(err)
	}
	r.secret.Store(&ep.Secret)
	return ep
}
