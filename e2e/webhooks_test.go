package e2e

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/entitle-dev/entitle/outbound"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// hookReceiver is the vendor's CRM: it verifies each request with the
// secret the operator copied from the console.
type hookReceiver struct {
	mu     sync.Mutex
	secret string
	ids    []string // webhook-id of every verified request, in arrival order
	types  []string
	bad    int
}

func (r *hookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	wh, err := standardwebhooks.NewWebhook(r.secret)
	if err != nil || wh.Verify(body, req.Header) != nil {
		r.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &p)
	r.ids = append(r.ids, req.Header.Get("webhook-id"))
	r.types = append(r.types, p.Type)
	w.WriteHeader(http.StatusNoContent)
}

func (r *hookReceiver) got() (ids, types []string, bad int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...), append([]string(nil), r.types...), r.bad
}

func TestOperatorSeesASeatAssignedInAnotherTabDeliveredAndReplaysIt(t *testing.T) {
	t.Parallel()
	st := storetest.NewDemo(t, nil)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	guard := outbound.Guard{AllowInsecure: true} // the receiver is on loopback, over http
	srv := httptest.NewServer(web.New(web.Options{Store: st, Logger: logger, Webhooks: guard,
		SessionSecret: []byte("e2e-secret-e2e-secret-e2e-secret!!")}))
	t.Cleanup(srv.Close)
	recv := &hookReceiver{}
	crm := httptest.NewServer(recv)
	t.Cleanup(crm.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&outbound.Dispatcher{Store: st, Client: guard.Client(), Logger: logger, Interval: 200 * time.Millisecond}).Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })

	ops := open(t, srv.URL, st, desktopWidth)
	ops.staffLogin("ops@acme.test")
	ops.run(
		chromedp.Navigate(ops.base+"/admin/webhooks"),
		waitVisible(tid("webhook-form")),
		typeInto(tid("webhook-url"), crm.URL+"/entitle"),
		typeInto(tid("webhook-description"), "CRM sync"),
		press(tid("webhook-type-seat.assigned")),
		press(tid("webhook-create")),
		waitVisible(tid("webhook-secret")),
	)
	secret := ops.textOf("webhook-secret")
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret shown: %q", secret)
	}
	recv.mu.Lock()
	recv.secret = secret
	recv.mu.Unlock()
	ops.screenshot("endpoint-created")

	// The customer assigns a seat in another tab.
	owner := ops.as()
	owner.signIn("owner@globex.test")
	owner.run(
		chromedp.Navigate(owner.base+"/seats"),
		waitVisible(tid("assign-form")),
		typeInto(tid("assign-email"), "frank@globex.test"),
		press(tid("assign-submit")),
		waitVisible(tid("seat-results")),
	)

	// The operator sees the delivery in the log.
	ops.run(press(tid("webhook-endpoint-link")), waitVisible(tid("webhook-deliveries")))
	delivered := `document.querySelector('[data-testid="webhook-delivery"][data-type="seat.assigned"][data-status="delivered"]') !== null`
	ops.untilAfterReload(delivered)
	if got := ops.textOf("webhook-delivery-code"); got != "204" {
		t.Errorf("logged status code %q, want 204", got)
	}
	ids, types, bad := recv.got()
	if len(ids) != 1 || types[0] != "seat.assigned" || bad != 0 {
		t.Fatalf("the CRM received %v %v (bad signatures %d)", ids, types, bad)
	}
	ops.screenshot("delivered")

	// Replay: the same event again, with the same webhook-id.
	ops.run(press(tid("webhook-delivery-replay")), waitVisible(tid("flash")))
	ops.untilAfterReload(`document.querySelector('[data-testid="webhook-delivery-attempts"]')?.textContent === "2"`)
	ids, _, _ = recv.got()
	if len(ids) != 2 || ids[0] != ids[1] {
		t.Fatalf("after replay the CRM has %v, want the same webhook-id twice", ids)
	}
	ops.screenshot("replayed")
}

// untilAfterReload reloads the page until a condition holds (the delivery
// log is a plain page, not a live one), for up to 30 seconds.
func (s *session) untilAfterReload(condition string) {
	s.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		ok := get(s, chromedp.Evaluate[bool](condition))
		if ok {
			return
		}
		if time.Now().After(deadline) {
			s.screenshot("timeout")
			s.t.Fatalf("still not true after 30 s: %s", condition)
		}
		time.Sleep(300 * time.Millisecond)
		s.run(chromedp.Reload(), waitVisible(tid("webhook-deliveries")))
	}
}
