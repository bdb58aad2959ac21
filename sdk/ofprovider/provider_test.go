package ofprovider_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/sdk/entitle"
	"github.com/entitle-dev/entitle/sdk/ofprovider"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// The provider's answers are the API's: for each feature and user, the
// boolean flag equals the API's has_access and the numeric flag its
// remaining.
func TestProviderAnswersWhatTheAPIAnswers(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	srv := httptest.NewServer(web.New(web.Options{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SessionSecret: []byte("of-secret-of-secret-of-secret-of-secret")}))
	defer srv.Close()
	ctx := context.Background()
	acct, _ := s.AccountBySlug(ctx, "globex")
	key, _, err := s.CreateAPIKey(ctx, store.SystemActor("test"), acct.ID, "of", store.Scopes)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if err := json.NewDecoder(res.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var ring json.RawMessage
	get("/api/v1/keys", &ring)
	keys, err := licensing.ParseKeyRing(ring)
	if err != nil {
		t.Fatal(err)
	}
	c, err := entitle.New(entitle.Config{BaseURL: srv.URL, APIKey: key, Account: "globex", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	p := ofprovider.New(map[string]*entitle.Client{"globex": c})
	if err := openfeature.SetNamedProviderAndWait("entitle-conformance", p); err != nil {
		t.Fatal(err)
	}
	of := openfeature.NewClient("entitle-conformance")
	for _, feature := range []string{"dashboards", "exports", "sso", "api_calls", "projects", "desktop_floating"} {
		for _, user := range []string{"", "alice@globex.test", "frank@globex.test"} {
			var api struct {
				HasAccess bool   `json:"has_access"`
				Remaining *int64 `json:"remaining"`
			}
			path := "/api/v1/accounts/globex/entitlements/" + feature
			if user != "" {
				path += "?user=" + user
			}
			get(path, &api)
			evalCtx := openfeature.NewEvaluationContext(user, map[string]any{"account": "globex"})
			got, err := of.BooleanValue(ctx, feature, !api.HasAccess, evalCtx)
			if err != nil || got != api.HasAccess {
				t.Errorf("%s for %q: flag %v (%v), API %v", feature, user, got, err, api.HasAccess)
			}
			if api.Remaining != nil || feature == "projects" {
				n, err := of.IntValue(ctx, feature, -1, evalCtx)
				want := int64(math.MaxInt64)
				if api.Remaining != nil {
					want = *api.Remaining
				}
				if !api.HasAccess {
					want = 0
				}
				if err != nil || n != want {
					t.Errorf("%s for %q: numeric flag %d (%v), want %d", feature, user, n, err, want)
				}
			}
		}
	}
	// No account, an unknown account, an unknown feature: errors and the
	// application's default, never a yes.
	for name, evalCtx := range map[string]openfeature.EvaluationContext{
		"no account":      openfeature.NewEvaluationContext("alice@globex.test", nil),
		"unknown account": openfeature.NewEvaluationContext("alice@globex.test", map[string]any{"account": "hooli"}),
	} {
		d, err := of.BooleanValueDetails(ctx, "dashboards", false, evalCtx)
		if err == nil || d.Value || d.ErrorCode != openfeature.InvalidContextCode {
			t.Errorf("%s: %+v %v", name, d, err)
		}
	}
	d, err := of.BooleanValueDetails(ctx, "nope", false, openfeature.NewEvaluationContext("", map[string]any{"account": "globex"}))
	if err == nil || d.ErrorCode != openfeature.FlagNotFoundCode {
		t.Errorf("unknown feature: %+v %v", d, err)
	}
	if _, err := of.IntValue(ctx, "dashboards", 0, openfeature.NewEvaluationContext("", map[string]any{"account": "globex"})); err == nil {
		t.Error("a boolean feature as a number is not an error")
	}
}
