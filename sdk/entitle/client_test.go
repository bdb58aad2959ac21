package entitle_test

import (
	"bufio"
	"context"
	"errors"
	"go/build"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/checks"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/sdk/entitle"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

func TestTheSDKImportsOnlyLicensingAndTheStandardLibrary(t *testing.T) {
	t.Parallel()
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		first, _, _ := strings.Cut(imp, "/")
		if strings.Contains(first, ".") && imp != "github.com/entitle-dev/entitle/licensing" {
			t.Errorf("the SDK imports %s", imp)
		}
	}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time           { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration)      { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }
func (c *clock) sdkNow() func() time.Time { return c.Now }

type server struct {
	store *store.Store
	srv   *httptest.Server
	key   string
	keys  licensing.KeyRing
}

func newServer(t testing.TB, clk licensing.Clock) *server {
	t.Helper()
	s := storetest.NewDemo(t, clk)
	// The check cache's listener hears every committed change (NOTIFY),
	// as in `entitle serve`: the stream wakes on it.
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var dbName string
	if err := s.DB().Get(&dbName, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}
	cache := checks.New(s, logger, 0)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = cache.Run(runCtx, storetest.ServerURL(dbName)) }()
	t.Cleanup(func() { stop(); <-done })
	for deadline := time.Now().Add(10 * time.Second); !cache.Live(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the change listener did not connect")
		}
	}
	opts := web.Options{Store: s, Logger: logger, Checks: cache, SessionSecret: []byte("sdk-secret-sdk-secret-sdk-secret-sdk")}
	if clk != nil {
		opts.Clock = clk
	}
	srv := httptest.NewServer(web.New(opts))
	t.Cleanup(srv.Close)
	acct, _ := s.AccountBySlug(context.Background(), "globex")
	key, _, err := s.CreateAPIKey(context.Background(), store.SystemActor("test"), acct.ID, "sdk", store.Scopes)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(srv.URL + "/api/v1/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	keys, err := licensing.ParseKeyRing(data)
	if err != nil {
		t.Fatal(err)
	}
	return &server{store: s, srv: srv, key: key, keys: keys}
}

func TestChecksAnswerFromTheVerifiedStateThenTheOfflineLicenceThenDeny(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now().UTC()}
	sv := newServer(t, clk)
	ctx := context.Background()
	acct, _ := sv.store.AccountBySlug(ctx, "globex")
	offline, err := sv.store.IssueLicence(ctx, acct.ID, store.LicenceOptions{Validity: 60 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	keys := sv.keys
	if len(keys) == 0 { // the first licence made the first key
		t.Fatal("no keys")
	}
	c, err := entitle.New(entitle.Config{BaseURL: sv.srv.URL, APIKey: sv.key, Account: "globex", Keys: keys,
		OfflineLicence: offline, Now: clk.sdkNow()})
	if err != nil {
		t.Fatal(err)
	}
	// The same answers as the API's.
	for _, tc := range []struct {
		feature, user string
		access        bool
		reason        licensing.Reason
	}{
		{"dashboards", "alice@globex.test", true, licensing.ReasonOK},
		{"dashboards", "frank@globex.test", false, licensing.ReasonNoSeat},
		{"exports", "", false, licensing.ReasonNotInPlan},
		{"api_calls", "", true, licensing.ReasonOK},
	} {
		r, err := c.Check(ctx, tc.feature, tc.user)
		if err != nil || r.Decision.HasAccess != tc.access || r.Decision.Reason != tc.reason {
			t.Errorf("%s for %q: %+v %v", tc.feature, tc.user, r.Decision, err)
		}
	}
	if _, err := c.Check(ctx, "nope", ""); !errors.Is(err, licensing.ErrUnknownFeature) {
		t.Errorf("unknown feature: %v", err)
	}
	all, err := c.Entitlements(ctx, "")
	if err != nil || len(all) < 5 {
		t.Fatalf("entitlements: %d %v", len(all), err)
	}

	// The server goes away: the last verified state still answers.
	sv.srv.Close()
	if r, err := c.Check(ctx, "dashboards", "alice@globex.test"); err != nil || !r.Decision.HasAccess {
		t.Fatalf("server down: %+v %v", r.Decision, err)
	}
	if err := c.Refresh(ctx); err == nil {
		t.Fatal("a refresh from a stopped server succeeded")
	}
	// Past the state's validity and grace (30 + 7 days): the offline
	// licence (60 days) answers.
	clk.add(40 * 24 * time.Hour)
	if r, err := c.Check(ctx, "dashboards", "alice@globex.test"); err != nil || !r.Decision.HasAccess {
		t.Fatalf("from the offline licence: %+v %v", r.Decision, err)
	}
	// Past both: no answer, never a default yes.
	clk.add(40 * 24 * time.Hour)
	if r, err := c.Check(ctx, "dashboards", "alice@globex.test"); !errors.Is(err, entitle.ErrNoVerifiedState) || r.Decision.HasAccess {
		t.Fatalf("after everything expired: %+v %v", r.Decision, err)
	}
	if _, err := c.Entitlements(ctx, ""); !errors.Is(err, entitle.ErrNoVerifiedState) {
		t.Fatalf("entitlements after everything expired: %v", err)
	}
}

func TestAClientWithoutStateOrServerDenies(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now().UTC()}
	sv := newServer(t, clk)
	sv.srv.Close()
	c, err := entitle.New(entitle.Config{BaseURL: sv.srv.URL, APIKey: sv.key, Account: "globex", Keys: sv.keys, Now: clk.sdkNow()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(context.Background(), "dashboards", ""); !errors.Is(err, entitle.ErrNoVerifiedState) {
		t.Fatalf("no state, no server: %v", err)
	}
}

func TestLeaseHeartbeatsChecksInAndHearsOfAForceRelease(t *testing.T) {
	t.Parallel()
	sv := newServer(t, nil)
	ctx := context.Background()
	c, err := entitle.New(entitle.Config{BaseURL: sv.srv.URL, APIKey: sv.key, Account: "globex", Keys: sv.keys,
		HeartbeatEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	acct, _ := sv.store.AccountBySlug(ctx, "globex")
	l, err := c.Lease(ctx, "desktop_floating", "alice@globex.test", "ws-1")
	if err != nil {
		t.Fatal(err)
	}
	if live, _ := sv.store.LiveLeases(ctx, acct.ID); len(live) != 1 || live[0].Token != l.ID {
		t.Fatalf("live leases: %+v", live)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if live, _ := sv.store.LiveLeases(ctx, acct.ID); len(live) != 0 {
		t.Fatalf("after Close: %d live", len(live))
	}

	// A full pool says when a licence frees up.
	var held []*entitle.Lease
	for range 3 {
		l, err := c.Lease(ctx, "desktop_floating", "", "")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
	}
	_, err = c.Lease(ctx, "desktop_floating", "", "")
	var p *entitle.ProblemError
	if !errors.As(err, &p) || p.Type != "https://entitle.dev/problems/pool-full" || p.NextExpiry == nil {
		t.Fatalf("full pool: %v", err)
	}
	_ = held[1].Close(ctx)
	_ = held[2].Close(ctx)

	// An admin takes the first one back: the lease hears it at its next
	// heartbeat.
	live, _ := sv.store.LiveLeases(ctx, acct.ID)
	owner := store.Principal{AccountID: acct.ID}
	if err := sv.store.DB().QueryRow(`SELECT m.id, u.id, u.email FROM membership m JOIN app_user u ON u.id = m.user_id
		WHERE u.email = 'owner@globex.test'`).Scan(&owner.MembershipID, &owner.UserID, &owner.Email); err != nil {
		t.Fatal(err)
	}
	if err := sv.store.ForceReleaseLease(ctx, owner, live[0].ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held[0].Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the lease did not hear of its release")
	}
	if err := held[0].Err(); !errors.Is(err, entitle.ErrLeaseLost) || !strings.Contains(err.Error(), "lease-gone") {
		t.Fatalf("why the lease was lost: %v", err)
	}
	if err := held[0].Close(ctx); err != nil {
		t.Fatalf("closing a released lease: %v", err)
	}
}

// BenchmarkCheck is the in-process check: go test ./sdk/entitle -bench Check -benchmem
func BenchmarkCheck(b *testing.B) {
	sv := newServer(b, nil)
	c, err := entitle.New(entitle.Config{BaseURL: sv.srv.URL, APIKey: sv.key, Account: "globex", Keys: sv.keys})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, feature, user string }{
		{"boolean-account", "exports", ""},
		{"boolean-user", "dashboards", "alice@globex.test"},
		{"metered", "api_calls", ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Check(ctx, bc.feature, bc.user); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A change committed on the server reaches the client's answers through
// the stream, with no polling (Refresh is an hour).
func TestRunFollowsTheStreamSoAChangeReachesTheAnswers(t *testing.T) {
	t.Parallel()
	sv := newServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := entitle.New(entitle.Config{BaseURL: sv.srv.URL, APIKey: sv.key, Account: "globex", Keys: sv.keys, Refresh: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// The first check fetches the state, before any stream is open.
	if _, err := c.Check(ctx, "dashboards", ""); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited in vain for %s", what)
			}
		}
	}
	access := func() bool {
		r, err := c.Check(ctx, "dashboards", "frank@globex.test")
		return err == nil && r.Decision.HasAccess
	}
	waitFor("the first state", func() bool { _, err := c.Check(ctx, "dashboards", ""); return err == nil })
	if access() {
		t.Fatal("frank has a seat before he is given one")
	}
	var owner store.Principal
	if err := sv.store.DB().QueryRow(`SELECT m.account_id, m.id, u.id, u.email FROM membership m JOIN app_user u ON u.id = m.user_id
		WHERE u.email = 'owner@globex.test'`).Scan(&owner.AccountID, &owner.MembershipID, &owner.UserID, &owner.Email); err != nil {
		t.Fatal(err)
	}
	var sub, frank int64
	if err := sv.store.DB().QueryRow(`SELECT s.id, m.id FROM subscription s, membership m JOIN app_user u ON u.id = m.user_id
		WHERE s.account_id = $1 AND u.email = 'frank@globex.test'`, owner.AccountID).Scan(&sub, &frank); err != nil {
		t.Fatal(err)
	}
	if _, err := sv.store.AssignSeats(ctx, owner, sub, []int64{frank}); err != nil {
		t.Fatal(err)
	}
	waitFor("frank's seat to reach the client", access)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
}

// A dropped stream is resumed with the Last-Event-ID of the last change
// the client applied, so a change made while it was cut off still reaches
// the answers.
func TestRunResumesADroppedStreamWithLastEventID(t *testing.T) {
	t.Parallel()
	sv := newServer(t, nil)
	proxy := newFlakyProxy(t, sv.srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := entitle.New(entitle.Config{BaseURL: proxy.srv.URL, APIKey: sv.key, Account: "globex", Keys: sv.keys, Refresh: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// The first check fetches the state, before any stream is open.
	if _, err := c.Check(ctx, "dashboards", ""); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited in vain for %s", what)
			}
		}
	}
	access := func() bool {
		r, err := c.Check(ctx, "sso", "")
		return err == nil && r.Decision.HasAccess
	}
	// The stream's first event names the version the client has; the
	// client fetches it, and only then has a version to resume from.
	waitFor("the stream's first change to be fetched", func() bool {
		return len(proxy.lastEventIDs()) == 1 && proxy.statesFetchedInStream() >= 1
	})
	if access() {
		t.Fatal("sso before the grant")
	}
	// The version the client applied: what a fresh stream announces first.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, sv.srv.URL+"/api/v1/accounts/globex/stream", nil)
	req.Header.Set("Authorization", "Bearer "+sv.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	applied := ""
	for sc := bufio.NewScanner(res.Body); applied == "" && sc.Scan(); {
		applied, _ = strings.CutPrefix(sc.Text(), "id: ")
	}
	res.Body.Close()

	// The connection drops and the server is out of reach while a grant
	// is made.
	proxy.mode.Store(unreachable)
	proxy.cutStreams()
	if _, err := sv.store.CreateGrant(ctx, store.SystemActor("test"), "globex", store.GrantInput{Kind: "feature",
		ProductKey: "analytics", FeatureKey: "sso", Enabled: true, Reason: "pilot", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	proxy.mode.Store(pass)
	waitFor("the grant to reach the client", access)
	waitFor("the stream to be resumed", func() bool { return len(proxy.lastEventIDs()) >= 2 })
	if ids := proxy.lastEventIDs(); ids[0] != "" || ids[1] != applied {
		t.Fatalf("Last-Event-ID of the first and the resumed stream: %q, want \"\" then %q", ids, applied)
	}
	cancel()
	<-done
}
