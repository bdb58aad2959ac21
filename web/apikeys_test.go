package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

func TestAdminCreatesAKeySeesItOnceUsesItAndRevokesIt(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	p := a.portal(t)
	c := p.login("owner@globex.test")
	res, doc := p.get(c, "/settings/api-keys")
	if res.StatusCode != http.StatusOK || doc.Find(`[data-testid="no-api-keys"]`).Length() != 1 {
		t.Fatalf("API keys page: %d", res.StatusCode)
	}
	if doc.Find(`[data-testid="public-key"]`).Length() != 1 {
		t.Error("the page shows no public key")
	}
	res, doc = p.post(c, "/settings/api-keys", url.Values{"_csrf": {csrfToken(doc)}, "name": {"production servers"},
		"scopes": {"check", "usage"}})
	token := text(doc, "new-api-key")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(token, "ent_") || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d, key %q", res.StatusCode, token)
	}
	row := doc.Find(`[data-testid="api-key-row"]`)
	prefix, _ := row.Attr("data-prefix")
	if row.Length() != 1 || !strings.HasPrefix(token, prefix+"_") || text(doc, "api-key-scopes") != "check, usage" ||
		text(doc, "api-key-last-used") != "never" {
		t.Fatalf("key row: prefix %q, scopes %q", prefix, text(doc, "api-key-scopes"))
	}
	// Shown once: the list never shows it again, nor does the database hold it.
	_, doc = p.get(c, "/settings/api-keys")
	if html, _ := doc.Html(); strings.Contains(html, token) {
		t.Fatal("the key is shown again")
	}
	var stored int
	secret := token[len(prefix)+1:]
	if err := a.store.DB().Get(&stored, `SELECT count(*) FROM api_key k WHERE k::text LIKE '%' || $1 || '%'`, secret); err != nil || stored != 0 {
		t.Fatal("the key is stored in clear")
	}

	a.get("/api/v1/accounts/globex/entitlements/dashboards", token).check(t)
	a.get("/api/v1/accounts/globex/license", token).problem(t, http.StatusForbidden, "insufficient-scope")
	if err := a.cache.FlushKeyUse(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, doc = p.get(c, "/settings/api-keys"); text(doc, "api-key-last-used") == "never" {
		t.Error("last use not shown after the key was used")
	}

	id := keyID(t, a, prefix)
	res, doc = p.post(c, "/settings/api-keys/"+itoa(id)+"/revoke", url.Values{"_csrf": {csrfToken(doc)}})
	if res.StatusCode != http.StatusOK || doc.Find(`[data-testid="api-key-revoked"]`).Length() != 1 {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	a.get("/api/v1/accounts/globex/entitlements/dashboards", token).problem(t, http.StatusUnauthorized, "unauthorized")

	var actions []string
	_ = a.store.DB().Select(&actions, `SELECT action FROM audit_entry WHERE action LIKE 'apikey.%' ORDER BY id`)
	if strings.Join(actions, ",") != "apikey.create,apikey.revoke" {
		t.Errorf("audit: %v", actions)
	}
}

func keyID(t *testing.T, a *apiInstance, prefix string) int64 {
	t.Helper()
	var id int64
	if err := a.store.DB().Get(&id, `SELECT id FROM api_key WHERE prefix = $1`, prefix); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestAPIKeysPageAnswersHTMXWithTheSectionOnly(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	p := a.portal(t)
	c := p.login("admin@globex.test")
	_, doc := p.get(c, "/settings/api-keys")
	form := url.Values{"_csrf": {csrfToken(doc)}, "name": {""}, "scopes": {"check"}}
	req, _ := http.NewRequest(http.MethodPost, p.srv.URL+"/settings/api-keys", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", csrfToken(doc))
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	frag, _ := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if res.StatusCode != http.StatusUnprocessableEntity || strings.Contains(string(body), "<html") ||
		!strings.Contains(text(frag, "api-key-error"), "name") {
		t.Fatalf("htmx create without a name: %d %s", res.StatusCode, body)
	}
}

func TestMembersCannotManageKeysOrDownloadTheLicence(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := p.login("alice@globex.test")
	for _, path := range []string{"/settings/api-keys", "/settings/licence", "/settings/licence/keys.json"} {
		if res, _ := p.get(c, path); res.StatusCode != http.StatusForbidden {
			t.Errorf("member GET %s: %d, want 403", path, res.StatusCode)
		}
	}
	_, doc := p.get(c, "/")
	if res, _ := p.post(c, "/settings/api-keys", url.Values{"_csrf": {csrfToken(doc)}, "name": {"x"}, "scopes": {"check"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("member creates a key: %d", res.StatusCode)
	}
	var n int
	_ = p.store.DB().Get(&n, `SELECT count(*) FROM api_key`)
	if n != 0 {
		t.Error("a member created a key")
	}
}

func TestOwnerDownloadsALicenceThatVerifiesWithTheShownKey(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := p.login("owner@initech.test")
	download := func(path string) []byte {
		res, err := c.Get(p.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("%s: %d %q", path, res.StatusCode, res.Header.Get("Content-Disposition"))
		}
		b, _ := io.ReadAll(res.Body)
		return b
	}
	_, doc := p.get(c, "/settings/api-keys")
	shown := text(doc, "public-key-value")
	ring, err := licensing.ParseKeyRing(download("/settings/licence/keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ring) != 1 || ring[ring.IDs()[0]] == nil || !strings.Contains(string(download("/settings/licence/keys.json")), shown) {
		t.Fatalf("the key file does not hold the key the page shows (%q)", shown)
	}
	lic, err := licensing.VerifyLicence(download("/settings/licence"), ring, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r, err := lic.Check("exports", "", time.Now())
	if err != nil || !r.Decision.HasAccess || r.Plan.Key != "business" || r.Status != licensing.Trialing {
		t.Errorf("Initech's licence, exports: %+v %v", r, err)
	}
}

func TestOverviewShowsUsagePerPeriod(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.newKey("globex", store.ScopeUsage)
	if res := a.do(http.MethodPost, "/api/v1/accounts/globex/usage", key, `{"feature":"api_calls","quantity":800}`,
		"Idempotency-Key", "ov-1"); res.status != http.StatusCreated {
		t.Fatalf("usage: %d %s", res.status, res.body)
	}
	// An event of last month, as the ledger would hold it.
	if _, err := a.store.DB().Exec(`INSERT INTO usage_event (account_id, feature_id, quantity, idempotency_key, occurred_at)
		SELECT $1, id, 123, 'old', date_trunc('month', now()) - interval '1 day' FROM feature WHERE key = 'api_calls'`, a.accountID("globex")); err != nil {
		t.Fatal(err)
	}
	p := a.portal(t)
	_, doc := p.get(p.login("owner@globex.test"), "/")
	var rows []string
	doc.Find(`[data-testid="usage-row"]`).Each(func(_ int, s *goquery.Selection) {
		cur, _ := s.Attr("data-current")
		rows = append(rows, cur+":"+strings.TrimSpace(s.Find(`[data-testid="usage-used"]`).Text()))
	})
	if strings.Join(rows, " ") != "true:5,000 false:123" {
		t.Errorf("usage rows = %v, want this month 5,000 (4,200 + 800) then last month 123", rows)
	}
}
