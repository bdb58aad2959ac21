package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

var echoParam = regexp.MustCompile(`:([a-z_]+)`)

// TestOpenAPIDescribesEveryRoute keeps handlers/openapi.json and the route
// table in step: every /api/v1 route is in the document and every
// operation of the document is a route; then each route is called and its
// answer validated against the document (as every API test's answers are).
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	doc, _, err := loadOpenAPI()
	if err != nil {
		t.Fatalf("the OpenAPI document does not load or validate: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	a := newAPI(t)
	routes := map[string]bool{}
	for _, r := range a.echo.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1") || r.Method == echo.RouteNotFound {
			continue
		}
		path := echoParam.ReplaceAllString(r.Path, "{$1}")
		routes[r.Method+" "+path] = true
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("route %s %s is not in handlers/openapi.json", r.Method, path)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !routes[method+" "+path] {
				t.Errorf("handlers/openapi.json describes %s %s, which is no route", method, path)
			}
		}
	}
	if len(routes) < 6 {
		t.Fatalf("found only %d API routes: %v", len(routes), routes)
	}

	// One successful call per route, each validated by a.do.
	key := a.newKey("globex")
	vendor := a.newVendorKey()
	ep, err := a.store.CreateWebhookEndpoint(context.Background(), store.SystemActor("test"),
		store.WebhookEndpointInput{URL: "https://hooks.example.com/entitle"})
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{
		"GET /api/v1/openapi.json":                              a.get("/api/v1/openapi.json", "").status,
		"GET /api/v1/keys":                                      a.get("/api/v1/keys", "").status,
		"GET /api/v1/accounts/{account}/entitlements":           a.get("/api/v1/accounts/globex/entitlements", key).status,
		"GET /api/v1/accounts/{account}/entitlements/{feature}": a.get("/api/v1/accounts/globex/entitlements/sso", key).status,
		"POST /api/v1/accounts/{account}/usage": a.do(http.MethodPost, "/api/v1/accounts/globex/usage", key,
			`{"feature":"api_calls","quantity":1}`, "Idempotency-Key", "openapi-1").status,
		"GET /api/v1/accounts/{account}/license": a.get("/api/v1/accounts/globex/license", key).status,
		"GET /api/v1/accounts":                   a.get("/api/v1/accounts", vendor).status,
		"POST /api/v1/accounts": a.do(http.MethodPost, "/api/v1/accounts", vendor,
			`{"name":"OpenAPI Inc","owner_email":"owner@openapi.test"}`).status,
		"GET /api/v1/accounts/{account}": a.get("/api/v1/accounts/globex", vendor).status,
		"PATCH /api/v1/accounts/{account}": a.do(http.MethodPatch, "/api/v1/accounts/globex", vendor,
			`{"external_id":"crm-openapi"}`).status,
		"GET /api/v1/webhooks/endpoints":                 a.get("/api/v1/webhooks/endpoints", vendor).status,
		"GET /api/v1/webhooks/endpoints/{id}/deliveries": a.get(fmt.Sprintf("/api/v1/webhooks/endpoints/%d/deliveries", ep.ID), vendor).status,
	}
	exerciseDeviceRoutes(t, a, key, calls)
	for route := range routes {
		if status, ok := calls[route]; !ok || status >= 300 {
			t.Errorf("route %s: not exercised here (status %d); add it to this test", route, status)
		}
	}
}

// TestOpenAPIValidationCatchesAWrongAnswer proves the validator really
// checks bodies against the 3.1 schemas (type arrays, enums, required).
func TestOpenAPIValidationCatchesAWrongAnswer(t *testing.T) {
	t.Parallel()
	req, _ := http.NewRequest(http.MethodGet, "/api/v1/accounts/globex/entitlements/sso", nil)
	good := `{"account":"globex","product":"analytics","feature":"sso","kind":"boolean","has_access":false,"reason":"not_in_plan",
		"limit":null,"used":0,"remaining":null,"plan":null,"status":null,"checked_at":"2025-03-15T12:00:00Z"}`
	for name, c := range map[string]struct {
		status int
		body   string
		ok     bool
	}{
		"good":                {200, good, true},
		"unknown reason":      {200, strings.Replace(good, "not_in_plan", "maybe", 1), false},
		"missing field":       {200, strings.Replace(good, `"plan":null,`, "", 1), false},
		"limit not a number":  {200, strings.Replace(good, `"limit":null`, `"limit":"lots"`, 1), false},
		"undocumented status": {418, good, false},
	} {
		res := &http.Response{StatusCode: c.status, Header: http.Header{"Content-Type": {"application/json"}}}
		err := validateAgainstOpenAPI(req, res, []byte(c.body))
		if (err == nil) != c.ok {
			t.Errorf("%s: validation error = %v, want ok=%v", name, err, c.ok)
		}
	}
	var re *openapi3filter.ResponseError
	if err := validateAgainstOpenAPI(req, &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}},
		[]byte(`{}`)); !errors.As(err, &re) {
		t.Errorf("empty body: %v", err)
	}
}

func TestLicenceFromTheAPIVerifiesOfflineLikeTheOnlineCheck(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.newKey("globex")
	ring := func() licensing.KeyRing {
		res := a.get("/api/v1/keys", "")
		r, err := licensing.ParseKeyRing(res.body)
		if err != nil {
			t.Fatalf("public keys: %v\n%s", err, res.body)
		}
		return r
	}
	fetch := func() []byte {
		res := a.get("/api/v1/accounts/globex/license", key)
		if res.status != http.StatusOK || !strings.Contains(res.header.Get("Content-Disposition"), "globex.licence.json") {
			t.Fatalf("licence: %d %s", res.status, res.header)
		}
		return res.body
	}
	first := fetch()
	now := time.Now()
	lic, err := licensing.VerifyLicence(first, ring(), now)
	if err != nil {
		t.Fatalf("the licence the API serves does not verify: %v", err)
	}
	if d := lic.ValidUntil.Sub(lic.IssuedAt); d != 30*24*time.Hour {
		t.Errorf("licence valid for %v, want 30 days", d)
	}
	for _, feature := range []string{"dashboards", "exports", "sso", "api_calls", "projects"} {
		for _, user := range []string{"", "alice@globex.test", "frank@globex.test"} {
			path := "/api/v1/accounts/globex/entitlements/" + feature
			if user != "" {
				path += "?user=" + user
			}
			online := a.get(path, key).check(t)
			offline, err := lic.Check(feature, user, now)
			if err != nil {
				t.Fatal(err)
			}
			if offline.Decision.HasAccess != online.HasAccess || offline.Decision.Reason != online.Reason ||
				offline.Decision.Used != online.Used || offline.Plan.Key != online.Plan.Key {
				t.Errorf("%s for %q: offline %+v, online %+v", feature, user, offline.Decision, online.Decision)
			}
		}
	}

	// Rotation: new licences name the new key; the old one still verifies
	// until its key is retired.
	newKey, err := a.store.RotateSigningKey(context.Background(), store.SystemActor("test"), nil)
	if err != nil {
		t.Fatal(err)
	}
	second := fetch()
	both := ring()
	if len(both) != 2 {
		t.Fatalf("after rotation the key file has %v", both.IDs())
	}
	if l, err := licensing.VerifyLicence(second, both, now); err != nil || l.KeyID != newKey.ID {
		t.Fatalf("licence after rotation: %v, key %v", err, l)
	}
	if _, err := licensing.VerifyLicence(first, both, now); err != nil {
		t.Fatalf("a licence signed before the rotation no longer verifies: %v", err)
	}
	if err := a.store.RetireSigningKey(context.Background(), store.SystemActor("test"), lic.KeyID); err != nil {
		t.Fatal(err)
	}
	if _, err := licensing.VerifyLicence(first, ring(), now); !errors.Is(err, licensing.ErrLicenceUnknownKey) {
		t.Fatalf("licence of a retired key: %v", err)
	}
}
