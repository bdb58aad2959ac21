package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/web"
)

func TestCheckAnswersTheDecisionForTheAccountAndItsUsers(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.newKey("globex", store.ScopeCheck)
	const base = "/api/v1/accounts/globex/entitlements/"

	exports := a.get(base+"exports", key).check(t)
	if exports.HasAccess || exports.Reason != licensing.ReasonNotInPlan || exports.Plan == nil || exports.Plan.Key != "team" ||
		exports.Status == nil || *exports.Status != "active" {
		t.Errorf("exports on team: %+v", exports)
	}
	calls := a.get(base+"api_calls", key).check(t)
	if !calls.HasAccess || *calls.Limit != 50000 || calls.Used != 4200 || *calls.Remaining != 45800 {
		t.Errorf("api_calls: %+v", calls)
	}
	// Globex's first seven members hold seats: alice does, frank does not.
	for user, want := range map[string]licensing.Reason{
		"alice@globex.test": licensing.ReasonOK, "ALICE@GLOBEX.TEST": licensing.ReasonOK,
		"frank@globex.test": licensing.ReasonNoSeat, "nobody@else.test": licensing.ReasonNoSeat,
	} {
		if got := a.get(base+"dashboards?user="+user, key).check(t); got.Reason != want || got.User != user {
			t.Errorf("dashboards for %s: %s (user %q), want %s", user, got.Reason, got.User, want)
		}
	}
	var aliceID int64
	if err := a.store.DB().Get(&aliceID, `SELECT id FROM app_user WHERE email = 'alice@globex.test'`); err != nil {
		t.Fatal(err)
	}
	if got := a.get(base+"dashboards?user="+itoa(aliceID), key).check(t); got.Reason != licensing.ReasonOK {
		t.Errorf("dashboards for alice by user id: %s", got.Reason)
	}

	var all struct {
		Account      string        `json:"account"`
		Entitlements []checkAnswer `json:"entitlements"`
	}
	a.get("/api/v1/accounts/globex/entitlements?user=frank@globex.test", key).json(t, &all)
	var got []string
	for _, e := range all.Entitlements {
		got = append(got, e.Feature+":"+string(e.Reason))
	}
	if all.Account != "globex" || strings.Join(got, " ") != "dashboards:no_seat exports:not_in_plan sso:not_in_plan api_calls:no_seat projects:no_seat desktop_floating:no_seat workstations:no_seat" {
		t.Errorf("all entitlements for frank: %s %v", all.Account, got)
	}
}

func TestEveryAPIErrorIsAProblemDocumentWithItsStatus(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.newKey("globex")
	checkOnly := a.newKey("globex", store.ScopeCheck)
	revoked := a.newKey("globex")
	keys, _ := a.store.APIKeys(context.Background(), a.accountID("globex"))
	if err := a.store.RevokeAPIKey(context.Background(), store.SystemActor("test"), a.accountID("globex"), keys[0].ID); err != nil {
		t.Fatal(err)
	}
	const check = "/api/v1/accounts/globex/entitlements/dashboards"
	usage := func(k, body string, hdr ...string) apiResponse {
		return a.do(http.MethodPost, "/api/v1/accounts/globex/usage", k, body, hdr...)
	}
	tests := []struct {
		name   string
		res    apiResponse
		status int
		kind   string
	}{
		{"no key", a.get(check, ""), 401, "unauthorized"},
		{"wrong key", a.get(check, "ent_aaaaaaaa_not-a-real-key"), 401, "unauthorized"},
		{"revoked key", a.get(check, revoked), 401, "unauthorized"},
		{"key of another account", a.get("/api/v1/accounts/initech/entitlements/dashboards", key), 404, "not-found"},
		{"no such account", a.get("/api/v1/accounts/nope/entitlements/dashboards", key), 404, "not-found"},
		{"unknown feature", a.get("/api/v1/accounts/globex/entitlements/teleport", key), 404, "unknown-feature"},
		{"empty user", a.get(check+"?user=", key), 400, "invalid-request"},
		{"key without the scope", a.get("/api/v1/accounts/globex/license", checkOnly), 403, "insufficient-scope"},
		{"usage without Idempotency-Key", usage(key, `{"feature":"api_calls","quantity":1}`), 400, "invalid-request"},
		{"usage that is not JSON", usage(key, `feature=api_calls`, "Idempotency-Key", "k1"), 400, "invalid-request"},
		{"usage with a typo", usage(key, `{"feature":"api_calls","qty":1}`, "Idempotency-Key", "k2"), 400, "invalid-request"},
		{"usage of nothing", usage(key, `{"feature":"api_calls","quantity":0}`, "Idempotency-Key", "k3"), 400, "invalid-request"},
		{"usage of a boolean feature", usage(key, `{"feature":"dashboards","quantity":1}`, "Idempotency-Key", "k4"), 400, "invalid-request"},
		{"usage of an unknown feature", usage(key, `{"feature":"teleport","quantity":1}`, "Idempotency-Key", "k5"), 404, "unknown-feature"},
		{"usage with a check-only key", usage(checkOnly, `{"feature":"api_calls","quantity":1}`, "Idempotency-Key", "k6"), 403, "insufficient-scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.res.problem(t, tt.status, tt.kind)
		})
	}
	if got := tests[0].res.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
		t.Errorf("401 without WWW-Authenticate: %q", got)
	}
}

func TestTooManyRequestsPerKeyAre429WithRetryAfter(t *testing.T) {
	t.Parallel()
	a := newAPI(t, func(o *web.Options) {
		o.APIRateLimit, o.APIRateBurst = 1, 2
		o.Clock = fixedClock{time.Now()} // the bucket does not refill during the test
	})
	key, other := a.newKey("globex"), a.newKey("globex")
	const check = "/api/v1/accounts/globex/entitlements/dashboards"
	for i := 0; i < 2; i++ {
		a.get(check, key).check(t)
	}
	res := a.get(check, key)
	res.problem(t, http.StatusTooManyRequests, "rate-limited")
	if res.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", res.header.Get("Retry-After"))
	}
	a.get(check, other).check(t) // the limit is per key
}

func TestUsageCountsOncePerIdempotencyKeyAndStopsAtTheLimit(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.newKey("globex")
	report := func(idem string, qty string) apiResponse {
		return a.do(http.MethodPost, "/api/v1/accounts/globex/usage", key, `{"feature":"api_calls","quantity":`+qty+`}`, "Idempotency-Key", idem)
	}
	used := func() int64 { return a.get("/api/v1/accounts/globex/entitlements/api_calls", key).check(t).Used }

	var first, again struct {
		ID       int64              `json:"id"`
		Replayed bool               `json:"replayed"`
		Decision licensing.Decision `json:"decision"`
	}
	res := report("req-1", "300")
	res.json(t, &first)
	if res.status != http.StatusCreated || first.Replayed || first.Decision.Used != 4500 {
		t.Fatalf("first report: %d %s", res.status, res.body)
	}
	res = report("req-1", "300")
	res.json(t, &again)
	if res.status != http.StatusOK || !again.Replayed || again.ID != first.ID || res.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeated report: %d %s", res.status, res.body)
	}
	if got := used(); got != 4500 {
		t.Fatalf("after the same report twice, used = %d, want 4500 (counted once)", got)
	}
	report("req-1", "301").problem(t, http.StatusConflict, "idempotency-key-reused")

	// 45,500 left of 50,000: one more than that is refused whole.
	p := report("req-2", "45501").problem(t, http.StatusConflict, "limit-reached")
	if p.Reason != licensing.ReasonLimitReached || p.Decision == nil || *p.Decision.Remaining != 45500 {
		t.Errorf("refusal: %+v", p)
	}
	if got := used(); got != 4500 {
		t.Fatalf("a refused report was counted: used = %d", got)
	}
	if res := report("req-3", "45500"); res.status != http.StatusCreated {
		t.Fatalf("exactly the rest: %d %s", res.status, res.body)
	}
	if d := a.get("/api/v1/accounts/globex/entitlements/api_calls", key).check(t); d.HasAccess || d.Reason != licensing.ReasonLimitReached {
		t.Errorf("at the limit, check = %+v", d)
	}
	report("req-4", "1").problem(t, http.StatusConflict, "limit-reached")
	// A retry of an event recorded before the limit was reached is still
	// answered as recorded, not refused.
	if res := report("req-3", "45500"); res.status != http.StatusOK {
		t.Errorf("retry of a recorded report at the limit: %d %s", res.status, res.body)
	}

	var n int
	if err := a.store.DB().Get(&n, `SELECT count(*) FROM usage_event WHERE idempotency_key LIKE 'req-%' AND api_key_id IS NOT NULL`); err != nil || n != 2 {
		t.Errorf("usage events recorded: %d (%v), want 2 naming their API key", n, err)
	}
}

func TestUsageIsRefusedWithoutAccess(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.newKey("globex")
	if _, err := a.store.DB().Exec(`UPDATE subscription SET status = 'suspended' WHERE account_id = $1`, a.accountID("globex")); err != nil {
		t.Fatal(err)
	}
	p := a.do(http.MethodPost, "/api/v1/accounts/globex/usage", key, `{"feature":"api_calls","quantity":1}`, "Idempotency-Key", "x").
		problem(t, http.StatusForbidden, "no-access")
	if p.Reason != licensing.ReasonSuspended {
		t.Errorf("reason = %s", p.Reason)
	}
}

func TestUnknownAPIRouteIsAProblemNotAPage(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	for _, path := range []string{"/api/v1/nope", "/api/v1/accounts/globex/nope"} {
		res, err := http.Get(a.url + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" || (res.StatusCode != 404 && res.StatusCode != 401) {
			t.Errorf("%s: %d %s", path, res.StatusCode, ct)
		}
	}
}

func TestEveryAnswerCarriesTheSecureHeadersAndItsOwnRequestID(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.newKey("globex", store.ScopeCheck)
	ids := map[string]bool{}
	for _, path := range []string{"/api/v1/accounts/globex/entitlements/exports", "/api/v1/accounts/globex/entitlements/nope"} {
		for range 2 {
			r := a.get(path, key)
			for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
				"Referrer-Policy": "same-origin", "X-Xss-Protection": "0"} {
				if got := r.header.Values(name); len(got) != 1 || got[0] != want {
					t.Errorf("%s: %s = %q, want %q", path, name, got, want)
				}
			}
			id := r.header.Get("X-Request-Id")
			if len(id) != 32 || ids[id] {
				t.Errorf("%s: request id %q (empty, malformed or repeated)", path, id)
			}
			ids[id] = true
		}
	}
}
