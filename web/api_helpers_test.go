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
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/checks"
	"github.com/entitle-dev/entitle/handlers"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// apiInstance is one running Entitle instance: its own store (connection
// pool), its own entitlement cache listening for changes, its own server.
type apiInstance struct {
	t     testing.TB
	url   string
	store *store.Store
	cache *checks.Cache
	echo  *echo.Echo
	srv   *httptest.Server
}

type apiOption func(*web.Options)

// newAPI starts an instance on a fresh demo database.
func newAPI(t testing.TB, opts ...apiOption) *apiInstance {
	t.Helper()
	s := storetest.NewDemo(t, nil)
	return startInstance(t, s, opts...)
}

// databaseURL is the URL of the store's database (for a listener or a
// second instance).
func databaseURL(t testing.TB, s *store.Store) string {
	t.Helper()
	var name string
	if err := s.DB().Get(&name, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}
	return storetest.ServerURL(name)
}

// secondInstance starts another instance on the same database with its own
// pool, as another machine would.
func secondInstance(t *testing.T, first *apiInstance) *apiInstance {
	t.Helper()
	db, err := store.Open(context.Background(), databaseURL(t, first.store), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return startInstance(t, store.New(db, nil))
}

func startInstance(t testing.TB, s *store.Store, opts ...apiOption) *apiInstance {
	t.Helper()
	return startInstanceAt(t, s, databaseURL(t, s), opts...)
}

// startInstanceAt starts an instance whose change listener connects to
// url (the store's database).
func startInstanceAt(t testing.TB, s *store.Store, url string, opts ...apiOption) *apiInstance {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cache := checks.New(s, logger, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = cache.Run(ctx, url) }()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(10 * time.Second); !cache.Live(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the change listener did not connect")
		}
	}
	o := web.Options{Store: s, Logger: logger, SessionSecret: []byte("test-secret-test-secret-test-secret!"), Checks: cache}
	for _, opt := range opts {
		opt(&o)
	}
	e := web.New(o)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &apiInstance{t: t, url: srv.URL, store: s, cache: cache, echo: e, srv: srv}
}

// accountID finds a demo account.
func (a *apiInstance) accountID(slug string) int64 {
	a.t.Helper()
	acct, err := a.store.AccountBySlug(context.Background(), slug)
	if err != nil {
		a.t.Fatal(err)
	}
	return acct.ID
}

// newKey creates an API key for a demo account.
func (a *apiInstance) newKey(slug string, scopes ...string) string {
	a.t.Helper()
	if len(scopes) == 0 {
		scopes = store.Scopes
	}
	token, _, err := a.store.CreateAPIKey(context.Background(), store.SystemActor("test"), a.accountID(slug), "test key", scopes)
	if err != nil {
		a.t.Fatal(err)
	}
	return token
}

// apiResponse is an answer, already checked against the OpenAPI document.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r apiResponse) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, r.body)
	}
}

// problem decodes a problem document and checks its status and type.
func (r apiResponse) problem(t *testing.T, status int, kind string) handlers.Problem {
	t.Helper()
	var p handlers.Problem
	r.json(t, &p)
	if r.status != status || p.Status != status || p.Type != handlers.ProblemTypeBase+kind ||
		r.header.Get("Content-Type") != "application/problem+json" || p.Title == "" {
		t.Fatalf("want %d %s problem, got %d %s: %s", status, kind, r.status, r.header.Get("Content-Type"), r.body)
	}
	return p
}

func (r apiResponse) check(t *testing.T) checkAnswer {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("check: %d %s", r.status, r.body)
	}
	var c checkAnswer
	r.json(t, &c)
	return c
}

type checkAnswer struct {
	Feature string `json:"feature"`
	licensing.Decision
	Plan   *licensing.PlanRef `json:"plan"`
	Status *string            `json:"status"`
	User   string             `json:"user"`
}

// do sends a request and validates the answer against the OpenAPI
// document (status, headers, body), so every answer any API test sees is
// known to match what the document promises.
func (a *apiInstance) do(method, path, key, body string, header ...string) apiResponse {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.url+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	if err := validateAgainstOpenAPI(req, res, data); err != nil {
		a.t.Fatalf("%s %s → %d does not match the OpenAPI document: %v\n%s", method, path, res.StatusCode, err, data)
	}
	return apiResponse{status: res.StatusCode, header: res.Header, body: data}
}

func (a *apiInstance) get(path, key string) apiResponse { return a.do(http.MethodGet, path, key, "") }

var (
	openAPIOnce   sync.Once
	openAPIDoc    *openapi3.T
	openAPIRouter routers.Router
	openAPIErr    error
)

// loadOpenAPI parses and validates the embedded document (OpenAPI 3.1,
// with kin-openapi's JSON Schema 2020-12 validation).
func loadOpenAPI() (*openapi3.T, routers.Router, error) {
	openAPIOnce.Do(func() {
		loader := openapi3.NewLoader()
		openAPIDoc, openAPIErr = loader.LoadFromData(handlers.OpenAPIDocument())
		if openAPIErr == nil {
			openAPIRouter, openAPIErr = legacy.NewRouter(openAPIDoc)
		}
	})
	return openAPIDoc, openAPIRouter, openAPIErr
}

func validateAgainstOpenAPI(req *http.Request, res *http.Response, body []byte) error {
	_, router, err := loadOpenAPI()
	if err != nil {
		return err
	}
	vreq := req.Clone(context.Background())
	vreq.URL.Scheme, vreq.URL.Host, vreq.Host = "", "", ""
	route, params, err := router.FindRoute(vreq)
	if err != nil {
		return err
	}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	})
}

// fixedClock is a clock that does not move (for the rate limiter).
type fixedClock struct{ at time.Time }

func (c fixedClock) Now() time.Time { return c.at }

// portal is the instance's portal, for a browser-like client.
func (a *apiInstance) portal(t *testing.T) *portal {
	return &portal{t: t, srv: a.srv, store: a.store, client: newClient()}
}
