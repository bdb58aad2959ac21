package entitle_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/sdk/entitle"
)

// flakyProxy stands between the SDK and the server: it passes requests
// on, or drops the connection (the server is unreachable), or passes the
// request on and loses the answer (the server counted it, the SDK cannot
// know).
type flakyProxy struct {
	mode atomic.Int32
	srv  *httptest.Server

	mu      sync.Mutex
	streams []context.CancelFunc // the open change streams, to cut them
	resumed []string             // the Last-Event-ID of every stream request
	// fetchedInStream counts the signed states served in full while a
	// stream was open: the client's fetches after a change it was told of.
	fetchedInStream int
}

// cutStreams ends every open change stream, as a dropped connection would.
func (p *flakyProxy) cutStreams() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cancel := range p.streams {
		cancel()
	}
	p.streams = nil
}

func (p *flakyProxy) statesFetchedInStream() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fetchedInStream
}

func (p *flakyProxy) lastEventIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.resumed...)
}

const (
	pass int32 = iota
	unreachable
	answerLost
)

func newFlakyProxy(t *testing.T, target string) *flakyProxy {
	t.Helper()
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &flakyProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p.mode.Load() {
		case unreachable:
			hijackAndClose(w)
		case answerLost:
			rp.ServeHTTP(httptest.NewRecorder(), r)
			hijackAndClose(w)
		default:
			if strings.HasSuffix(r.URL.Path, "/stream") {
				ctx, cancel := context.WithCancel(r.Context())
				p.mu.Lock()
				p.streams = append(p.streams, cancel)
				p.resumed = append(p.resumed, r.Header.Get("Last-Event-ID"))
				p.mu.Unlock()
				r = r.WithContext(ctx)
			}
			rp.ServeHTTP(w, r)
			if strings.HasSuffix(r.URL.Path, "/license") {
				p.mu.Lock()
				if len(p.streams) > 0 {
					p.fetchedInStream++
				}
				p.mu.Unlock()
			}
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func hijackAndClose(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	}
}

// usageOnServer is what the server holds of the SDK's batches.
func (sv *server) usageOnServer(t *testing.T) int64 {
	t.Helper()
	var n int64
	if err := sv.store.DB().Get(&n, `SELECT coalesce(sum(quantity), 0) FROM usage_event WHERE idempotency_key LIKE 'sdk-%'`); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReportedUsageReachesTheServerExactlyOnceThroughLostAnswersAndOutages(t *testing.T) {
	t.Parallel()
	sv := newServer(t, nil)
	proxy := newFlakyProxy(t, sv.srv.URL)
	ctx := context.Background()
	// Flushes happen when the test says (the background flush is an hour
	// away), so every step's outcome is known.
	c, err := entitle.New(entitle.Config{BaseURL: proxy.srv.URL, APIKey: sv.key, Account: "globex", Keys: sv.keys,
		UsageFlushEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	report := func(goroutines, each int) {
		var wg sync.WaitGroup
		for range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					if err := c.ReportUsage("api_calls", 1); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
	}

	report(10, 50)
	if got := sv.usageOnServer(t); got != 0 {
		t.Fatalf("usage sent before a flush: %d", got)
	}
	// The server counts the batch but its answer is lost: the retry with
	// the same key counts nothing twice.
	proxy.mode.Store(answerLost)
	if err := c.Flush(ctx); err == nil {
		t.Fatal("a flush whose answer was lost succeeded")
	}
	if got, unsent := sv.usageOnServer(t), c.Unsent(); got != 500 || unsent != 500 {
		t.Fatalf("after the lost answer: server %d, unsent %d", got, unsent)
	}
	proxy.mode.Store(pass)
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, unsent := sv.usageOnServer(t), c.Unsent(); got != 500 || unsent != 0 {
		t.Fatalf("after the retried flush: server %d, unsent %d", got, unsent)
	}

	// The server is unreachable: the batch is kept, not dropped, and new
	// reports add up beside it.
	proxy.mode.Store(unreachable)
	report(6, 50)
	if err := c.Flush(ctx); err == nil {
		t.Fatal("a flush to an unreachable server succeeded")
	}
	report(4, 50)
	if got, unsent := sv.usageOnServer(t), c.Unsent(); got != 500 || unsent != 500 {
		t.Fatalf("while unreachable: server %d, unsent %d", got, unsent)
	}
	if err := c.Close(ctx); err == nil || !strings.Contains(err.Error(), "500 units") {
		t.Fatalf("Close while unreachable: %v", err)
	}
	if err := c.ReportUsage("api_calls", 1); err != entitle.ErrClosed {
		t.Fatalf("a report after Close: %v", err)
	}
	proxy.mode.Store(pass)
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close once the server is back: %v", err)
	}
	if got, unsent := sv.usageOnServer(t), c.Unsent(); got != 1000 || unsent != 0 {
		t.Fatalf("in the end: server %d, unsent %d, want 1000 and 0", got, unsent)
	}

	// Unflushed usage goes out on its own every UsageFlushEvery, and a
	// batch the server refuses for good is reported, not retried.
	var refused atomic.Int64
	bg, err := entitle.New(entitle.Config{BaseURL: sv.srv.URL, APIKey: sv.key, Account: "globex", Keys: sv.keys,
		UsageFlushEvery: 10 * time.Millisecond,
		OnUsageRefused:  func(_ string, q int64, _ error) { refused.Add(q) }})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		_ = bg.ReportUsage("api_calls", 1)
	}
	_ = bg.ReportUsage("no_such_feature", 7)
	for deadline := time.Now().Add(10 * time.Second); sv.usageOnServer(t) != 1100 || refused.Load() != 7; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the background flush: server %d, refused %d", sv.usageOnServer(t), refused.Load())
		}
	}
	if err := bg.Close(ctx); err != nil || bg.Unsent() != 0 {
		t.Fatalf("Close: %v, %d unsent", err, bg.Unsent())
	}
}
