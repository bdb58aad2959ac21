package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/entitle-dev/entitle/store"
)

// newVendorKey creates a vendor key with scopes (every vendor scope when
// none are named).
func (a *apiInstance) newVendorKey(scopes ...string) string {
	a.t.Helper()
	if len(scopes) == 0 {
		scopes = store.VendorScopes
	}
	token, _, err := a.store.CreateVendorKey(context.Background(), store.SystemActor("test"), "vendor backend", scopes)
	if err != nil {
		a.t.Fatal(err)
	}
	return token
}

func (a *apiInstance) setExternalID(slug, ext string) {
	a.t.Helper()
	if _, err := a.store.UpdateAccount(context.Background(), store.SystemActor("test"), a.accountID(slug),
		store.AccountUpdate{ExternalID: &ext}); err != nil {
		a.t.Fatal(err)
	}
}

func TestVendorKeyChecksAnyAccountByExternalID(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.setExternalID("globex", "crm-4711")
	vendor := a.newVendorKey(store.ScopeCheck)
	globexKey := a.newKey("globex")

	for _, path := range []string{
		"/api/v1/accounts/ext:crm-4711/entitlements/dashboards",
		"/api/v1/accounts/globex/entitlements/dashboards",
	} {
		res := a.get(path, vendor)
		c := res.check(t)
		var body struct {
			Account string `json:"account"`
		}
		res.json(t, &body)
		if !c.HasAccess || body.Account != "globex" {
			t.Fatalf("%s with the vendor key: %+v account %q", path, c.Decision, body.Account)
		}
	}
	// The same vendor key reaches every account.
	if c := a.get("/api/v1/accounts/initech/entitlements/exports", vendor).check(t); !c.HasAccess {
		t.Fatalf("vendor key on Initech: %+v", c.Decision)
	}
	a.get("/api/v1/accounts/ext:no-such-customer/entitlements/dashboards", vendor).problem(t, http.StatusNotFound, "not-found")

	// An account key still reaches only its own account, under either name.
	a.get("/api/v1/accounts/initech/entitlements/exports", globexKey).problem(t, http.StatusNotFound, "not-found")
	a.setExternalID("initech", "crm-1")
	a.get("/api/v1/accounts/ext:crm-1/entitlements/exports", globexKey).problem(t, http.StatusNotFound, "not-found")
	if c := a.get("/api/v1/accounts/ext:crm-4711/entitlements/dashboards", globexKey).check(t); !c.HasAccess {
		t.Fatalf("Globex's key naming Globex by its external id: %+v", c.Decision)
	}

	// A vendor key without the scope is refused like an account key.
	a.get("/api/v1/accounts/globex/license", vendor).problem(t, http.StatusForbidden, "insufficient-scope")
	// Account keys cannot list or create accounts.
	a.get("/api/v1/accounts", globexKey).problem(t, http.StatusForbidden, "insufficient-scope")
}

func TestVendorKeyRevokedFailsAtOnce(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	token, key, err := a.store.CreateVendorKey(context.Background(), store.SystemActor("test"), "backend", []string{store.ScopeCheck})
	if err != nil {
		t.Fatal(err)
	}
	a.get("/api/v1/accounts/globex/entitlements/dashboards", token).check(t)
	if err := a.store.RevokeVendorKey(context.Background(), store.SystemActor("test"), key.ID); err != nil {
		t.Fatal(err)
	}
	a.get("/api/v1/accounts/globex/entitlements/dashboards", token).problem(t, http.StatusUnauthorized, "unauthorized")
	if _, _, err := a.store.CreateVendorKey(context.Background(), store.SystemActor("test"), "x", []string{"admin"}); err == nil {
		t.Fatal("a vendor key with an unknown scope was created")
	}
}

type accountDoc struct {
	ID            int64   `json:"id"`
	Slug          string  `json:"slug"`
	Name          string  `json:"name"`
	ExternalID    *string `json:"external_id"`
	Subscriptions []struct {
		Plan   string `json:"plan"`
		Status string `json:"status"`
		Seats  int    `json:"seats"`
	} `json:"subscriptions"`
	Entitlements []checkAnswer `json:"entitlements"`
}

func TestAccountsAPIListsCreatesAndRenames(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	vendor := a.newVendorKey()
	reader := a.newVendorKey(store.ScopeAccountsRead)

	var page struct {
		Accounts   []accountDoc `json:"accounts"`
		NextCursor *string      `json:"next_cursor"`
	}
	a.get("/api/v1/accounts?plan=team", reader).json(t, &page)
	if len(page.Accounts) != 2 || page.Accounts[1].Slug != "umbrella" {
		t.Fatalf("plan=team: %+v", page.Accounts)
	}
	a.get("/api/v1/accounts?plan=team&status=active", reader).json(t, &page)
	if len(page.Accounts) != 1 || page.Accounts[0].Slug != "globex" || page.Accounts[0].Subscriptions[0].Seats != 10 {
		t.Fatalf("plan=team: %+v", page.Accounts)
	}
	a.get("/api/v1/accounts?status=trialing", reader).json(t, &page)
	if len(page.Accounts) != 1 || page.Accounts[0].Slug != "initech" {
		t.Fatalf("status=trialing: %+v", page.Accounts)
	}
	// Paging: one at a time until the cursor runs out.
	seen := map[string]bool{}
	cursor := ""
	for i := 0; i < 10; i++ {
		page.NextCursor = nil
		a.get("/api/v1/accounts?limit=1&cursor="+cursor, reader).json(t, &page)
		for _, acct := range page.Accounts {
			seen[acct.Slug] = true
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if !seen["globex"] || !seen["initech"] || !seen["umbrella"] {
		t.Fatalf("paging saw %v", seen)
	}
	a.get("/api/v1/accounts?limit=5000", reader).problem(t, http.StatusBadRequest, "invalid-request")
	a.get("/api/v1/accounts?status=happy", reader).problem(t, http.StatusBadRequest, "invalid-request")

	// Create with an owner invitation, an external id and a trial.
	res := a.do(http.MethodPost, "/api/v1/accounts", vendor,
		`{"name":"Initrode","owner_email":"bill@initrode.test","external_id":"crm-9","plan":"business","start":"trial"}`)
	var created accountDoc
	res.json(t, &created)
	if res.status != http.StatusCreated || created.Slug != "initrode" || created.ExternalID == nil || *created.ExternalID != "crm-9" ||
		len(created.Subscriptions) != 1 || created.Subscriptions[0].Status != "trialing" || len(created.Entitlements) == 0 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	if res.header.Get("Location") != "/api/v1/accounts/initrode" {
		t.Errorf("Location = %q", res.header.Get("Location"))
	}
	mails, _ := a.store.Outbox(context.Background(), 10)
	if len(mails) == 0 || mails[0].To != "bill@initrode.test" || !strings.Contains(mails[0].Body, "/invitations/") {
		t.Fatalf("the owner was not invited: %+v", mails)
	}
	// Read it back by the vendor's id.
	var got accountDoc
	a.get("/api/v1/accounts/ext:crm-9", reader).json(t, &got)
	if got.ID != created.ID {
		t.Fatalf("by external id: %+v", got)
	}

	// Bad input: problem documents naming the field; nothing half-written.
	for body, field := range map[string]string{
		`{"name":"Dup","owner_email":"x@dup.test","external_id":"crm-9"}`:              "external_id",
		`{"name":"","owner_email":"x@dup.test"}`:                                       "name",
		`{"name":"NoMail","owner_email":"not an address"}`:                             "owner_email",
		`{"name":"NoTrial","owner_email":"x@t.test","plan":"team","start":"trial"}`:    "start",
		`{"name":"NoPlan","owner_email":"x@t.test","plan":"platinum","start":"grant"}`: "plan",
		`{"name":"Half","owner_email":"x@t.test","plan":"team"}`:                       "start",
	} {
		p := a.do(http.MethodPost, "/api/v1/accounts", vendor, body).problem(t, http.StatusBadRequest, "invalid-request")
		if p.Errors[field] == "" {
			t.Errorf("%s: errors %v, want one for %s", body, p.Errors, field)
		}
	}
	a.do(http.MethodPost, "/api/v1/accounts", reader, `{"name":"X","owner_email":"x@x.test"}`).problem(t, http.StatusForbidden, "insufficient-scope")
	var n int
	if err := a.store.DB().Get(&n, `SELECT count(*) FROM account WHERE name IN ('Dup', 'NoMail', 'NoTrial', 'NoPlan', 'Half', 'X')`); err != nil || n != 0 {
		t.Fatalf("%d refused accounts were written (%v)", n, err)
	}

	// Rename and move the external id: the new id works at once, the old
	// one no longer names the account.
	res = a.do(http.MethodPatch, "/api/v1/accounts/ext:crm-9", vendor, `{"name":"Initrode Global","external_id":"erp-77"}`)
	res.json(t, &got)
	if res.status != http.StatusOK || got.Name != "Initrode Global" || *got.ExternalID != "erp-77" {
		t.Fatalf("update: %d %s", res.status, res.body)
	}
	a.get("/api/v1/accounts/ext:erp-77", reader).json(t, &got)
	a.get("/api/v1/accounts/ext:crm-9", reader).problem(t, http.StatusNotFound, "not-found")
	a.do(http.MethodPatch, "/api/v1/accounts/initrode", vendor, `{"slug":"x"}`).problem(t, http.StatusBadRequest, "invalid-request")
	res = a.do(http.MethodPatch, "/api/v1/accounts/initrode", vendor, `{"external_id":null}`)
	res.json(t, &got)
	if got.ExternalID != nil {
		t.Fatalf("external_id null did not clear it: %s", res.body)
	}
}

func TestWebhookEndpointsThroughTheAPINeedTheWebhooksScope(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	ctx := context.Background()
	ep, err := a.store.CreateWebhookEndpoint(ctx, store.SystemActor("test"), store.WebhookEndpointInput{URL: "https://crm.example.com/hooks"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.store.SendTestWebhook(ctx, store.SystemActor("test"), ep.ID); err != nil {
		t.Fatal(err)
	}
	monitor := a.newVendorKey(store.ScopeWebhooks)
	res := a.get("/api/v1/webhooks/endpoints", monitor)
	if res.status != http.StatusOK || strings.Contains(string(res.body), ep.Secret) || !strings.Contains(string(res.body), `"pending":1`) {
		t.Fatalf("endpoints: %d %s", res.status, res.body)
	}
	var log struct {
		Deliveries []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"deliveries"`
	}
	a.get("/api/v1/webhooks/endpoints/"+itoa(ep.ID)+"/deliveries?status=pending", monitor).json(t, &log)
	if len(log.Deliveries) != 1 || log.Deliveries[0].Type != store.EventWebhookTest {
		t.Fatalf("deliveries: %+v", log.Deliveries)
	}
	a.get("/api/v1/webhooks/endpoints/999/deliveries", monitor).problem(t, http.StatusNotFound, "not-found")
	a.get("/api/v1/webhooks/endpoints", a.newVendorKey(store.ScopeCheck)).problem(t, http.StatusForbidden, "insufficient-scope")
	a.get("/api/v1/webhooks/endpoints", a.newKey("globex")).problem(t, http.StatusForbidden, "insufficient-scope")
}
