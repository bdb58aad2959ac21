package outbound_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/outbound"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

func TestReceiverGetsEverySeatChangeSignedInOrder(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil) // the wall clock: the receiver checks timestamps too
	r := newReceiver(t)
	r.strict = true
	newEndpoint(t, s, r)
	g := demoGlobex(t, s)
	g.churn(t, s, 5)
	d := dispatcher(s, loopback)
	drain(t, d)

	got := r.events()
	var seats, entitlements int
	for _, p := range got {
		switch p.Type {
		case store.EventSeatAssigned, store.EventSeatUnassigned:
			seats++
			if p.Account == nil || p.Account.Slug != "globex" {
				t.Errorf("seat event names account %+v", p.Account)
			}
		case store.EventEntitlementsChanged:
			entitlements++
		}
	}
	if seats != 10 || entitlements < 1 || r.badSigs != 0 {
		t.Fatalf("received %d seat events and %d entitlements.changed (bad signatures %d), want 10 and at least 1: %v",
			seats, entitlements, r.badSigs, types(got))
	}
	// The receiver orders by sequence: an account's numbers follow each
	// other without a gap, and the seat events alternate as they happened.
	for i := 1; i < len(got); i++ {
		if accountOf(got[i]) == accountOf(got[i-1]) && got[i].Sequence != got[i-1].Sequence+1 {
			t.Fatalf("sequence jumps from %d to %d: %v", got[i-1].Sequence, got[i].Sequence, types(got))
		}
	}
	var seatOrder []string
	for _, p := range got {
		if strings.HasPrefix(p.Type, "seat.") {
			seatOrder = append(seatOrder, p.Type)
		}
	}
	for i, typ := range seatOrder {
		want := store.EventSeatUnassigned
		if i%2 == 1 {
			want = store.EventSeatAssigned
		}
		if typ != want {
			t.Fatalf("by sequence the seat events are %v, want unassigned/assigned pairs", seatOrder)
		}
	}

	// Replaying a delivery sends the same webhook-id: the receiver sees a
	// duplicate and keeps one.
	deliveries, err := s.WebhookDeliveries(context.Background(), 1, "", 100)
	if err != nil || len(deliveries) == 0 {
		t.Fatalf("delivery log: %v %v", deliveries, err)
	}
	if err := s.ReplayWebhookDelivery(context.Background(), store.SystemActor("test"), 1, deliveries[0].ID); err != nil {
		t.Fatal(err)
	}
	drain(t, d)
	if r.dupes != 1 || r.count() != len(got) {
		t.Fatalf("after a replay: %d duplicates and %d distinct events, want 1 and %d", r.dupes, r.count(), len(got))
	}
}

func types(ps []store.WebhookPayload) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Type+"#"+itoa(p.Sequence))
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestReceiverDownThenUpGetsEverythingAfterBackoff(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := storetest.NewDemo(t, c)
	r := newReceiver(t)
	ep := newEndpoint(t, s, r, store.EventSeatAssigned, store.EventSeatUnassigned)
	g := demoGlobex(t, s)
	d := dispatcher(s, loopback)
	ctx := context.Background()

	r.down.Store(true)
	g.churn(t, s, 3)
	drain(t, d)
	hits := r.hits.Load()
	if hits == 0 || r.count() != 0 {
		t.Fatalf("while down: %d requests, %d accepted", hits, r.count())
	}
	// The first failure defers the endpoint's other deliveries: one
	// request, not six, against a receiver that is down.
	if hits != 1 {
		t.Errorf("%d requests to a receiver that is down, want 1 per round", hits)
	}
	// Backoff: nothing is due again before 5 s, then 15 s after that.
	for _, step := range []struct {
		wait time.Duration
		more bool
	}{{4 * time.Second, false}, {time.Second, true}, {14 * time.Second, false}, {time.Second, true}} {
		c.Advance(step.wait)
		before := r.hits.Load()
		drain(t, d)
		if tried := r.hits.Load() > before; tried != step.more {
			t.Fatalf("after another %v: tried=%v, want %v", step.wait, tried, step.more)
		}
	}
	log, _ := s.WebhookDeliveries(ctx, ep.ID, "pending", 100)
	if len(log) != 6 || !log[len(log)-1].StatusCode.Valid || log[len(log)-1].StatusCode.Int64 != 503 {
		t.Fatalf("pending deliveries: %+v", log)
	}

	r.down.Store(false)
	c.Advance(45 * time.Second)
	drain(t, d)
	if r.count() != 6 || r.badSigs != 0 {
		t.Fatalf("after the receiver came back: %d events, %d bad signatures, want 6 and 0", r.count(), r.badSigs)
	}
	if left, _ := s.WebhookDeliveries(ctx, ep.ID, "pending", 100); len(left) != 0 {
		t.Fatalf("%d deliveries still pending", len(left))
	}
}

func TestEndpointFailingForThreeDaysIsDisabledAndOperatorsMailed(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := storetest.NewDemo(t, c)
	r := newReceiver(t)
	r.down.Store(true)
	ep := newEndpoint(t, s, r, store.EventSeatAssigned)
	g := demoGlobex(t, s)
	d := dispatcher(s, loopback)
	ctx := context.Background()
	c.Advance(time.Second) // after the demo data's own events
	start := c.Now()
	g.churn(t, s, 1)
	for elapsed := time.Duration(0); elapsed <= 73*time.Hour; elapsed += time.Hour {
		drain(t, d)
		c.Advance(time.Hour)
	}
	drain(t, d)
	got, err := s.WebhookEndpoint(ctx, ep.ID)
	if err != nil || got.Enabled || got.DisabledReason == "" {
		t.Fatalf("endpoint after 3 days of failures: enabled=%v reason=%q %v", got.Enabled, got.DisabledReason, err)
	}
	failed, _ := s.WebhookDeliveries(ctx, ep.ID, "failed", 10)
	if len(failed) != 1 || failed[0].Attempts < 5 {
		t.Fatalf("the delivery was not given up after retrying: %+v", failed)
	}
	mails, _ := s.Outbox(ctx, 50)
	var to []string
	for _, m := range mails {
		if m.Kind == "webhook_endpoint_disabled" {
			to = append(to, m.To)
			if !strings.Contains(m.Body, r.srv.URL) || !strings.Contains(m.Body, "/admin/webhooks/") {
				t.Errorf("the mail does not say which endpoint and where to fix it:\n%s", m.Body)
			}
		}
	}
	if !contains(to, "ops@acme.test") || contains(to, "support@acme.test") {
		t.Fatalf("disabled-endpoint mail went to %v, want the operators (ops@acme.test), not support", to)
	}

	// Enabled again, replaying what it missed brings it up to date.
	r.down.Store(false)
	if err := s.SetWebhookEndpointEnabled(ctx, store.SystemActor("test"), ep.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	n, err := s.ReplayWebhooksSince(ctx, store.SystemActor("test"), ep.ID, start)
	if err != nil || n != 1 {
		t.Fatalf("replay since: %d queued, %v", n, err)
	}
	drain(t, d)
	if r.count() != 1 {
		t.Fatalf("after replay the receiver has %d events, want 1", r.count())
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestPrivateAddressesAreRefusedUnlessAllowed(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	r := newReceiver(t) // on 127.0.0.1
	ep := newEndpoint(t, s, r, store.EventSeatAssigned)
	g := demoGlobex(t, s)
	g.churn(t, s, 1)
	ctx := context.Background()

	drain(t, dispatcher(s, outbound.Guard{AllowHTTP: true}))
	if r.hits.Load() != 0 {
		t.Fatal("the dispatcher reached a loopback receiver without being allowed to")
	}
	log, _ := s.WebhookDeliveries(ctx, ep.ID, "", 10)
	if len(log) != 1 || log[0].Status != "pending" || !strings.Contains(log[0].Error.String, "address refused") {
		t.Fatalf("delivery log: %+v", log)
	}

	// A name resolving to loopback is refused at dial time too.
	w := store.DueWebhook{DeliveryID: 1, MessageID: "msg_x", Payload: []byte(`{}`), Secret: ep.Secret,
		URL: strings.Replace(r.srv.URL, "127.0.0.1", "localhost", 1)}
	o := dispatcher(s, outbound.Guard{AllowHTTP: true}).Send(ctx, w)
	if o.OK() || !strings.Contains(o.Err, "address refused") || r.hits.Load() != 0 {
		t.Fatalf("localhost: %+v", o)
	}

	// Allowed explicitly, the same delivery goes through.
	s2 := dispatcher(s, loopback)
	for _, on := range []bool{false, true} { // enabling makes its pending deliveries due at once
		if err := s.SetWebhookEndpointEnabled(ctx, store.SystemActor("test"), ep.ID, on, "test"); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, s2)
	if r.count() != 1 {
		t.Fatalf("allowed: %d events", r.count())
	}
}

func TestGuardRefusesInternalAddressesAndPlainHTTP(t *testing.T) {
	t.Parallel()
	strict := outbound.Guard{}
	for url, ok := range map[string]bool{
		"https://hooks.example.com/entitle":   true,
		"http://hooks.example.com/entitle":    false,
		"https://127.0.0.1/x":                 false,
		"https://10.1.2.3/x":                  false,
		"https://169.254.169.254/latest":      false,
		"https://[::1]/x":                     false,
		"https://[fd00::1]/x":                 false,
		"https://100.64.0.1/x":                false,
		"https://localhost:8443/x":            false,
		"ftp://hooks.example.com/":            false,
		"https://93.184.216.34/hooks":         true,
		"https://[2606:2800:220:1::248]/hook": true,
	} {
		if msg := strict.CheckURL(url); (msg == "") != ok {
			t.Errorf("%s: %q, want allowed=%v", url, msg, ok)
		}
	}
	dev := outbound.Guard{AllowInsecure: true}
	if msg := dev.CheckURL("http://127.0.0.1:9000/hooks"); msg != "" {
		t.Errorf("WEBHOOKS_ALLOW_INSECURE still refuses a local http receiver: %s", msg)
	}
	private := outbound.Guard{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	if !private.Allowed(netip.MustParseAddr("10.9.8.7")) || private.Allowed(netip.MustParseAddr("192.168.1.1")) {
		t.Error("an allowed network is not exactly what is allowed")
	}
}

func TestRedirectsAreNotFollowedAndAnswersAreCut(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	r := newReceiver(t)
	ep := newEndpoint(t, s, r)
	mux := http.NewServeMux()
	mux.HandleFunc("/moved", func(w http.ResponseWriter, req *http.Request) { http.Redirect(w, req, "/hooks", http.StatusFound) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, req *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(strings.Repeat("x", 1<<20)))
	})
	other := newReceiver(t)
	other.srv.Config.Handler = mux
	d := dispatcher(s, loopback)
	w := store.DueWebhook{DeliveryID: 1, MessageID: "msg_y", Payload: []byte(`{}`), Secret: ep.Secret}
	w.URL = other.srv.URL + "/moved"
	if o := d.Send(context.Background(), w); o.OK() || o.StatusCode != http.StatusFound || r.hits.Load() != 0 {
		t.Errorf("redirect: %+v (receiver hits %d)", o, r.hits.Load())
	}
	w.URL = other.srv.URL + "/big"
	if o := d.Send(context.Background(), w); o.OK() || len(o.Response) > 512 {
		t.Errorf("large answer kept %d bytes", len(o.Response))
	}
}

func TestRotatedSecretKeepsSigningFor24Hours(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := storetest.NewDemo(t, c)
	r := newReceiver(t)
	ep := newEndpoint(t, s, r, store.EventSeatAssigned)
	old := ep.Secret
	g := demoGlobex(t, s)
	d := dispatcher(s, loopback)
	ctx := context.Background()

	fresh, err := s.RotateWebhookSecret(ctx, store.SystemActor("test"), ep.ID)
	if err != nil || fresh == old {
		t.Fatal(err)
	}
	// Receivers still on the old secret and those already on the new one
	// both verify during the overlap.
	for _, secret := range []string{old, fresh} {
		r.secret.Store(&secret)
		g.churn(t, s, 1)
		drain(t, d)
	}
	if r.count() != 2 || r.badSigs != 0 {
		t.Fatalf("during the overlap: %d events, %d bad signatures", r.count(), r.badSigs)
	}
	c.Advance(store.WebhookSecretOverlap + time.Minute)
	r.secret.Store(&old)
	g.churn(t, s, 1)
	drain(t, d)
	if r.badSigs != 1 {
		t.Fatalf("a day after rotation the old secret still verifies (bad signatures %d)", r.badSigs)
	}
}

func TestTestEventGoesToOneEndpoint(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	a, b := newReceiver(t), newReceiver(t)
	ep := newEndpoint(t, s, a, store.EventSeatAssigned)
	newEndpoint(t, s, b, store.EventSeatAssigned)
	if err := s.SendTestWebhook(context.Background(), store.SystemActor("test"), ep.ID); err != nil {
		t.Fatal(err)
	}
	drain(t, dispatcher(s, loopback))
	if a.count() != 1 || b.count() != 0 || a.events()[0].Type != store.EventWebhookTest {
		t.Fatalf("test event: first endpoint %d, second %d", a.count(), b.count())
	}
	if err := s.SendTestWebhook(context.Background(), store.SystemActor("test"), 999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("test event for no endpoint: %v", err)
	}
}

var _ licensing.Clock = (*storetest.Clock)(nil)
