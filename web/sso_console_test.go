package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/entitle-dev/entitle/store"
)

func TestStaffSeeAnAccountsSSOAndAnOperatorApprovesADomain(t *testing.T) {
	t.Parallel()
	r := newSSORig(t)
	d, err := r.store.AddSSODomain(t.Context(), store.SystemActor("test"), r.hooli, "hooli.example")
	if err != nil {
		t.Fatal(err)
	}
	refusedPage(t, func() *http.Response {
		c := newClient()
		cb := r.atProvider(c, r.startSSO(c, "monica@hooli.test"), "monica@hooli.test")
		res, _ := c.Get(withQuery(cb, "code", "forged"))
		return res
	}(), "code_exchange_failed")

	support := r.staffLogin("support@acme.test")
	res, doc := r.get(support, "/admin/accounts/hooli/sso")
	if res.StatusCode != http.StatusOK || text(doc, "admin-sso-in-use") != "yes" || text(doc, "admin-sso-issuer") != r.idp.Issuer {
		t.Fatalf("console SSO page: %d, in use %q, issuer %q", res.StatusCode, text(doc, "admin-sso-in-use"), text(doc, "admin-sso-issuer"))
	}
	if reason, _ := doc.Find(`[data-testid="admin-sso-failure"]`).Attr("data-reason"); reason != "code_exchange_failed" {
		t.Fatalf("last SSO error shown: %q", reason)
	}
	if doc.Find(`[data-testid="admin-sso-approve"]`).Length() != 0 {
		t.Fatal("support is offered the operator's approval")
	}
	approve := "/admin/accounts/hooli/sso/domains/" + id(d.ID) + "/approve"
	if res, _ := r.post(support, approve, url.Values{"_csrf": {csrfToken(doc)}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("support approving: %d", res.StatusCode)
	}

	ops := r.staffLogin("ops@acme.test")
	_, doc = r.get(ops, "/admin/accounts/hooli/sso")
	res, _ = r.post(ops, approve, url.Values{"_csrf": {csrfToken(doc)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("operator approving: %d", res.StatusCode)
	}
	_, doc = r.get(ops, "/admin/accounts/hooli/sso")
	row := doc.Find(`[data-testid="admin-sso-domain"][data-domain="hooli.example"]`)
	if !strings.Contains(row.Text(), "verified by operator ops@acme.test") {
		t.Fatalf("approved domain shows %q", row.Text())
	}
	if n := r.count(`SELECT count(*) FROM audit_entry WHERE account_id = $1 AND action = 'sso.domain.verify' AND actor_type = 'staff'`, r.hooli); n != 1 {
		t.Fatalf("%d audit entries for the approval", n)
	}
}
