package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestOperatorRegistersAnEndpointAndWorksItsDeliveryLog(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	ops := p.staffLogin("ops@acme.test")
	_, doc := p.get(ops, "/admin/webhooks")
	csrf := csrfToken(doc)

	// Plain http and internal addresses are refused beside the field, with
	// the input kept.
	for addr, want := range map[string]string{
		"http://hooks.example.com/entitle": "https",
		"https://10.0.0.7/hooks":           "private",
		"not a url":                        "full address",
	} {
		res, doc := p.post(ops, "/admin/webhooks", url.Values{"_csrf": {csrf}, "url": {addr}, "description": {"CRM"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(doc, "webhook-error-url"), want) {
			t.Errorf("%s: %d %q", addr, res.StatusCode, text(doc, "webhook-error-url"))
		}
		if v, _ := doc.Find(`[data-testid="webhook-url"]`).Attr("value"); v != addr {
			t.Errorf("%s: the form lost the address (%q)", addr, v)
		}
	}

	res, doc := p.post(ops, "/admin/webhooks", url.Values{"_csrf": {csrf}, "url": {"https://hooks.example.com/entitle"},
		"description": {"CRM sync"}, "event_types": {"seat.assigned", "seat.unassigned"}})
	secret := text(doc, "webhook-secret")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(secret, "whsec_") || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d, secret %q", res.StatusCode, secret)
	}
	_, doc = p.get(ops, "/admin/webhooks")
	if doc.Find(`[data-testid="webhook-secret"]`).Length() != 0 || strings.Contains(doc.Text(), secret) {
		t.Fatal("the secret is shown again")
	}
	link, _ := doc.Find(`[data-testid="webhook-endpoint-link"]`).Attr("href")
	if link == "" || text(doc, "webhook-state") != "enabled" {
		t.Fatalf("endpoint list: %q %q", link, text(doc, "webhook-state"))
	}

	// Send a test event: it is queued and shows in the log.
	res, _ = p.post(ops, link+"/test", url.Values{"_csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != link {
		t.Fatalf("test event: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, doc = p.get(ops, link)
	if !strings.Contains(text(doc, "flash"), "Test event queued") || text(doc, "webhook-delivery-type") != "webhook.test" ||
		text(doc, "webhook-delivery-status") != "Pending" {
		t.Fatalf("after the test event: flash %q, log %q %q", text(doc, "flash"), text(doc, "webhook-delivery-type"),
			text(doc, "webhook-delivery-status"))
	}

	// Replay since a time: a bad time is refused; a good one queues the
	// seat events the demo data made.
	res, _ = p.post(ops, link+"/replay", url.Values{"_csrf": {csrf}, "since": {"yesterday"}})
	if res.StatusCode != http.StatusUnprocessableEntity && res.StatusCode != http.StatusBadRequest {
		t.Errorf("replay since garbage: %d", res.StatusCode)
	}
	res, _ = p.post(ops, link+"/replay", url.Values{"_csrf": {csrf}, "since": {"2000-01-01T00:00"}})
	_, doc = p.get(ops, link)
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(text(doc, "flash"), "events queued again") ||
		doc.Find(`[data-testid="webhook-delivery"][data-type="seat.assigned"]`).Length() == 0 {
		t.Fatalf("replay since: %d %q", res.StatusCode, text(doc, "flash"))
	}

	// Rotate: a new secret, shown once, and the old one still signs.
	_, doc = p.post(ops, link+"/rotate", url.Values{"_csrf": {csrf}})
	if s := text(doc, "webhook-secret"); !strings.HasPrefix(s, "whsec_") || s == secret || text(doc, "webhook-rotation") == "" {
		t.Fatalf("rotate: %q, rotation note %q", s, text(doc, "webhook-rotation"))
	}
	// Disable, then enable.
	p.post(ops, link+"/disable", url.Values{"_csrf": {csrf}})
	if _, doc = p.get(ops, link); text(doc, "webhook-state") != "disabled" {
		t.Fatalf("after disable: %q", text(doc, "webhook-state"))
	}
	p.post(ops, link+"/enable", url.Values{"_csrf": {csrf}})
	if _, doc = p.get(ops, link); text(doc, "webhook-state") != "enabled" {
		t.Fatalf("after enable: %q", text(doc, "webhook-state"))
	}

	// Support staff cannot reach the endpoints.
	if res, _ := p.get(p.staffLogin("support@acme.test"), "/admin/webhooks"); res.StatusCode != http.StatusForbidden {
		t.Errorf("support on /admin/webhooks: %d", res.StatusCode)
	}
}

func TestAdminCreatesAndRevokesVendorKeys(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	admin := p.staffLogin("admin@acme.test")
	_, doc := p.get(admin, "/admin/api-keys")
	csrf := csrfToken(doc)
	res, doc := p.post(admin, "/admin/api-keys", url.Values{"_csrf": {csrf}, "name": {""}, "scopes": {"check"}})
	if res.StatusCode != http.StatusUnprocessableEntity || text(doc, "vendor-key-error") == "" {
		t.Fatalf("nameless key: %d", res.StatusCode)
	}
	res, doc = p.post(admin, "/admin/api-keys", url.Values{"_csrf": {csrf}, "name": {"CRM sync"},
		"scopes": {"check", "accounts:read"}})
	token := text(doc, "new-vendor-key")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(token, "ent_") {
		t.Fatalf("create: %d %q", res.StatusCode, token)
	}
	_, doc = p.get(admin, "/admin/api-keys")
	row := doc.Find(`[data-testid="vendor-key-row"]`)
	if row.Length() != 1 || strings.Contains(doc.Text(), token) || text(doc, "vendor-key-last-used") != "never" {
		t.Fatalf("vendor key list: %d rows", row.Length())
	}
	res, _ = p.post(admin, "/admin/api-keys/"+vendorKeyID(t, p, token)+"/revoke", url.Values{"_csrf": {csrf}})
	_, doc = p.get(admin, "/admin/api-keys")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	if v, _ := doc.Find(`[data-testid="vendor-key-row"]`).Attr("data-revoked"); v != "true" {
		t.Fatalf("after revoking: data-revoked=%q", v)
	}
	if res, _ := p.get(p.staffLogin("ops@acme.test"), "/admin/api-keys"); res.StatusCode != http.StatusForbidden {
		t.Errorf("an operator on /admin/api-keys: %d", res.StatusCode)
	}
}

func vendorKeyID(t *testing.T, p *portal, token string) string {
	t.Helper()
	var id string
	if err := p.store.DB().Get(&id, `SELECT id::text FROM api_key WHERE prefix = $1`, token[:12]); err != nil {
		t.Fatal(err)
	}
	return id
}
