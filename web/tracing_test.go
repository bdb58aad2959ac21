package web_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/tracing"
	"github.com/entitle-dev/entitle/web"
)

// TestOneTraceFollowsABillingActionToTheCheckCache: with tracing on, an
// owner's upgrade in the portal, the provider call, the webhook it causes,
// the worker's apply, and every instance's check cache refresh on hearing
// the change are spans of one trace, and the request's log line names it.
func TestOneTraceFollowsABillingActionToTheCheckCache(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tracing.Install(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { tracing.Install(noop.NewTracerProvider()) }) // off again for the other tests
	logs := &syncWriter{w: &bytes.Buffer{}}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	var b *billing.Billing
	a := newAPI(t, func(o *web.Options) {
		var err error
		b, err = billing.New(o.Store, nil, logger, billing.Config{PublicURL: "http://portal.test"})
		if err != nil {
			t.Fatal(err)
		}
		o.Billing, o.Tracing, o.Logger = b, true, logger
	})
	other := secondInstance(t, a) // hears the change through NOTIFY only
	key := a.newKey("globex", store.ScopeCheck)
	p := a.portal(t)
	owner := p.login("owner@globex.test")
	_, page := p.get(owner, "/billing")
	if res, _ := p.htmx(owner, http.MethodPost, "/billing/change", csrfToken(page), url.Values{"plan": {"business"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("upgrade: %d", res.StatusCode)
	}
	if _, err := b.Worker.ProcessPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the other instance shows the upgrade", func() bool {
		var c checkAnswer
		other.get("/api/v1/accounts/globex/entitlements/exports", key).json(t, &c)
		return c.HasAccess
	})
	var action sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "POST /billing/change" {
			action = s
		}
	}
	if action == nil {
		t.Fatal("no span for the portal's billing action")
	}
	traceID := action.SpanContext().TraceID()
	want := map[string]int{"billing.change_plan": 0, "stripe.webhook.receive": 0, "billing.apply": 0, "checks.cache.refresh": 0}
	eventually(t, "every step of the action is in its trace", func() bool {
		for name := range want {
			want[name] = 0
		}
		for _, s := range rec.Ended() {
			if _, ok := want[s.Name()]; ok && s.SpanContext().TraceID() == traceID {
				want[s.Name()]++
			}
		}
		// Both instances' caches refresh in the same trace.
		return want["billing.change_plan"] == 1 && want["stripe.webhook.receive"] >= 1 && want["billing.apply"] >= 1 &&
			want["checks.cache.refresh"] >= 2
	})
	if !strings.Contains(logs.String(), "trace_id="+traceID.String()) {
		t.Errorf("the request's log line does not name trace %s", traceID)
	}
}

// syncWriter serialises writes from the server's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
