package web_test

import (
	"net/http"
	"net/url"
	"testing"
)

const entraEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// TestEntraProvisioningSequence replays what Microsoft Entra ID sends
// (scim-quirks.md, "Microsoft Entra ID"), on a tenant URL carrying the
// aadOptscim062020 flag: Test Connection, a create with explicit nulls and
// the enterprise extension (manager as a bare id), filters on externalId
// and the work email, capitalised ops with "False" as a string, a
// path-less replace of dotted and URN keys, groups found by displayName
// without members, members added several at a time and removed by a value
// list, and a hard delete.
func TestEntraProvisioningSequence(t *testing.T) {
	t.Parallel()
	p := newSCIMPortal(t)
	idp := p.idp
	idp.query = "aadOptscim062020"
	q := func(f string) string { return "/Users?filter=" + url.QueryEscape(f) }

	// Test Connection: a random GUID matches nobody.
	if a := idp.get(q(`userName eq "ff2b1c34-9a3e-4f7e-8d54-0c1f6fa0e5a1"`)).ok(t, http.StatusOK); a.integer(t, "totalResults") != 0 {
		t.Fatalf("test connection: %s", a.body)
	}
	idp.get("/Schemas").ok(t, http.StatusOK)

	manager := idp.do(http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
		"userName":"boss@contoso.com","active":true}`).ok(t, http.StatusCreated).str("id")
	created := idp.do(http.MethodPost, "/Users", `{
		"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","`+entraEnterprise+`"],
		"externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","userName":"Test_User_ab64@contoso.com","active":true,
		"displayName":"Test User","emails":[{"primary":true,"type":"work","value":"Test_User_fd0e@contoso.com"}],
		"meta":{"resourceType":"User"},"name":{"formatted":"Test User","familyName":"User","givenName":"Test"},
		"roles":[],"addresses":null,"phoneNumbers":null,"title":null,"preferredLanguage":null,
		"`+entraEnterprise+`":{"department":"Sales","manager":"`+manager+`","costCenter":null}}`).ok(t, http.StatusCreated)
	id := created.str("id")
	if created.str("userName") != "Test_User_ab64@contoso.com" || created.str(entraEnterprise, "department") != "Sales" ||
		created.str(entraEnterprise, "manager", "value") != manager || created.at("title") != nil || created.at("roles") != nil {
		t.Fatalf("Entra create answered %s", created.body)
	}

	// Matching on externalId and on the work email, alone and with and.
	for _, f := range []string{
		`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`,
		`emails[type eq "work"].value eq "test_user_FD0E@contoso.com"`,
		`userName eq "test_user_ab64@contoso.com" and externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`,
		`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "TEST_USER_AB64@CONTOSO.COM"`,
	} {
		a := idp.get(q(f)).ok(t, http.StatusOK)
		if a.integer(t, "totalResults") != 1 || a.resources(t)[0]["id"] != id {
			t.Errorf("filter %s: %s", f, a.body)
		}
	}
	// externalId is case-exact; other filters are answered too.
	if a := idp.get(q(`externalId eq "0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF"`)); a.integer(t, "totalResults") != 0 {
		t.Errorf("externalId matched in another case: %s", a.body)
	}
	if a := idp.get(q(`displayName sw "Test" and active eq true`)); a.integer(t, "totalResults") != 1 {
		t.Errorf("a filter answered by matching: %s", a.body)
	}

	// attributes and excludedAttributes trim the answer; id always stays.
	if a := idp.get("/Users/"+id+"?attributes=userName,"+entraEnterprise+":department").ok(t, http.StatusOK); a.str("userName") == "" ||
		a.str("id") != id || a.at("emails") != nil || a.str(entraEnterprise, "department") != "Sales" {
		t.Errorf("attributes=: %s", a.body)
	}
	if a := idp.get("/Users/"+id+"?excludedAttributes=emails,name").ok(t, http.StatusOK); a.at("emails") != nil || a.at("name") != nil ||
		a.str("userName") == "" {
		t.Errorf("excludedAttributes=: %s", a.body)
	}

	// Disable with the string "False", as Entra does without the flag.
	off := idp.do(http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"Replace","path":"active","value":"False"}]}`).ok(t, http.StatusOK)
	if off.at("active") != false {
		t.Fatalf("disable: %s", off.body)
	}
	// Several attributes in one path-less replace, dotted and URN keys; a
	// manager as a bare id through its URN path; an email by filter.
	upd := idp.do(http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"Replace","path":"active","value":"True"},
		{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua",
		 "`+entraEnterprise+`:employeeNumber":"Aklq"}},
		{"op":"Add","path":"`+entraEnterprise+`:manager","value":"`+manager+`"},
		{"op":"Replace","path":"emails[type eq \"work\"].value","value":"renamed@contoso.com"}]}`).ok(t, http.StatusOK)
	if upd.at("active") != true || upd.str("displayName") != "Bjfe" || upd.str("name", "givenName") != "Kkom" ||
		upd.str(entraEnterprise, "employeeNumber") != "Aklq" || upd.str(entraEnterprise, "manager", "value") != manager ||
		upd.str(entraEnterprise, "department") != "Sales" || upd.str("emails", 0, "value") != "renamed@contoso.com" {
		t.Fatalf("Entra PATCH answered %s", upd.body)
	}
	// A PATCH that fails changes nothing (atomic).
	idp.do(http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"Replace","path":"displayName","value":"Half"},{"op":"Replace","path":"active","value":"maybe"}]}`).
		scimError(t, http.StatusBadRequest, "invalidValue")
	if u := idp.get("/Users/" + id); u.str("displayName") != "Bjfe" {
		t.Errorf("a failed PATCH left %q", u.str("displayName"))
	}

	// Groups: an extra schema URI, externalId and meta, no members; found
	// by displayName without members; several members added at once; one
	// removed by a value list (no filter).
	group := idp.do(http.MethodPost, "/Groups", `{"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"Group1",
		"meta":{"resourceType":"Group"},"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group",
		"http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"]}`).ok(t, http.StatusCreated)
	gid := group.str("id")
	byName := idp.get("/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "group1"`)).ok(t, http.StatusOK)
	if byName.integer(t, "totalResults") != 1 || byName.resources(t)[0]["id"] != gid || byName.resources(t)[0]["members"] != nil {
		t.Fatalf("group by name: %s", byName.body)
	}
	idp.do(http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"`+id+`"},{"$ref":null,"value":"`+manager+`"}]}]}`).
		ok(t, http.StatusNoContent)
	if g := idp.get("/Groups/"+gid+"?excludedAttributes=members").ok(t, http.StatusOK); g.at("members") != nil || g.str("displayName") != "Group1" {
		t.Fatalf("excludedAttributes=members: %s", g.body)
	}
	if g := idp.get("/Groups/" + gid); len(g.at("members").([]any)) != 2 {
		t.Fatalf("two members: %s", g.body)
	}
	if a := idp.get("/Groups?filter=" + url.QueryEscape(`members.value eq "`+id+`"`)); a.integer(t, "totalResults") != 1 {
		t.Errorf("groups of a member: %s", a.body)
	}
	idp.do(http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"Remove","path":"members","value":[{"value":"`+manager+`"}]}]}`).ok(t, http.StatusNoContent)
	if g := idp.get("/Groups/" + gid); g.str("members", 0, "value") != id || len(g.at("members").([]any)) != 1 {
		t.Fatalf("after removal by value list: %s", g.body)
	}
	// Adding a user the server does not know is refused, atomically.
	idp.do(http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"Add","path":"members","value":[{"value":"`+manager+`"},{"value":"no-such-user"}]}]}`).
		scimError(t, http.StatusBadRequest, "invalidValue")
	if g := idp.get("/Groups/" + gid); len(g.at("members").([]any)) != 1 {
		t.Fatalf("a refused PATCH added members: %s", g.body)
	}

	// Hard deletion: 204, then 404; the userName is free again.
	idp.do(http.MethodDelete, "/Users/"+id, "").ok(t, http.StatusNoContent)
	idp.get("/Users/"+id).scimError(t, http.StatusNotFound, "")
	idp.do(http.MethodDelete, "/Users/"+id, "").scimError(t, http.StatusNotFound, "")
	if g := idp.get("/Groups/" + gid); len(g.at("members").([]any)) != 0 {
		t.Errorf("a deleted user stays a member: %s", g.body)
	}
	again := idp.do(http.MethodPost, "/Users", `{"userName":"Test_User_ab64@contoso.com","emails":[{"value":"renamed@contoso.com"}]}`).
		ok(t, http.StatusCreated)
	if again.str("id") == id {
		t.Error("a re-created user got the deleted user's id back")
	}
}
