package web_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/web"
)

// TestAnAnsweredCheckIsLoggedAtDebugAndEverythingElseAtInfo: at the
// default level an operator's log has a line for every request but the
// entitlement checks that were answered (the metrics count those); a
// refused check has its line, and at debug the answered ones do too.
func TestAnAnsweredCheckIsLoggedAtDebugAndEverythingElseAtInfo(t *testing.T) {
	t.Parallel()
	logs := &syncWriter{w: &bytes.Buffer{}}
	level := new(slog.LevelVar) // info
	a := newAPI(t, func(o *web.Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: level}))
	})
	key := a.newKey("globex", store.ScopeCheck)
	const base = "/api/v1/accounts/globex/entitlements"
	lineOf := func(r apiResponse) string {
		t.Helper()
		id := r.header.Get("X-Request-Id")
		for line := range strings.Lines(logs.String()) {
			if strings.Contains(line, "msg=request ") && strings.Contains(line, "request_id="+id) {
				return line
			}
		}
		return ""
	}

	answered := a.get(base+"/exports", key)
	all := a.get(base, key)
	if answered.status != http.StatusOK || all.status != http.StatusOK {
		t.Fatalf("checks: %d, %d", answered.status, all.status)
	}
	if line := lineOf(answered) + lineOf(all); line != "" {
		t.Errorf("answered checks logged at info: %s", line)
	}
	refused := a.get(base+"/exports", "")
	unknown := a.get(base+"/nope", key)
	other := a.get("/api/v1/openapi.json", "")
	for _, r := range []apiResponse{refused, unknown, other} {
		if lineOf(r) == "" {
			t.Errorf("no log line for a %d answer: %s", r.status, logs.String())
		}
	}
	if line := lineOf(unknown); !strings.Contains(line, "status=404") || !strings.Contains(line, "route=/api/v1/accounts/:account/entitlements/:feature") {
		t.Errorf("refused check's line: %s", line)
	}

	level.Set(slog.LevelDebug)
	debugged := a.get(base+"/exports", key)
	if line := lineOf(debugged); !strings.Contains(line, "level=DEBUG") || !strings.Contains(line, "status=200") {
		t.Errorf("an answered check at debug: %q", line)
	}
}

// TestARequestWhoseClientLeftIsCountedAs499AndNotAsAnError: a client that
// stops waiting (a closed tab, a search typed over, a proxy's timeout)
// cancels its request, and every query under way fails. That is logged as
// the request's one line with status 499, as proxies log it, not as a
// server error with an error page nobody reads.
func TestARequestWhoseClientLeftIsCountedAs499AndNotAsAnError(t *testing.T) {
	t.Parallel()
	logs := &syncWriter{w: &bytes.Buffer{}}
	p := newPortalLogging(t, slog.New(slog.NewTextHandler(logs, nil)))
	c := p.login("owner@globex.test")

	left, leave := context.WithCancel(context.Background())
	leave()
	req := httptest.NewRequestWithContext(left, http.MethodGet, "/members", nil)
	u, _ := url.Parse(p.srv.URL)
	for _, cookie := range c.Jar.Cookies(u) {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	p.srv.Config.Handler.ServeHTTP(rec, req)

	if rec.Body.Len() != 0 {
		t.Errorf("an answer was written for a client that left: %d %q", rec.Code, rec.Body.String())
	}
	var line string
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
			t.Errorf("logged as a failure: %s", l)
		}
		if strings.Contains(l, "msg=request ") && strings.Contains(l, "route=/members") {
			line = l
		}
	}
	if !strings.Contains(line, "status=499") {
		t.Errorf("the request's line: %q, want status=499", line)
	}
}
