package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// staleCheck is what a check answers about its freshness.
type staleCheck struct {
	HasAccess bool       `json:"has_access"`
	Used      int64      `json:"used"`
	Stale     bool       `json:"stale"`
	AsOf      *time.Time `json:"as_of"`
}

// TestChecksSurviveADatabaseOutage crashes the instance's PostgreSQL (a
// private cluster, pg_ctl -m immediate stop) under checks: accounts the
// instance holds are answered from their last state, marked stale; keys it
// cannot vouch for are never allowed; nothing answers 500. After a
// restart, answers are fresh again and a change made then is seen.
func TestChecksSurviveADatabaseOutage(t *testing.T) {
	t.Parallel()
	startedAt := time.Now()
	cluster := storetest.NewCluster(t)
	dbURL := cluster.URL("entitle")
	db, err := store.Open(context.Background(), dbURL, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := store.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	s := store.New(db, nil)
	if err := s.ApplyDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Keys made before the instance starts, which loads them all.
	seed := &apiInstance{t: t, store: s}
	globexKey, umbrellaKey, revokedKey := seed.newKey("globex"), seed.newKey("umbrella"), seed.newKey("initech")
	keys, err := s.APIKeys(context.Background(), seed.accountID("initech"))
	if err != nil || len(keys) == 0 {
		t.Fatalf("initech keys: %v", err)
	}
	if err := s.RevokeAPIKey(context.Background(), store.SystemActor("test"), seed.accountID("initech"), keys[0].ID); err != nil {
		t.Fatal(err)
	}
	a := startInstanceAt(t, s, dbURL)
	eventually(t, "the instance is ready for checks", func() bool {
		res, err := http.Get(a.url + "/readyz?scope=checks")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	// A key made after the start, never used: the instance does not hold it.
	freshKey := a.newKey("globex")
	check := func(key string) apiResponse { return a.get("/api/v1/accounts/globex/entitlements/api_calls", key) }
	var before staleCheck
	check(globexKey).json(t, &before)
	if before.Stale || before.AsOf != nil || !before.HasAccess {
		t.Fatalf("before the outage: %+v", before)
	}
	owner := a.portal(t).login("owner@globex.test")

	rate := func() float64 { // checks per second, one client: a figure for the closing note, not an assertion
		const n = 500
		start := time.Now()
		for range n {
			if status := plainStatus(t, a.url+"/api/v1/accounts/globex/entitlements/api_calls", globexKey); status != http.StatusOK {
				t.Fatalf("check: %d", status)
			}
		}
		return n / time.Since(start).Seconds()
	}
	rateBefore := rate()

	cluster.Crash()

	statuses := map[int]int{}
	for i := 0; i < 50; i++ {
		res := check(globexKey)
		statuses[res.status]++
		if res.status != http.StatusOK {
			t.Fatalf("a held account during the outage: %d %s", res.status, res.body)
		}
		var got staleCheck
		res.json(t, &got)
		if !got.HasAccess || got.Used != before.Used {
			t.Fatalf("during the outage the last state was not served: %+v, before %+v", got, before)
		}
		// The listener notices the crash a moment after the first checks.
		if got.Stale {
			if got.AsOf == nil || got.AsOf.Before(startedAt) || got.AsOf.After(time.Now()) || res.header.Get("Entitle-Stale-As-Of") == "" {
				t.Fatalf("a stale answer without its time: %+v %v", got, res.header)
			}
		}
	}
	eventually(t, "checks say they are stale", func() bool {
		var got staleCheck
		check(globexKey).json(t, &got)
		return got.Stale
	})
	umbrella := a.get("/api/v1/accounts/umbrella/entitlements", umbrellaKey)
	var list struct {
		Stale bool `json:"stale"`
	}
	umbrella.json(t, &list)
	if umbrella.status != http.StatusOK || !list.Stale {
		t.Errorf("another held account during the outage: %d %s", umbrella.status, umbrella.body)
	}
	// Never allowed: a revoked key, and what the instance cannot vouch for.
	check(revokedKey).problem(t, http.StatusUnauthorized, "unauthorized")
	for name, key := range map[string]string{"a key the instance never saw": freshKey, "a made-up key": "ent_aaaaaaaa_" + strings.Repeat("x", 43)} {
		res := check(key)
		res.problem(t, http.StatusServiceUnavailable, "unavailable")
		if res.header.Get("Retry-After") == "" {
			t.Errorf("%s: 503 without Retry-After", name)
		}
	}
	usage := a.do(http.MethodPost, "/api/v1/accounts/globex/usage", globexKey, `{"feature":"api_calls","quantity":1}`, "Idempotency-Key", "outage-1")
	usage.problem(t, http.StatusServiceUnavailable, "unavailable")

	// Probes: the database is down, checks can still be answered.
	for path, want := range map[string]int{"/readyz": http.StatusServiceUnavailable, "/readyz?scope=checks": http.StatusOK, "/healthz": http.StatusOK} {
		res, err := http.Get(a.url + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s during the outage: %d, want %d", path, res.StatusCode, want)
		}
	}
	// The portal and Stripe's webhook say "try again", never 500.
	p := a.portal(t)
	res, doc := p.get(owner, "/")
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(text(doc, "error-message"), "cannot reach its database") {
		t.Errorf("portal during the outage: %d %q", res.StatusCode, text(doc, "error-message"))
	}
	res, _ = p.post(newClient(), "/login", url.Values{"email": {"owner@globex.test"}, "password": {store.DemoPassword}})
	if res.StatusCode >= 500 && res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("sign-in during the outage: %d", res.StatusCode)
	}
	hook, err := http.Post(a.url+"/webhooks/stripe", "application/json", strings.NewReader(`{"id":"evt_outage"}`))
	if err != nil {
		t.Fatal(err)
	}
	hook.Body.Close()
	if hook.StatusCode != http.StatusServiceUnavailable && hook.StatusCode != http.StatusBadRequest {
		t.Errorf("stripe webhook during the outage: %d", hook.StatusCode)
	}
	_, missesBefore := a.cache.Stats()
	rateDuring := rate()
	if _, misses := a.cache.Stats(); misses != missesBefore {
		t.Errorf("checks of a held account went to the database during the outage (%d times)", misses-missesBefore)
	}
	if a.cache.StaleAnswers() == 0 {
		t.Error("no stale answer counted for the metric")
	}
	t.Logf("checks during the outage by status: %v; %.0f checks/s before, %.0f during (%.2f×)", statuses, rateBefore, rateDuring, rateDuring/rateBefore)

	cluster.Start()
	eventually(t, "checks are fresh again after the restart", func() bool {
		var got staleCheck
		res := check(globexKey)
		res.json(t, &got)
		return res.status == http.StatusOK && !got.Stale
	})
	if _, err := s.RecordUsage(context.Background(), seed.accountID("globex"),
		store.UsageReport{Feature: "api_calls", Quantity: 7, IdempotencyKey: "after-recovery"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a change made after the recovery shows", func() bool {
		var got staleCheck
		check(globexKey).json(t, &got)
		return got.Used == before.Used+7 && !got.Stale
	})
	res2 := check(freshKey)
	if res2.status != http.StatusOK {
		t.Errorf("a key made before the outage, after the recovery: %d", res2.status)
	}
}

// eventually waits (up to 30 s, a bound for a busy machine) for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
