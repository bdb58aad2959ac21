package e2e

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/entitle-dev/entitle/oidcdemo"
	"github.com/entitle-dev/entitle/sso"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// dnsTable answers TXT lookups from a table the test publishes into.
type dnsTable struct {
	mu sync.Mutex
	m  map[string][]string
}

func (d *dnsTable) LookupTXT(_ context.Context, name string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if v, ok := d.m[name]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// rpClock is the relying party's clock, set before any token the provider
// issues expires.
type rpClock struct{}

func (rpClock) Now() time.Time { return time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) }

// TestEnterpriseOwnerTurnsOnSSOAndAColleagueSignsInThroughTheIdP: Hooli's
// owner points the portal at the company's OpenID provider, proves
// hooli.test by DNS and requires SSO; a colleague signs in through the
// provider and becomes a member just in time with the default role and,
// by the Engineering rule, a seat; a password sign-in on the domain is
// refused; the break-glass owner's works and is audited; once SCIM
// deactivates the colleague, the provider's sign-in is refused.
func TestEnterpriseOwnerTurnsOnSSOAndAColleagueSignsInThroughTheIdP(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	dns := &dnsTable{m: map[string][]string{}}
	srv := httptest.NewServer(web.New(web.Options{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SessionSecret: []byte("e2e-secret-e2e-secret-e2e-secret!!"), SSO: sso.New(s, rpClock{}, nil, dns)}))
	t.Cleanup(srv.Close)
	provider, err := oidcdemo.Start("127.0.0.1:0",
		[]oidcdemo.Client{{ID: "entitle", Secret: "client-secret", RedirectURIs: []string{srv.URL + "/sso/callback"}}},
		[]oidcdemo.User{{Subject: "00u-jared", Email: "jared@hooli.test", Password: "idp-password", Name: "Jared Dunn",
			EmailVerified: true, Groups: []string{"Engineering"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = provider.Close() })
	owner := open(t, srv.URL, s, desktopWidth)
	owner.signIn("owner@hooli.test")

	// The identity provider pushes its Engineering group over SCIM; the
	// owner's rule gives its members a seat.
	tok, err := s.CreateSCIMTokenFor(context.Background(), store.SystemActor("e2e"), "hooli", "Okta")
	if err != nil {
		t.Fatal(err)
	}
	okta := idp{t: t, base: srv.URL, token: tok.Token} // the provisioning journey's SCIM client
	okta.send(http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Engineering","members":[]}`, http.StatusCreated)
	owner.run(
		chromedp.Navigate(srv.URL+"/settings/provisioning"),
		waitVisible(tid("rule-form")),
		setValue(tid("rule-product"), "analytics"),
		press(tid("rule-preview")),
		waitVisible(tid("rule-effect")),
		press(tid("rule-save")),
		waitVisible(`[data-testid="rule-row"][data-group="Engineering"]`),
	)

	// SSO settings: domain first, proven by a DNS TXT record.
	owner.run(
		chromedp.Navigate(srv.URL+"/settings/sso"),
		waitVisible(tid("sso-domain-form")),
		typeInto(tid("sso-domain-input"), "hooli.test"),
		press(tid("sso-domain-add")),
		waitVisible(`[data-testid="sso-domain-row"][data-domain="hooli.test"]`),
	)
	var token string
	if err := s.DB().Get(&token, `SELECT token FROM sso_domain WHERE domain = 'hooli.test'`); err != nil {
		t.Fatal(err)
	}
	dns.mu.Lock()
	dns.m["hooli.test"] = []string{"v=spf1 -all", "entitle-verification=" + token}
	dns.mu.Unlock()
	owner.run(press(tid("sso-domain-verify")))
	// The page before (with its "domain added" message) stays until the
	// verification's answer replaces it: wait for the answer itself.
	owner.waitFor(`document.querySelector('[data-testid="sso-domain-status"]')?.textContent.trim().startsWith("verified") ||
		document.querySelector('[data-testid="sso-error-domain"]')`)
	if got := owner.textOf("sso-domain-status"); !strings.HasPrefix(got, "verified") {
		t.Fatalf("domain status %q, error %q", got, owner.textOf("sso-error-domain"))
	}
	// The provider, with require SSO and the owner as break-glass.
	owner.run(
		typeInto(tid("sso-issuer"), provider.Issuer),
		typeInto(tid("sso-client-id"), "entitle"),
		typeInto(tid("sso-client-secret"), "client-secret"),
		setValue(tid("sso-default-role"), "member"),
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('[data-testid="sso-break-glass"]');
			s.value = [...s.options].find(o => o.text === 'owner@hooli.test').value })()`),
		press(tid("sso-require")),
		press(tid("sso-save")),
		waitVisible(tid("flash")),
	)
	owner.screenshot("settings")

	// The colleague types their address: the form offers SSO; the provider
	// signs them in; they land on Hooli's overview.
	colleague := owner.as()
	colleague.run(
		chromedp.Navigate(srv.URL+"/login"),
		waitVisible(tid("login-form")),
		typeInto(`input[name="email"]`, "jared@hooli.test"),
		waitVisible(tid("sso-continue")),
	)
	colleague.screenshot("hint")
	colleague.run(
		press(tid("sso-continue")),
		waitVisible(tid("idp-login")),
		typeInto("#username", "jared@hooli.test"),
		typeInto("#password", "idp-password"),
		press(tid("idp-submit")),
		waitVisible(tid("current-account")),
	)
	colleague.screenshot("signed-in")
	// The first page already knows the rule's seat: no reload needed.
	if holds := get(colleague, untilJS[string](`() => { const e = document.querySelector('[data-testid="my-licence"]'); return e ? e.dataset.holds : null }`)); holds != "true" {
		t.Errorf("the colleague's first page says they hold no seat")
	}
	var role string
	if err := s.DB().Get(&role, `SELECT m.role FROM membership m JOIN app_user u ON u.id = m.user_id
JOIN account a ON a.id = m.account_id WHERE a.slug = 'hooli' AND u.email = 'jared@hooli.test'`); err != nil || role != "member" {
		t.Fatalf("just-in-time member's role %q, %v", role, err)
	}
	// The rule's seat: the reconciler gives it right after the sign-in
	// commits, as for a person SCIM created.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var seats int
		if err := s.DB().Get(&seats, `SELECT count(*) FROM seat_assignment sa JOIN membership m ON m.id = sa.membership_id
JOIN app_user u ON u.id = m.user_id WHERE u.email = 'jared@hooli.test'`); err != nil {
			t.Fatal(err)
		}
		if seats == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Engineering rule gave the colleague no seat")
		}
	}

	// A password sign-in on the domain is refused...
	other := owner.as()
	other.login("cto@hooli.test", store.DemoPassword)
	if got := other.textOf("login-error"); !strings.Contains(got, "single sign-on") {
		t.Fatalf("password sign-in under require SSO: %q", got)
	}
	// ...but the break-glass owner's works, audited.
	glass := owner.as()
	glass.login("owner@hooli.test", store.DemoPassword)
	// The sign-in form's SSO hint is still on its way when the form posts;
	// ask the browser where it is until the overview has loaded.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if get(glass, chromedp.Evaluate[bool](`location.pathname === "/" && document.querySelector('[data-testid="current-account"]') !== null`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the break-glass owner's sign-in did not reach the overview: %s", get(glass, location()))
		}
	}
	var n int
	if err := s.DB().Get(&n, `SELECT count(*) FROM audit_entry WHERE action = 'sso.break_glass.sign_in'`); err != nil || n != 1 {
		t.Fatalf("%d break-glass audit entries, %v", n, err)
	}

	// SCIM deactivates the colleague: the provider's sign-in is refused.
	found := okta.send(http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "jared@hooli.test"`), "", http.StatusOK)
	res, _ := found["Resources"].([]any)
	if len(res) != 1 {
		t.Fatalf("SCIM finds %d users for jared", len(res))
	}
	uid, _ := res[0].(map[string]any)["id"].(string)
	okta.send(http.MethodPatch, "/Users/"+uid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","value":{"active":false}}]}`, http.StatusOK)
	again := owner.as()
	again.run(
		chromedp.Navigate(srv.URL+"/login"),
		waitVisible(tid("login-form")),
		typeInto(`input[name="email"]`, "jared@hooli.test"),
		waitVisible(tid("sso-continue")),
		press(tid("sso-continue")),
		waitVisible(tid("idp-login")),
		typeInto("#username", "jared@hooli.test"),
		typeInto("#password", "idp-password"),
		press(tid("idp-submit")),
		waitVisible(tid("sso-refused")),
	)
	again.screenshot("refused")
	if reason := get(again, chromedp.Evaluate[string](`document.querySelector('[data-testid="sso-refused"]').dataset.reason`)); reason != "not_admitted" {
		t.Fatalf("refusal reason %q", reason)
	}
}
