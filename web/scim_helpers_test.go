package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// scimClient is an identity provider: it speaks SCIM to /scim/v2 with a
// bearer token, as Okta or Entra would.
type scimClient struct {
	t     testing.TB
	base  string
	token string
	// query is appended to every path (Entra's ?aadOptscim062020 flag).
	query string
}

// scimAnswer is one response, decoded (numbers as json.Number).
type scimAnswer struct {
	status int
	header http.Header
	body   []byte
	doc    map[string]any
}

// newSCIMToken makes a SCIM token for a demo account.
func newSCIMToken(t testing.TB, s *store.Store, slug, name string) string {
	t.Helper()
	tok, err := s.CreateSCIMTokenFor(context.Background(), store.SystemActor("test"), slug, name)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

func (c scimClient) do(method, path, body string) scimAnswer {
	c.t.Helper()
	url := c.base + "/scim/v2" + path
	if c.query != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		url += sep + c.query
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	a := scimAnswer{status: res.StatusCode, header: res.Header}
	if a.body, err = io.ReadAll(res.Body); err != nil {
		c.t.Fatal(err)
	}
	if res.StatusCode == http.StatusNoContent {
		if len(a.body) != 0 {
			c.t.Errorf("%s %s: 204 with a body %q", method, path, a.body)
		}
		return a
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		c.t.Errorf("%s %s: %d with Content-Type %q, want application/scim+json", method, path, res.StatusCode, ct)
	}
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.UseNumber()
	if err := dec.Decode(&a.doc); err != nil {
		c.t.Errorf("%s %s: %d, body is not a JSON object: %v\n%s", method, path, res.StatusCode, err, a.body)
	}
	return a
}

func (c scimClient) get(path string) scimAnswer { return c.do(http.MethodGet, path, "") }

// ok checks the status and returns the answer.
func (a scimAnswer) ok(t testing.TB, status int) scimAnswer {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	return a
}

// scimError checks an error document: RFC 7644 §3.12, status as a string,
// a detail (Okta's spec test), and the scimType when one is expected.
func (a scimAnswer) scimError(t testing.TB, status int, scimType string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	schemas, _ := a.doc["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		t.Errorf("error schemas = %v", a.doc["schemas"])
	}
	if got, _ := a.doc["status"].(string); got != itoa(int64(status)) {
		t.Errorf("error status = %#v, want the string %q", a.doc["status"], itoa(int64(status)))
	}
	if d, _ := a.doc["detail"].(string); d == "" {
		t.Error("error without a detail")
	}
	if got, _ := a.doc["scimType"].(string); got != scimType {
		t.Errorf("scimType = %q, want %q (%s)", got, scimType, a.body)
	}
}

// at reads a value by keys and list indexes: at("emails", 0, "value").
func (a scimAnswer) at(path ...any) any { return at(a.doc, path...) }

func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func (a scimAnswer) str(path ...any) string {
	s, _ := a.at(path...).(string)
	return s
}

// integer reads a ListResponse figure, which must be a JSON number.
func (a scimAnswer) integer(t testing.TB, key string) int64 {
	t.Helper()
	n, ok := a.doc[key].(json.Number)
	if !ok {
		t.Fatalf("%s = %#v, want an integer", key, a.doc[key])
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%s = %s, want an integer", key, n)
	}
	return i
}

// resources lists a ListResponse's resources.
func (a scimAnswer) resources(t testing.TB) []map[string]any {
	t.Helper()
	list, ok := a.doc["Resources"].([]any)
	if !ok {
		t.Fatalf("no Resources array in %s", a.body)
	}
	out := make([]map[string]any, 0, len(list))
	for _, r := range list {
		m, _ := r.(map[string]any)
		out = append(out, m)
	}
	return out
}

// settle waits until the reconciler has nothing pending, then runs it once
// more itself, so that seats of short pools are allocated.
func settle(t testing.TB, s *store.Store, r *store.Reconciler, accountID int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if r != nil {
		if err := r.Idle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Reconcile(ctx, accountID, store.ReconcileOptions{}); err != nil {
		t.Fatal(err)
	}
}

// seatsAndWaiting counts an account's seats given by rules and its waiting entries.
func seatsAndWaiting(t testing.TB, s *store.Store, accountID int64) (ruleSeats, waiting int) {
	t.Helper()
	if err := s.DB().QueryRow(`SELECT (SELECT count(*) FROM seat_assignment WHERE account_id = $1 AND source = 'rule'),
		(SELECT count(*) FROM waiting_entry WHERE account_id = $1)`, accountID).Scan(&ruleSeats, &waiting); err != nil {
		t.Fatal(err)
	}
	return ruleSeats, waiting
}

// scimPortal is the portal on a fresh demo database with its reconciler in
// reach, and an identity provider holding a token of Globex.
type scimPortal struct {
	*portal
	reconciler *store.Reconciler
	idp        scimClient
	globex     int64
}

func newSCIMPortal(t *testing.T) *scimPortal {
	t.Helper()
	s := storetest.NewDemo(t, nil)
	r := store.NewReconciler(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(r.Close)
	e := web.New(web.Options{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SessionSecret: []byte("test-secret-test-secret-test-secret!"), Reconciler: r})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	p := &scimPortal{portal: &portal{t: t, srv: srv, store: s, client: newClient()}, reconciler: r,
		globex: mustAccount(t, s, "globex")}
	p.idp = scimClient{t: t, base: srv.URL, token: newSCIMToken(t, s, "globex", "Okta")}
	return p
}
