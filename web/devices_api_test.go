package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// exerciseDeviceRoutes calls every lease and machine route once, for the
// OpenAPI route test.
func exerciseDeviceRoutes(t *testing.T, a *apiInstance, key string, calls map[string]int) {
	t.Helper()
	base := "/api/v1/accounts/globex"
	res := a.do(http.MethodPost, base+"/leases", key, `{"feature":"desktop_floating","user":"alice@globex.test","machine":"ws-1"}`)
	calls["POST /api/v1/accounts/{account}/leases"] = res.status
	var lease struct{ ID string }
	res.json(t, &lease)
	calls["GET /api/v1/accounts/{account}/leases"] = a.get(base+"/leases", key).status
	calls["POST /api/v1/accounts/{account}/leases/{lease}/heartbeat"] = a.do(http.MethodPost, base+"/leases/"+lease.ID+"/heartbeat", key, "").status
	calls["DELETE /api/v1/accounts/{account}/leases/{lease}"] = a.do(http.MethodDelete, base+"/leases/"+lease.ID, key, "").status

	res = a.do(http.MethodPost, base+"/machines", key, `{"fingerprint":"fp-openapi","name":"ws-1","platform":"linux","user":"alice@globex.test"}`)
	calls["POST /api/v1/accounts/{account}/machines"] = res.status
	var act struct{ Machine struct{ ID string } }
	res.json(t, &act)
	m := base + "/machines/" + act.Machine.ID
	calls["GET /api/v1/accounts/{account}/machines"] = a.get(base+"/machines", key).status
	calls["POST /api/v1/accounts/{account}/machines/{machine}/heartbeat"] = a.do(http.MethodPost, m+"/heartbeat", key, "").status
	calls["GET /api/v1/accounts/{account}/machines/{machine}/license"] = a.get(m+"/license", key).status
	calls["DELETE /api/v1/accounts/{account}/machines/{machine}"] = a.do(http.MethodDelete, m, key, "").status

	// The stream never ends by itself: read its first event, then hang up.
	ev := openStream(t, a, key, "")
	calls["GET /api/v1/accounts/{account}/stream"] = ev.status
	ev.close()
}

// stream is an open /stream connection.
type stream struct {
	status int
	events chan sseMessage
	close  func()
}

type sseMessage struct{ id, event string }

// openStream connects to the account's change stream (resuming after
// lastID when set) and delivers its events.
func openStream(t *testing.T, a *apiInstance, key, lastID string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.url+"/api/v1/accounts/globex/stream", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &stream{status: res.StatusCode, events: make(chan sseMessage, 16), close: func() { cancel(); res.Body.Close() }}
	if res.Header.Get("Content-Type") != "text/event-stream" {
		s.close()
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	go func() {
		sc := bufio.NewScanner(res.Body)
		var m sseMessage
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				m.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				m.event = strings.TrimPrefix(line, "event: ")
			case line == "" && m.event != "":
				s.events <- m
				m = sseMessage{}
			}
		}
	}()
	return s
}

func TestTheStreamAnnouncesChangesAndResumesWithLastEventID(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.newKey("globex", store.ScopeLicense)
	usageKey := a.newKey("globex", store.ScopeUsage)
	next := func(s *stream) sseMessage {
		t.Helper()
		select {
		case m := <-s.events:
			return m
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
		}
		return sseMessage{}
	}
	s := openStream(t, a, key, "")
	first := next(s)
	if first.event != "changed" || first.id == "" {
		t.Fatalf("first event: %+v", first)
	}
	// A change committed (a usage report): a new version is announced.
	if res := a.do(http.MethodPost, "/api/v1/accounts/globex/usage", usageKey, `{"feature":"api_calls","quantity":1}`,
		"Idempotency-Key", "stream-1"); res.status != http.StatusCreated {
		t.Fatalf("usage: %d", res.status)
	}
	second := next(s)
	if second.id == first.id {
		t.Fatalf("the change kept the version %s", second.id)
	}
	s.close()
	// Resuming from the latest version: nothing to announce. From the
	// first: the change made meanwhile is announced at once.
	upToDate := openStream(t, a, key, second.id)
	defer upToDate.close()
	select {
	case m := <-upToDate.events:
		t.Fatalf("resuming at the latest version announced %+v", m)
	case <-time.After(500 * time.Millisecond):
	}
	behind := openStream(t, a, key, first.id)
	defer behind.close()
	if m := next(behind); m.id != second.id {
		t.Fatalf("resuming behind: %+v, want version %s", m, second.id)
	}
}

type leaseAnswer struct {
	ID        string    `json:"id"`
	Feature   string    `json:"feature"`
	User      string    `json:"user"`
	ExpiresAt time.Time `json:"expires_at"`
}

func TestFloatingLicencePoolThroughTheAPIAcrossInstances(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	b := secondInstance(t, a)
	key := a.newKey("globex", store.ScopeCheck)
	base := "/api/v1/accounts/globex/leases"
	var leases []leaseAnswer
	for i, inst := range []*apiInstance{a, b, a} { // the team plan's pool of 3
		res := inst.do(http.MethodPost, base, key, `{"feature":"desktop_floating","user":"u`+itoa(int64(i))+`"}`)
		if res.status != http.StatusCreated {
			t.Fatalf("checkout %d: %d %s", i, res.status, res.body)
		}
		var l leaseAnswer
		res.json(t, &l)
		leases = append(leases, l)
	}
	res := b.do(http.MethodPost, base, key, `{"feature":"desktop_floating","user":"late"}`)
	p := res.problem(t, http.StatusConflict, "pool-full")
	if p.NextExpiry == nil || !p.NextExpiry.Equal(leases[0].ExpiresAt) || res.header.Get("Retry-After") == "" ||
		!strings.Contains(p.Detail, "All 3 leases of desktop_floating") {
		t.Fatalf("pool-full answer: %+v %s", p, res.header)
	}
	if p.Decision == nil || p.Reason != licensing.ReasonLimitReached {
		t.Fatalf("pool-full without the decision: %+v", p)
	}
	// Heartbeat on the other instance, check in, and the slot is free.
	if res := b.do(http.MethodPost, base+"/"+leases[0].ID+"/heartbeat", key, ""); res.status != http.StatusOK {
		t.Fatalf("heartbeat: %d %s", res.status, res.body)
	}
	if res := a.do(http.MethodDelete, base+"/"+leases[1].ID, key, ""); res.status != http.StatusNoContent {
		t.Fatalf("check in: %d %s", res.status, res.body)
	}
	if res := b.do(http.MethodPost, base, key, `{"feature":"desktop_floating","user":"late"}`); res.status != http.StatusCreated {
		t.Fatalf("checkout after a check-in: %d %s", res.status, res.body)
	}
	var list struct{ Leases []leaseAnswer }
	a.get(base, key).json(t, &list)
	if len(list.Leases) != 3 || list.Leases[0].User != "u0" {
		t.Fatalf("live leases: %+v", list.Leases)
	}
	// An admin force-releases a lease: the application hears it at its
	// next heartbeat.
	owner := storetest.Principal(t, a.portal(t).store, "owner@globex.test")
	var id int64
	if err := a.store.DB().Get(&id, `SELECT id FROM lease WHERE token = $1`, leases[2].ID); err != nil {
		t.Fatal(err)
	}
	if err := a.store.ForceReleaseLease(context.Background(), owner, id); err != nil {
		t.Fatal(err)
	}
	gone := a.do(http.MethodPost, base+"/"+leases[2].ID+"/heartbeat", key, "").problem(t, http.StatusGone, "lease-gone")
	if !strings.HasPrefix(gone.Detail, "An administrator released the lease") {
		t.Fatalf("lease-gone for a force-released lease: %q", gone.Detail)
	}
	checkedIn := a.do(http.MethodPost, base+"/"+leases[1].ID+"/heartbeat", key, "").problem(t, http.StatusGone, "lease-gone")
	if !strings.HasPrefix(checkedIn.Detail, "The lease was already checked in.") {
		t.Fatalf("lease-gone for a checked-in lease: %q", checkedIn.Detail)
	}
	// Bad requests, another account's key, an unknown lease.
	a.do(http.MethodPost, base, key, `{"feature":"dashboards"}`).problem(t, http.StatusBadRequest, "invalid-request")
	a.do(http.MethodPost, base, key, `{"feature":"desktop_floating","seats":2}`).problem(t, http.StatusBadRequest, "invalid-request")
	a.do(http.MethodPost, base, key, `{"feature":"nope"}`).problem(t, http.StatusNotFound, "unknown-feature")
	a.do(http.MethodPost, base+"/lease_nonesuch/heartbeat", key, "").problem(t, http.StatusNotFound, "not-found")
	initech := a.newKey("initech")
	a.do(http.MethodPost, "/api/v1/accounts/initech/leases/"+leases[0].ID+"/heartbeat", initech, "").problem(t, http.StatusNotFound, "not-found")
	usageOnly := a.newKey("globex", store.ScopeUsage)
	a.do(http.MethodPost, base, usageOnly, `{"feature":"desktop_floating"}`).problem(t, http.StatusForbidden, "insufficient-scope")
}

func TestMachineActivationThroughTheAPI(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.newKey("globex", store.ScopeCheck)
	base := "/api/v1/accounts/globex/machines"
	activate := func(fp, user string) apiResponse {
		return a.do(http.MethodPost, base, key, `{"fingerprint":"`+fp+`","name":"cad-`+fp+`","platform":"windows","user":"`+user+`"}`)
	}
	res := activate("hw-1", "alice@globex.test")
	if res.status != http.StatusCreated {
		t.Fatalf("activate: %d %s", res.status, res.body)
	}
	var act struct {
		Machine struct {
			ID   string  `json:"id"`
			User *string `json:"user"`
		} `json:"machine"`
		Licence json.RawMessage `json:"licence"`
	}
	res.json(t, &act)
	keys, err := licensing.ParseKeyRing(a.get("/api/v1/keys", "").body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := licensing.VerifyMachineLicence(act.Licence, keys, "hw-1", time.Now()); err != nil {
		t.Fatalf("the machine licence does not verify on its machine: %v", err)
	}
	if _, err := licensing.VerifyMachineLicence(act.Licence, keys, "hw-2", time.Now()); err == nil {
		t.Fatal("the machine licence verifies on another machine")
	}
	if res := activate("hw-1", "alice@globex.test"); res.status != http.StatusOK {
		t.Fatalf("activating the same machine again: %d", res.status)
	}
	activate("hw-2", "alice@globex.test")
	p := activate("hw-3", "alice@globex.test").problem(t, http.StatusConflict, "machine-limit-reached")
	if !strings.Contains(p.Detail, "2 machines per seat holder (workstations)") {
		t.Fatalf("the problem does not name the limit: %q", p.Detail)
	}
	activate("hw-4", "erin@globex.test").problem(t, http.StatusForbidden, "no-access")
	bad := activate("", "alice@globex.test").problem(t, http.StatusBadRequest, "invalid-request")
	if bad.Errors["fingerprint"] == "" {
		t.Fatalf("empty fingerprint: %+v", bad)
	}

	var list struct{ Machines []struct{ ID string } }
	a.get(base, key).json(t, &list)
	if len(list.Machines) != 2 {
		t.Fatalf("machines: %+v", list)
	}
	m := base + "/" + act.Machine.ID
	if res := a.do(http.MethodDelete, m, key, ""); res.status != http.StatusNoContent {
		t.Fatalf("deactivate: %d %s", res.status, res.body)
	}
	a.do(http.MethodPost, m+"/heartbeat", key, "").problem(t, http.StatusGone, "machine-deactivated")
	a.get(m+"/license", key).problem(t, http.StatusGone, "machine-deactivated")
	a.do(http.MethodDelete, m, key, "").problem(t, http.StatusNotFound, "not-found")
	if res := activate("hw-3", "alice@globex.test"); res.status != http.StatusCreated {
		t.Fatalf("after deactivating: %d %s", res.status, res.body)
	}
}
