package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/entitle-dev/entitle/store"
)

func TestSCIMDiscoverySaysWhatIsSupported(t *testing.T) {
	t.Parallel()
	p := newSCIMPortal(t)
	spc := p.idp.get("/ServiceProviderConfig").ok(t, http.StatusOK)
	if spc.at("patch", "supported") != true || spc.at("filter", "supported") != true || spc.at("bulk", "supported") != false ||
		spc.at("sort", "supported") != false || spc.at("etag", "supported") != false ||
		spc.str("authenticationSchemes", 0, "type") != "oauthbearertoken" {
		t.Errorf("ServiceProviderConfig: %s", spc.body)
	}
	types := p.idp.get("/ResourceTypes").ok(t, http.StatusOK)
	if types.integer(t, "totalResults") != 2 || types.str("Resources", 0, "endpoint") != "/Users" {
		t.Errorf("ResourceTypes: %s", types.body)
	}
	p.idp.get("/ResourceTypes/Group").ok(t, http.StatusOK)
	p.idp.get("/ResourceTypes/Device").scimError(t, http.StatusNotFound, "")
	schemas := p.idp.get("/Schemas").ok(t, http.StatusOK)
	if schemas.integer(t, "totalResults") != 3 || len(schemas.resources(t)) != 3 {
		t.Errorf("Schemas is a ListResponse of three: %s", schemas.body)
	}
	if s := p.idp.get("/Schemas/"+entraEnterprise).ok(t, http.StatusOK); s.str("id") != entraEnterprise {
		t.Errorf("the enterprise schema: %s", s.body)
	}
}

// TestSCIMErrorStatuses walks every error an identity provider can meet:
// each is a SCIM error document with the status as a string, a detail and
// the RFC's scimType, served as application/scim+json.
func TestSCIMErrorStatuses(t *testing.T) {
	t.Parallel()
	p := newSCIMPortal(t)
	idp := p.idp
	id := idp.do(http.MethodPost, "/Users", `{"userName":"e@globex.test"}`).ok(t, http.StatusCreated).str("id")
	patch := func(ops string) string {
		return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops + `]}`
	}

	// 401: no token, a wrong scheme, a wrong token, a revoked one.
	for name, c := range map[string]scimClient{
		"no token":    {t: t, base: p.srv.URL},
		"wrong token": {t: t, base: p.srv.URL, token: "scim_not-a-real-token"},
		"an API key":  {t: t, base: p.srv.URL, token: "ent_abcdef_123"},
	} {
		t.Run(name, func(t *testing.T) {
			a := c.get("/Users")
			a.scimError(t, http.StatusUnauthorized, "")
			if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", a.header.Get("WWW-Authenticate"))
			}
		})
	}
	req, _ := http.NewRequest(http.MethodGet, p.srv.URL+"/scim/v2/Users", nil)
	req.Header.Set("Authorization", "Basic "+idp.token)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("Basic scheme: %v %v", res.StatusCode, err)
	}
	revoked := newSCIMToken(t, p.store, "globex", "Old")
	if n, err := p.store.RevokeSCIMTokensNamed(context.Background(), store.SystemActor("test"), "globex", "Old"); err != nil || n != 1 {
		t.Fatalf("revoke: %d %v", n, err)
	}
	scimClient{t: t, base: p.srv.URL, token: revoked}.get("/Users").scimError(t, http.StatusUnauthorized, "")
	// The bearer scheme is case-insensitive.
	req, _ = http.NewRequest(http.MethodGet, p.srv.URL+"/scim/v2/Users", nil)
	req.Header.Set("Authorization", "bearer "+idp.token)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("lower-case bearer: %v %v", res.StatusCode, err)
	}

	cases := []struct {
		name, method, path, body string
		status                   int
		scimType                 string
	}{
		{"malformed filter", "GET", "/Users?filter=" + url.QueryEscape(`userName eq`), "", 400, "invalidFilter"},
		{"unknown operator", "GET", "/Users?filter=" + url.QueryEscape(`userName xx "a"`), "", 400, "invalidFilter"},
		{"group filter", "GET", "/Groups?filter=" + url.QueryEscape(`displayName eq `), "", 400, "invalidFilter"},
		{"startIndex not a number", "GET", "/Users?startIndex=one", "", 400, "invalidValue"},
		{"body not JSON", "POST", "/Users", `{"userName":`, 400, "invalidSyntax"},
		{"body not an object", "POST", "/Users", `["x"]`, 400, "invalidSyntax"},
		{"no userName", "POST", "/Users", `{"name":{"givenName":"x"}}`, 400, "invalidValue"},
		{"no address at all", "POST", "/Users", `{"userName":"jdoe"}`, 400, "invalidValue"},
		{"active not a boolean", "POST", "/Users", `{"userName":"a@globex.test","active":"sometimes"}`, 400, "invalidValue"},
		{"duplicate userName", "POST", "/Users", `{"userName":"E@GLOBEX.TEST"}`, 409, "uniqueness"},
		{"PUT to an unknown id", "PUT", "/Users/nope", `{"userName":"x@globex.test"}`, 404, ""},
		{"GET an unknown group", "GET", "/Groups/nope", "", 404, ""},
		{"PATCH without PatchOp schema", "PATCH", "/Users/" + id, `{"Operations":[{"op":"replace","value":{"active":false}}]}`, 400, "invalidSyntax"},
		{"PATCH with an unknown op", "PATCH", "/Users/" + id, patch(`{"op":"merge","path":"active","value":false}`), 400, "invalidSyntax"},
		{"PATCH with a bad path", "PATCH", "/Users/" + id, patch(`{"op":"replace","path":"name..x","value":"a"}`), 400, "invalidPath"},
		{"PATCH remove without a path", "PATCH", "/Users/" + id, patch(`{"op":"remove"}`), 400, "noTarget"},
		{"PATCH of a read-only attribute", "PATCH", "/Users/" + id, patch(`{"op":"replace","path":"id","value":"mine"}`), 400, "mutability"},
		{"group without a name", "POST", "/Groups", `{"members":[]}`, 400, "invalidValue"},
		{"group member without a value", "POST", "/Groups", `{"displayName":"G","members":[{"display":"x"}]}`, 400, "invalidValue"},
		{"unknown endpoint", "GET", "/Devices", "", 404, ""},
		{"POST to a resource", "POST", "/Users/" + id, `{}`, 404, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			idp.do(c.method, c.path, c.body).scimError(t, c.status, c.scimType)
		})
	}
	// Nothing of the refused requests was kept.
	if a := idp.get("/Users").ok(t, http.StatusOK); a.integer(t, "totalResults") != 1 || a.at("Resources", 0, "active") != true {
		t.Errorf("refused requests changed users: %s", a.body)
	}
}

// TestSCIMTokenSeesOnlyItsAccount: Initech's token finds nothing of
// Globex's, and every id of Globex's answers 404 to it, unchanged.
func TestSCIMTokenSeesOnlyItsAccount(t *testing.T) {
	t.Parallel()
	p := newSCIMPortal(t)
	uid := p.idp.do(http.MethodPost, "/Users", `{"userName":"only@globex.test","externalId":"x1"}`).ok(t, http.StatusCreated).str("id")
	gid := p.idp.do(http.MethodPost, "/Groups", `{"displayName":"Globex group","members":[{"value":"`+uid+`"}]}`).
		ok(t, http.StatusCreated).str("id")
	other := scimClient{t: t, base: p.srv.URL, token: newSCIMToken(t, p.store, "initech", "Initech IdP")}

	for _, path := range []string{"/Users", "/Groups", "/Users?filter=" + url.QueryEscape(`userName eq "only@globex.test"`),
		"/Groups?filter=" + url.QueryEscape(`displayName eq "Globex group"`), "/Users?filter=" + url.QueryEscape(`externalId eq "x1"`)} {
		a := other.get(path).ok(t, http.StatusOK)
		for _, r := range a.resources(t) {
			if r["id"] == uid || r["id"] == gid {
				t.Errorf("%s shows Globex's resource to Initech", path)
			}
		}
	}
	patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/Users/" + uid, ""}, {"PUT", "/Users/" + uid, `{"userName":"stolen@initech.test"}`},
		{"PATCH", "/Users/" + uid, patch}, {"DELETE", "/Users/" + uid, ""},
		{"GET", "/Groups/" + gid, ""}, {"PUT", "/Groups/" + gid, `{"displayName":"stolen"}`},
		{"PATCH", "/Groups/" + gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"` + uid + `"}]}]}`},
		{"DELETE", "/Groups/" + gid, ""},
	} {
		other.do(r.method, r.path, r.body).scimError(t, http.StatusNotFound, "")
	}
	// Initech cannot put Globex's user into its own group either.
	og := other.do(http.MethodPost, "/Groups", `{"displayName":"Initech group"}`).ok(t, http.StatusCreated).str("id")
	other.do(http.MethodPatch, "/Groups/"+og, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"add","path":"members","value":[{"value":"`+uid+`"}]}]}`).scimError(t, http.StatusBadRequest, "invalidValue")
	u := p.idp.get("/Users/"+uid).ok(t, http.StatusOK)
	g := p.idp.get("/Groups/"+gid).ok(t, http.StatusOK)
	if u.at("active") != true || u.str("userName") != "only@globex.test" || g.str("displayName") != "Globex group" ||
		len(g.at("members").([]any)) != 1 {
		t.Errorf("Initech's requests changed Globex: %s %s", u.body, g.body)
	}
}
