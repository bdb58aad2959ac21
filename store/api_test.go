package store_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

func accountID(t *testing.T, s *store.Store, slug string) int64 {
	t.Helper()
	a, err := s.AccountBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func TestAPIKeysAreHashedScopedAndKeptToTheirAccount(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	globex, initech := accountID(t, s, "globex"), accountID(t, s, "initech")
	actor := store.Actor{Type: "user", ID: "1", Label: "owner@globex.test"}

	var ve *store.ValidationError
	if _, _, err := s.CreateAPIKey(ctx, actor, globex, " ", []string{"check"}); !errors.As(err, &ve) || ve.Fields["name"] == "" {
		t.Errorf("empty name: %v", err)
	}
	if _, _, err := s.CreateAPIKey(ctx, actor, globex, "x", []string{"admin"}); !errors.As(err, &ve) || ve.Fields["scopes"] == "" {
		t.Errorf("unknown scope: %v", err)
	}
	if _, _, err := s.CreateAPIKey(ctx, actor, 999999, "x", []string{"check"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("key for no account: %v", err)
	}
	token, key, err := s.CreateAPIKey(ctx, actor, globex, "app", []string{"usage", "check", "check"})
	if err != nil {
		t.Fatal(err)
	}
	if got := []string(key.Scopes); len(got) != 2 || got[0] != "check" || got[1] != "usage" || key.CreatedBy != "user:owner@globex.test" {
		t.Errorf("key = %+v", key)
	}
	found, err := s.APIKeyByToken(ctx, token)
	if err != nil || found.ID != key.ID || found.AccountSlug != "globex" {
		t.Fatalf("by token: %+v %v", found, err)
	}
	if _, err := s.APIKeyByToken(ctx, token+"x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a wrong token: %v", err)
	}
	// Another account's admin cannot revoke it: not found, nothing changed.
	if err := s.RevokeAPIKey(ctx, actor, initech, key.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke through another account: %v", err)
	}
	if _, err := s.APIKeyByToken(ctx, token); err != nil {
		t.Fatal("revoked through another account")
	}
	if err := s.RevokeAPIKey(ctx, actor, globex, key.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, actor, globex, key.ID); err != nil {
		t.Errorf("revoking twice: %v", err)
	}
	if _, err := s.APIKeyByToken(ctx, token); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a revoked key still authenticates: %v", err)
	}
	used := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.RecordAPIKeysUsed(ctx, map[int64]time.Time{key.ID: used}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordAPIKeysUsed(ctx, map[int64]time.Time{key.ID: used.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	keys, _ := s.APIKeys(ctx, globex)
	if len(keys) != 1 || !keys[0].LastUsedAt.Time.Equal(used) || !keys[0].RevokedAt.Valid {
		t.Errorf("listed key: %+v", keys)
	}
	if brk, _, err := s.VerifyAudit(ctx); err != nil || brk != nil {
		t.Errorf("audit chain: %v %v", brk, err)
	}
}

func TestConcurrentUsageReportsNeverGoPastTheLimit(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	globex := accountID(t, s, "globex") // api_calls: 4,200 of 50,000 used
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, refused := 0, 0
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.RecordUsage(context.Background(), globex, store.UsageReport{Feature: "api_calls", Quantity: 5000,
				IdempotencyKey: "burst-" + itoa(int64(i))})
			var r *licensing.UsageRefusedError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted++
			case errors.As(err, &r) && r.Decision.Reason == licensing.ReasonLimitReached:
				refused++
			default:
				t.Errorf("report %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	state, err := s.AccountState(context.Background(), globex)
	if err != nil {
		t.Fatal(err)
	}
	if accepted != 9 || refused != 7 || state.Products[0].Usage["api_calls"] != 4200+9*5000 {
		t.Errorf("accepted %d, refused %d, used %d; want 9 accepted (45,000 fit in 45,800)", accepted, refused, state.Products[0].Usage["api_calls"])
	}
}

func TestAccountStateListsSeatHolders(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	globex := accountID(t, s, "globex")
	if _, err := s.DB().Exec(`UPDATE membership SET status = 'deactivated' WHERE user_id = (SELECT id FROM app_user WHERE email = 'bob@globex.test')`); err != nil {
		t.Fatal(err)
	}
	state, err := s.AccountState(context.Background(), globex)
	if err != nil {
		t.Fatal(err)
	}
	p := state.Products[0]
	if len(p.SeatHolders) != 6 || p.Seat("alice@globex.test") != licensing.SeatHeld || p.Seat("bob@globex.test") != licensing.SeatNotHeld ||
		p.Seat("frank@globex.test") != licensing.SeatNotHeld {
		t.Errorf("seat holders = %+v", p.SeatHolders)
	}
}

func TestSealedSigningKeysNeedTheirSecret(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	globex := accountID(t, s, "globex")
	secret := store.LicenceOptions{Secret: []byte("a-long-secret-for-the-signing-keys")}
	file, err := s.IssueLicence(ctx, globex, secret) // creates the first key, sealed
	if err != nil {
		t.Fatal(err)
	}
	var row struct {
		Sealed bool   `db:"sealed"`
		Priv   []byte `db:"private_key"`
		Pub    []byte `db:"public_key"`
	}
	if err := s.DB().Get(&row, `SELECT sealed, private_key, public_key FROM signing_key`); err != nil {
		t.Fatal(err)
	}
	if !row.Sealed || len(row.Priv) == ed25519.PrivateKeySize {
		t.Errorf("the key is not sealed: sealed=%v, %d bytes", row.Sealed, len(row.Priv))
	}
	keys, err := s.PublicKeys(ctx, nil)
	if err != nil || len(keys) != 1 {
		t.Fatalf("public keys: %v %v", keys, err)
	}
	if _, err := licensing.VerifyLicence(file, licensing.KeyRing{keys[0].KeyID: row.Pub}, time.Now()); err != nil {
		t.Fatalf("licence from a sealed key: %v", err)
	}
	for name, opts := range map[string]store.LicenceOptions{"no secret": {}, "wrong secret": {Secret: []byte("another-secret-entirely-wrong!!!")}} {
		if _, err := s.IssueLicence(ctx, globex, opts); !errors.Is(err, store.ErrSealedKey) {
			t.Errorf("%s: %v, want ErrSealedKey", name, err)
		}
	}
	// An unsealed rotation with the secret unset is the operator's choice.
	if _, err := s.RotateSigningKey(ctx, store.SystemActor("test"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IssueLicence(ctx, globex, store.LicenceOptions{}); err != nil {
		t.Errorf("licence with an unsealed key: %v", err)
	}
}

func TestWritePathsAnnounceChanges(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	var name string
	if err := s.DB().Get(&name, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}
	l := pq.NewListener(storetest.ServerURL(name), time.Second, time.Second, nil)
	defer l.Close()
	if err := l.Listen(store.ChangesChannel); err != nil {
		t.Fatal(err)
	}
	next := func() string {
		select {
		case n := <-l.Notify:
			return n.Extra
		case <-time.After(5 * time.Second):
			return "(nothing)"
		}
	}
	globex := accountID(t, s, "globex")
	if _, err := s.RecordUsage(ctx, globex, store.UsageReport{Feature: "api_calls", Quantity: 1, IdempotencyKey: "n1"}); err != nil {
		t.Fatal(err)
	}
	// A report announces what it counted, between which change numbers.
	got := next()
	u, ok := store.ParseUsageChange(got)
	if what, _ := store.ParseChange(got); what != itoa(globex) || !ok || u.AccountID != globex || u.Product != "analytics" ||
		u.Feature != "api_calls" || u.Quantity != 1 || u.Seq <= u.Prev {
		t.Errorf("usage announced %q", got)
	}
	if err := s.SetSubscriptionPlan(ctx, store.SystemActor("test"), globex, "analytics", "business"); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != itoa(globex) {
		t.Errorf("plan change announced %q", got)
	}
	if err := s.ApplyDemo(ctx); err != nil { // the catalog again: unchanged, still announced
		t.Fatal(err)
	}
	if got := next(); got != store.ChangedEverything {
		t.Errorf("catalog apply announced %q", got)
	}
	// A refused change announces nothing (the notification dies with its transaction).
	_, err := s.RecordUsage(ctx, globex, store.UsageReport{Feature: "api_calls", Quantity: 300000, IdempotencyKey: "n2"})
	var refused *licensing.UsageRefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("huge report: %v", err)
	}
	if _, err := s.DB().Exec(`SELECT pg_notify($1, 'marker')`, store.ChangesChannel); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "marker" {
		t.Errorf("a refused report announced %q", got)
	}
}

func TestSetSubscriptionPlanIsAuditedAndRefusesWhatDoesNotExist(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	globex := accountID(t, s, "globex")
	actor := store.Actor{Type: "stripe", Label: "evt_1"}
	for name, err := range map[string]error{
		"no such plan":    s.SetSubscriptionPlan(ctx, actor, globex, "analytics", "platinum"),
		"no such product": s.SetSubscriptionPlan(ctx, actor, globex, "teleport", "team"),
		"no such account": s.SetSubscriptionPlan(ctx, actor, 999999, "analytics", "team"),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := s.SetSubscriptionPlan(ctx, actor, globex, "analytics", "enterprise"); err != nil {
		t.Fatal(err)
	}
	state, _ := s.AccountState(ctx, globex)
	if r, _ := licensing.NewChecker(state).Check("sso", "", time.Now()); !r.Decision.HasAccess || r.Plan.Key != "enterprise" {
		t.Errorf("after the change: %+v", r)
	}
	var n int
	_ = s.DB().Get(&n, `SELECT count(*) FROM audit_entry WHERE account_id = $1 AND action = 'subscription.plan_change' AND actor_type = 'stripe'`, globex)
	if n != 1 {
		t.Errorf("%d audit entries for the plan change", n)
	}
}

func TestAUsageChangeTravelsInItsPayload(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 15, 12, 0, 0, 123456000, time.UTC)
	u := store.UsageChange{AccountID: 42, Prev: 7, Seq: 9, Product: "a b/c=d", Feature: "api calls", Quantity: 3, At: at}
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	p := u.Payload(tp)
	if what, traceparent := store.ParseChange(p); what != "42" || traceparent != tp {
		t.Errorf("ParseChange(%q) = %q, %q", p, what, traceparent)
	}
	if got, ok := store.ParseUsageChange(p); !ok || got != u {
		t.Errorf("ParseUsageChange(%q) = %+v, %v", p, got, ok)
	}
	for _, other := range []string{"42", "42 " + tp, store.ChangedEverything, "42 seq=9 prev=7"} {
		if _, ok := store.ParseUsageChange(other); ok {
			t.Errorf("%q read as a usage change", other)
		}
	}
}
