package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// waitForChange polls each instance's check, concurrently, until seen
// accepts the answer, and tells for each whether it did before the test
// binary's deadline, so that a lost notification fails rather than hangs.
// How fast changes show is a `make bench` figure, not asserted here.
func waitForChange(t *testing.T, instances []*apiInstance, keys []string, path string, seen func(checkAnswer) bool) []bool {
	t.Helper()
	shown := make([]bool, len(instances))
	ctx := beforeTestDeadline(t)
	var wg sync.WaitGroup
	for i, inst := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Plain requests (every answer's conformance to the OpenAPI
			// document is tested elsewhere), so the poll measures the server.
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, inst.url+path, nil)
			req.Header.Set("Authorization", "Bearer "+keys[i])
			for ctx.Err() == nil {
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						t.Error(err)
					}
					return
				}
				var c checkAnswer
				err = json.NewDecoder(res.Body).Decode(&c)
				res.Body.Close()
				if err == nil && res.StatusCode == http.StatusOK && seen(c) {
					shown[i] = true
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	return shown
}

// beforeTestDeadline ends a minute before the test binary's deadline
// (go test -timeout), so that a poll for a change that never comes fails
// with a message instead of the whole binary timing out.
func beforeTestDeadline(t *testing.T) context.Context {
	deadline, ok := t.Deadline()
	if !ok {
		return t.Context()
	}
	ctx, cancel := context.WithDeadline(t.Context(), deadline.Add(-time.Minute))
	t.Cleanup(cancel)
	return ctx
}

func assertShows(t *testing.T, what string, shown []bool) {
	t.Helper()
	for i, ok := range shown {
		if !ok {
			t.Errorf("%s did not show on instance %d", what, i+1)
		}
	}
}

// changeInTx makes a change with plain SQL in a transaction that also
// announces it, as every store write path does.
func changeInTx(t *testing.T, db *sqlx.DB, accountID int64, query string, args ...any) {
	t.Helper()
	tx, err := db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(query, args...); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`SELECT pg_notify($1, $2)`, store.ChangesChannel, itoa(accountID)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestChangesShowInChecksOnEveryInstance(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	b := secondInstance(t, a)
	instances := []*apiInstance{a, b}
	key := a.newKey("globex", store.ScopeCheck)
	keys := []string{key, key}
	globex := a.accountID("globex")
	const base = "/api/v1/accounts/globex/entitlements/"

	// Both instances have Globex's state cached before each change.
	warm := func(feature string) {
		for _, inst := range instances {
			inst.get(base+feature+"?user=frank@globex.test", key).check(t)
		}
	}

	t.Run("grant", func(t *testing.T) {
		warm("exports")
		changeInTx(t, a.store.DB(), globex, `
INSERT INTO entitlement_grant (account_id, kind, feature_id, enabled, reason, created_by)
SELECT $1, 'feature', f.id, true, 'pilot', 'test' FROM feature f WHERE f.key = 'exports'`, globex)
		assertShows(t, "a grant", waitForChange(t, instances, keys, base+"exports",
			func(c checkAnswer) bool { return c.HasAccess }))
	})

	t.Run("seat assignment", func(t *testing.T) {
		warm("dashboards")
		changeInTx(t, a.store.DB(), globex, `
INSERT INTO seat_assignment (account_id, subscription_id, membership_id)
SELECT m.account_id, s.id, m.id FROM membership m JOIN app_user u ON u.id = m.user_id
JOIN subscription s ON s.account_id = m.account_id
WHERE m.account_id = $1 AND u.email = 'frank@globex.test'`, globex)
		assertShows(t, "a seat assignment", waitForChange(t, instances, keys, base+"dashboards?user=frank@globex.test",
			func(c checkAnswer) bool { return c.Reason == licensing.ReasonOK }))
	})

	t.Run("plan change from a webhook", func(t *testing.T) {
		warm("api_calls")
		// What the billing worker does when Stripe says the plan changed.
		if err := b.store.SetSubscriptionPlan(context.Background(), store.Actor{Type: "stripe", Label: "evt_test"},
			globex, "analytics", "business"); err != nil {
			t.Fatal(err)
		}
		assertShows(t, "a plan change", waitForChange(t, instances, keys, base+"api_calls",
			func(c checkAnswer) bool {
				return c.Plan != nil && c.Plan.Key == "business" && c.Limit != nil && *c.Limit == 250000
			}))
	})

	t.Run("usage reported to the other instance", func(t *testing.T) {
		warm("api_calls")
		usageKey := a.newKey("globex", store.ScopeUsage)
		if res := b.do(http.MethodPost, "/api/v1/accounts/globex/usage", usageKey, `{"feature":"api_calls","quantity":7}`,
			"Idempotency-Key", "prop-1"); res.status != http.StatusCreated {
			t.Fatalf("usage: %d %s", res.status, res.body)
		}
		assertShows(t, "reported usage", waitForChange(t, instances, keys, base+"api_calls",
			func(c checkAnswer) bool { return c.Used == 4207 }))
	})

	t.Run("catalog change", func(t *testing.T) {
		warm("projects")
		// What `entitle catalog apply` does: change plan content, announce "*".
		tx := a.store.DB().MustBegin()
		tx.MustExec(`UPDATE plan_feature SET limit_value = 33 WHERE feature_id = (SELECT id FROM feature WHERE key = 'projects')
		             AND plan_version_id = (SELECT plan_version_id FROM subscription WHERE account_id = $1)`, globex)
		tx.MustExec(`SELECT pg_notify($1, $2)`, store.ChangesChannel, store.ChangedEverything)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		assertShows(t, "a catalog change", waitForChange(t, instances, keys, base+"projects",
			func(c checkAnswer) bool { return c.Limit != nil && *c.Limit == 33 }))
	})
}

func TestRevokedKeyFailsAtOnceAndEverywhereSoon(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	b := secondInstance(t, a)
	key := a.newKey("globex", store.ScopeCheck)
	const check = "/api/v1/accounts/globex/entitlements/dashboards"
	a.get(check, key).check(t) // both instances now hold the key in memory
	b.get(check, key).check(t)
	keys, err := a.store.APIKeys(context.Background(), a.accountID("globex"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.store.RevokeAPIKey(context.Background(), store.SystemActor("test"), a.accountID("globex"), keys[0].ID); err != nil {
		t.Fatal(err)
	}
	a.get(check, key).problem(t, http.StatusUnauthorized, "unauthorized") // the instance that revoked it: at once
	ctx := beforeTestDeadline(t)
	for plainStatus(t, b.url+check, key) != http.StatusUnauthorized {
		if ctx.Err() != nil {
			t.Fatal("the other instance still accepts the revoked key")
		}
		time.Sleep(5 * time.Millisecond) // a pause between polls, not a timed assertion
	}
}

func TestCacheKeepsNothingWithoutItsListener(t *testing.T) {
	t.Parallel()
	// An instance whose cache is not running reads the database on every
	// check: slower, never stale.
	p := newPortal(t)
	s := p.store
	token, _, err := s.CreateAPIKey(context.Background(), store.SystemActor("test"), mustAccount(t, s, "globex"), "k", store.Scopes)
	if err != nil {
		t.Fatal(err)
	}
	inst := &apiInstance{t: t, url: p.srv.URL, store: s}
	const check = "/api/v1/accounts/globex/entitlements/exports"
	if inst.get(check, token).check(t).HasAccess {
		t.Fatal("exports already on")
	}
	if _, err := s.DB().Exec(`UPDATE subscription SET plan_version_id = (SELECT pv.id FROM plan_version pv JOIN plan pl ON pl.id = pv.plan_id
		WHERE pl.key = 'business') WHERE account_id = $1`, mustAccount(t, s, "globex")); err != nil {
		t.Fatal(err)
	}
	if !inst.get(check, token).check(t).HasAccess {
		t.Fatal("a change without NOTIFY is not visible: the cache kept a state without a listener")
	}
}

func mustAccount(t *testing.T, s *store.Store, slug string) int64 {
	t.Helper()
	a, err := s.AccountBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func plainStatus(t *testing.T, url, key string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
