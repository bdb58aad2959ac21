package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/entitle-dev/entitle/store"
)

func TestAPlanWithoutSSOExplainsAndLinksToBilling(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	c := p.login("owner@globex.test")
	res, doc := p.get(c, "/settings/sso")
	if res.StatusCode != http.StatusOK || doc.Find(`[data-testid="sso-not-in-plan"]`).Length() != 1 {
		t.Fatalf("Globex (team) sees %d without the explanation", res.StatusCode)
	}
	if href, _ := doc.Find(`[data-testid="sso-billing-link"]`).Attr("href"); href != "/billing" {
		t.Fatalf("billing link %q", href)
	}
	if doc.Find(`[data-testid="sso-form"]`).Length() != 0 {
		t.Fatal("the settings form is offered on a plan without sso")
	}
}

func TestSavingChecksTheProvidersDiscoveryAndSealsTheSecret(t *testing.T) {
	t.Parallel()
	r := newSSORig(t)
	c := r.login("cto@hooli.test")
	_, doc := r.get(c, "/settings/sso")
	before := r.count(`SELECT count(*) FROM audit_entry WHERE action = 'sso.configure'`)

	// An issuer that is not the provider's own (a trailing path) and one
	// nobody answers at: a message beside the field, input kept, nothing saved.
	for _, issuer := range []string{r.idp.Issuer + "/wrong", "http://127.0.0.1:1"} {
		res, page := r.post(c, "/settings/sso", url.Values{"_csrf": {csrfToken(doc)}, "issuer": {issuer},
			"client_id": {"changed"}, "client_secret": {"s3cret"}, "default_role": {"member"}, "break_glass": {"0"}})
		if res.StatusCode != http.StatusUnprocessableEntity || text(page, "sso-error-issuer") == "" {
			t.Fatalf("issuer %s: %d, message %q", issuer, res.StatusCode, text(page, "sso-error-issuer"))
		}
		if v, _ := page.Find(`[data-testid="sso-issuer"]`).Attr("value"); v != issuer {
			t.Fatalf("issuer input not kept: %q", v)
		}
	}
	if n := r.count(`SELECT count(*) FROM audit_entry WHERE action = 'sso.configure'`); n != before {
		t.Fatal("a refused save was stored")
	}
	if n := r.count(`SELECT count(*) FROM sso_config WHERE client_id = 'changed'`); n != 0 {
		t.Fatal("a refused save changed the settings")
	}

	// The real issuer saves; Post/Redirect/Get with a flash.
	res, _ := r.post(c, "/settings/sso", url.Values{"_csrf": {csrfToken(doc)}, "issuer": {r.idp.Issuer},
		"client_id": {ssoClientID}, "client_secret": {ssoClientSecret}, "default_role": {"admin"}, "break_glass": {"0"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/settings/sso" {
		t.Fatalf("save answered %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, doc = r.get(c, "/settings/sso")
	if !strings.Contains(text(doc, "flash"), "saved") {
		t.Fatalf("flash %q", text(doc, "flash"))
	}
	if v := doc.Find(`[data-testid="sso-default-role"] option[selected]`).AttrOr("value", ""); v != "admin" {
		t.Fatalf("default role shown %q", v)
	}
	// Require SSO needs a break-glass owner.
	res, page := r.post(c, "/settings/sso", url.Values{"_csrf": {csrfToken(doc)}, "issuer": {r.idp.Issuer},
		"client_id": {ssoClientID}, "default_role": {"member"}, "require_sso": {"true"}, "break_glass": {"0"}})
	if res.StatusCode != http.StatusUnprocessableEntity || text(page, "sso-error-break_glass") == "" {
		t.Fatalf("require SSO without a break-glass owner: %d", res.StatusCode)
	}
}

func TestTheClientSecretIsSealedWhenASecretIsSet(t *testing.T) {
	t.Parallel()
	r := newSSORig(t)
	secret := []byte("signing-key-secret-for-this-test")
	if err := r.store.SaveSSOConfig(t.Context(), store.SystemActor("test"), r.hooli, store.SSOSettings{Issuer: r.idp.Issuer,
		ClientID: ssoClientID, ClientSecret: ssoClientSecret, DefaultRole: "member"}, secret); err != nil {
		t.Fatal(err)
	}
	cfg, err := r.store.SSOConfig(t.Context(), r.hooli)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.SecretSealed || strings.Contains(string(cfg.StoredSecret), ssoClientSecret) {
		t.Fatal("the client secret is stored in the clear")
	}
	if got, err := cfg.ClientSecret(secret); err != nil || got != ssoClientSecret {
		t.Fatalf("opened %q, %v", got, err)
	}
	if _, err := cfg.ClientSecret([]byte("another secret")); err == nil {
		t.Fatal("a wrong secret opened the client secret")
	}
}

func TestADomainIsVerifiedByDNSAndClaimedByOneAccountOnly(t *testing.T) {
	t.Parallel()
	r := newSSORig(t)
	c := r.login("cto@hooli.test")
	_, doc := r.get(c, "/settings/sso")
	res, _ := r.post(c, "/settings/sso/domains", url.Values{"_csrf": {csrfToken(doc)}, "domain": {"hooli.example"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add domain: %d", res.StatusCode)
	}
	var d store.SSODomain
	if err := r.store.DB().Get(&d, `SELECT id, account_id, domain, token, created_at, verified_at, verified_by FROM sso_domain WHERE domain = 'hooli.example'`); err != nil {
		t.Fatal(err)
	}
	verify := "/settings/sso/domains/" + id(d.ID) + "/verify"
	res, page := r.post(c, verify, url.Values{"_csrf": {csrfToken(doc)}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(page, "sso-error-domain"), "Not verified yet") ||
		text(page, "sso-domain-record") != d.TXTRecord() {
		t.Fatalf("verify without the record: %d %q", res.StatusCode, text(page, "sso-error-domain"))
	}
	r.dns.publish("hooli.example", d.TXTRecord())
	if res, _ = r.post(c, verify, url.Values{"_csrf": {csrfToken(doc)}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("verify with the record: %d", res.StatusCode)
	}
	_, doc = r.get(c, "/settings/sso")
	row := doc.Find(`[data-testid="sso-domain-row"][data-domain="hooli.example"] [data-testid="sso-domain-status"]`)
	if !strings.Contains(row.Text(), "verified by DNS record") {
		t.Fatalf("domain status %q", row.Text())
	}

	// Another account cannot claim it, by DNS or by operator: the database
	// holds one verified row per domain.
	var globex int64
	if err := r.store.DB().Get(&globex, `SELECT id FROM account WHERE slug = 'globex'`); err != nil {
		t.Fatal(err)
	}
	if _, err := r.store.AddSSODomain(t.Context(), store.SystemActor("test"), globex, "hooli.example"); err == nil {
		t.Fatal("Globex listed a domain Hooli claims")
	}
	_, err := r.store.DB().Exec(`INSERT INTO sso_domain (account_id, domain, token, created_at, verified_at) VALUES ($1, 'hooli.example', 't', now(), now())`, globex)
	if err == nil {
		t.Fatal("the database let two accounts claim one domain")
	}
}

func TestTheSignInFormTellsWhenAnAddressUsesSSO(t *testing.T) {
	t.Parallel()
	r := newSSORig(t)
	c := newClient()
	for email, want := range map[string]int{"jared@hooli.test": 1, "owner@globex.test": 0, "not-an-address": 0} {
		req, _ := http.NewRequest("GET", r.srv.URL+"/login/sso?email="+url.QueryEscape(email), nil)
		req.Header.Set("HX-Request", "true")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := new(strings.Builder)
		_, _ = io.Copy(body, res.Body)
		res.Body.Close()
		if got := strings.Count(body.String(), `data-testid="sso-continue"`); got != want {
			t.Errorf("%s: %d SSO buttons, want %d", email, got, want)
		}
	}
}
