package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestOktaProvisioningSequence replays what Okta sends (scim-quirks.md,
// "Okta"; its SCIM 2.0 spec test): existence check, create, the capitals
// check, import paging, PUT of the whole object, path-less deactivation,
// Group Push with a rename repeating the group's id and one PATCH that
// removes and adds members, and the group's deletion.
func TestOktaProvisioningSequence(t *testing.T) {
	t.Parallel()
	p := newSCIMPortal(t)
	idp := p.idp
	filter := func(f string) string { return "/Users?filter=" + url.QueryEscape(f) + "&startIndex=1&count=100" }

	// 1. Does the user exist? 200 with totalResults 0, never 404.
	empty := idp.get(filter(`userName eq "test.user@okta.local"`)).ok(t, http.StatusOK)
	if empty.integer(t, "totalResults") != 0 || len(empty.resources(t)) != 0 || empty.integer(t, "startIndex") != 1 {
		t.Fatalf("no match: %s", empty.body)
	}

	// 2. Create, with a password, groups [] and locale.
	created := idp.do(http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
		"userName":"test.user@okta.local","name":{"givenName":"Test","familyName":"User"},
		"emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],"displayName":"Test User",
		"locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"password":"1mz050nq","active":true}`).ok(t, http.StatusCreated)
	id := created.str("id")
	if id == "" || created.str("meta", "resourceType") != "User" || created.str("meta", "location") == "" ||
		created.str("meta", "created") == "" || created.at("password") != nil || created.at("active") != true {
		t.Fatalf("create answered %s", created.body)
	}
	if loc := created.header.Get("Location"); !strings.HasSuffix(loc, "/scim/v2/Users/"+id) {
		t.Errorf("Location = %q", loc)
	}

	// 3. Found by userName in capitals; a second create is a 409 uniqueness.
	found := idp.get(filter(`userName eq "TEST.USER@OKTA.LOCAL"`)).ok(t, http.StatusOK)
	if found.integer(t, "totalResults") != 1 || found.resources(t)[0]["id"] != id {
		t.Fatalf("capitals: %s", found.body)
	}
	idp.do(http.MethodPost, "/Users", `{"userName":"Test.User@okta.local","emails":[{"value":"other@okta.local"}]}`).
		scimError(t, http.StatusConflict, "uniqueness")

	// 4. Import: count=1 first, then pages; figures are integers.
	for i := range 3 {
		idp.do(http.MethodPost, "/Users", `{"userName":"import`+itoa(int64(i))+`@okta.local","active":true}`).ok(t, http.StatusCreated)
	}
	first := idp.get("/Users?count=1&startIndex=1").ok(t, http.StatusOK)
	if first.integer(t, "totalResults") != 4 || first.integer(t, "itemsPerPage") != 1 || first.integer(t, "startIndex") != 1 ||
		len(first.resources(t)) != 1 {
		t.Fatalf("count=1: %s", first.body)
	}
	var seen []string
	for start := 1; start <= 4; start += 2 {
		page := idp.get("/Users?startIndex="+itoa(int64(start))+"&count=2").ok(t, http.StatusOK)
		for _, r := range page.resources(t) {
			seen = append(seen, r["userName"].(string))
		}
	}
	if strings.Join(seen, ",") != "test.user@okta.local,import0@okta.local,import1@okta.local,import2@okta.local" {
		t.Errorf("pages in a stable order: %v", seen)
	}

	// 5. Profile update: GET, change, PUT the whole object back (id, meta,
	// schemas, groups included).
	user := idp.get("/Users/"+id).ok(t, http.StatusOK)
	body := strings.Replace(string(user.body), `"familyName":"User"`, `"familyName":"Userson"`, 1)
	put := idp.do(http.MethodPut, "/Users/"+id, body).ok(t, http.StatusOK)
	if put.str("name", "familyName") != "Userson" || put.str("id") != id || put.str("userName") != "test.user@okta.local" {
		t.Fatalf("PUT answered %s", put.body)
	}

	// 6. Group Push: an empty group, a rename that repeats its own id, then
	// one PATCH removing a member by filter and adding two.
	group := idp.do(http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],
		"displayName":"Test SCIMv2","members":[]}`).ok(t, http.StatusCreated)
	gid := group.str("id")
	if gid == "" || group.str("meta", "resourceType") != "Group" {
		t.Fatalf("group create: %s", group.body)
	}
	idp.do(http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","value":{"id":"`+gid+`","displayName":"Test SCIMv2 renamed"}}]}`).ok(t, http.StatusNoContent)
	others := idp.get(filter(`userName eq "import0@okta.local"`)).resources(t)
	other := others[0]["id"].(string)
	idp.do(http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"add","path":"members","value":[{"value":"`+other+`","display":"import0@okta.local"}]}]}`).ok(t, http.StatusNoContent)
	idp.do(http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","value":{"id":"`+gid+`","displayName":"Test SCIMv2 renamed"}},
		{"op":"remove","path":"members[value eq \"`+other+`\"]"},
		{"op":"add","path":"members","value":[{"value":"`+id+`","display":"test.user@okta.local"}]}]}`).ok(t, http.StatusNoContent)
	g := idp.get("/Groups/"+gid).ok(t, http.StatusOK)
	members, _ := g.at("members").([]any)
	if g.str("id") != gid || g.str("displayName") != "Test SCIMv2 renamed" || len(members) != 1 || at(members, 0, "value") != id {
		t.Fatalf("group after the PATCHes: %s", g.body)
	}
	if u := idp.get("/Users/"+id).ok(t, http.StatusOK); u.str("groups", 0, "value") != gid {
		t.Errorf("the user's groups: %s", u.body)
	}
	// A full push replaces the members.
	idp.do(http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","path":"members","value":[{"value":"`+other+`"}]}]}`).ok(t, http.StatusNoContent)
	if g := idp.get("/Groups/" + gid); g.str("members", 0, "value") != other || len(g.at("members").([]any)) != 1 {
		t.Fatalf("full push: %s", g.body)
	}

	// A PUT of the group replaces its name and members, and keeps its id.
	put = idp.do(http.MethodPut, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"`+gid+`",
		"displayName":"Test SCIMv2 put","members":[{"value":"`+id+`"},{"value":"`+other+`"}]}`).ok(t, http.StatusOK)
	if put.str("id") != gid || put.str("displayName") != "Test SCIMv2 put" || len(put.at("members").([]any)) != 2 {
		t.Fatalf("group PUT: %s", put.body)
	}

	// 7. Deactivate with a path-less PATCH: still readable, and filterable.
	off := idp.do(http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","value":{"active":false}}]}`).ok(t, http.StatusOK)
	if off.at("active") != false {
		t.Fatalf("deactivate: %s", off.body)
	}
	if u := idp.get("/Users/"+id).ok(t, http.StatusOK); u.at("active") != false {
		t.Fatalf("a deactivated user: %s", u.body)
	}
	if found := idp.get(filter(`userName eq "test.user@okta.local"`)); found.integer(t, "totalResults") != 1 {
		t.Fatalf("a deactivated user is not found: %s", found.body)
	}
	if on := idp.do(http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","value":{"active":true}}]}`).ok(t, http.StatusOK); on.at("active") != true {
		t.Fatalf("reactivate: %s", on.body)
	}
	// An App Integration Wizard app deactivates with a PUT instead.
	user = idp.get("/Users/" + id)
	body = strings.Replace(string(user.body), `"active":true`, `"active":false`, 1)
	if put := idp.do(http.MethodPut, "/Users/"+id, body).ok(t, http.StatusOK); put.at("active") != false {
		t.Fatalf("PUT active false: %s", put.body)
	}

	// 8. The group's deletion: 204, then 404 for every operation on it.
	idp.do(http.MethodDelete, "/Groups/"+gid, "").ok(t, http.StatusNoContent)
	idp.get("/Groups/"+gid).scimError(t, http.StatusNotFound, "")
	idp.do(http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","value":{"displayName":"x"}}]}`).scimError(t, http.StatusNotFound, "")

	// What the portal shows: the person is managed by the identity
	// provider, with the name Okta sent.
	c := p.login("owner@globex.test")
	_, doc := p.get(c, "/members?status=all&q=test.user")
	row := doc.Find(`[data-testid="member-row"][data-email="test.user@okta.local"]`)
	if row.Length() != 1 || row.Find(`[data-testid="member-managed"]`).Length() != 1 ||
		!strings.Contains(row.Find(`[data-testid="member-name"]`).Text(), "Test User") ||
		row.Find(`[data-testid="remove-member"]`).Length() != 0 {
		t.Errorf("members page row: %q", row.Text())
	}
}
