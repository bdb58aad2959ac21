package scim

import (
	"strings"
	"testing"
)

const (
	oktaUser = `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "23a35c27", "userName": "test.user@okta.local",
		"name": {"givenName": "Test", "familyName": "User"}, "active": true,
		"emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}]}`
	oktaGroup = `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "abf4dd94", "displayName": "Test SCIMv2",
		"members": [{"value": "89bb1940", "display": "other@okta.local"}, {"value": "b1c2", "display": "keep@okta.local"}]}`
	entraUser = `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "5171a35d", "userName": "Test_User_ab64@testuser.com",
		"externalId": "0a21f0f2", "active": true, "displayName": "Old",
		"name": {"formatted": "givenName familyName", "givenName": "givenName", "familyName": "familyName"},
		"emails": [{"primary": true, "type": "work", "value": "Test_User_fd0e@testuser.com"}]}`
	entraGroup = `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "e9e30dba", "displayName": "Group1",
		"members": [{"value": "u1091"}, {"value": "7f4b"}, {"value": "u2000"}]}`
	patchOp = `"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`
)

func patchBody(ops string) string { return `{` + patchOp + `, "Operations": [` + ops + `]}` }

func TestApplyPatchQuirks(t *testing.T) {
	t.Parallel()
	user, group := UserAttributes(), GroupAttributes()
	tests := []struct {
		name     string
		attrs    Attributes
		resource string
		ops      string
		want     string // the changed attributes: each must equal this in the result
		gone     []string
	}{
		{"Okta deactivates with a path-less replace", user, oktaUser,
			`{"op":"replace","value":{"active":false}}`, `{"active": false, "userName": "test.user@okta.local"}`, nil},
		{"Okta reactivates", user, oktaUser,
			`{"op":"replace","value":{"active":true}}`, `{"active": true}`, nil},
		{"Okta renames a group repeating its own id", group, oktaGroup,
			`{"op":"replace","value":{"id":"abf4dd94","displayName":"Test SCIMv2 renamed"}}`,
			`{"id": "abf4dd94", "displayName": "Test SCIMv2 renamed"}`, nil},
		{"Okta removes a member by filter and adds one in one PATCH", group, oktaGroup,
			`{"op":"remove","path":"members[value eq \"89bb1940\"]"},
			 {"op":"add","path":"members","value":[{"value":"23a35c27","display":"test.user@okta.local"}]}`,
			`{"members": [{"value": "b1c2", "display": "keep@okta.local"}, {"value": "23a35c27", "display": "test.user@okta.local"}]}`, nil},
		{"Okta pushes the full member list", group, oktaGroup,
			`{"op":"replace","path":"members","value":[{"value":"23a35c27","display":"test.user@okta.local"}]}`,
			`{"members": [{"value": "23a35c27", "display": "test.user@okta.local"}]}`, nil},
		{"Okta adds a member already there: no duplicate", group, oktaGroup,
			`{"op":"add","path":"members","value":[{"value":"b1c2","display":"Keep Renamed"}]}`,
			`{"members": [{"value": "89bb1940", "display": "other@okta.local"}, {"value": "b1c2", "display": "Keep Renamed"}]}`, nil},
		{"Entra disables with the string False", user, entraUser,
			`{"op":"Replace","path":"active","value":"False"}`, `{"active": false}`, nil},
		{"Entra enables with the string True", user, `{"id":"1","active":false}`,
			`{"op":"Replace","path":"active","value":"True"}`, `{"active": true}`, nil},
		{"booleans as strings in any case", user, entraUser,
			`{"op":"replace","path":"active","value":"fALSE"}`, `{"active": false}`, nil},
		{"Entra path-less replace with dotted and URN keys", user, entraUser,
			`{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua",
			  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}`,
			`{"displayName": "Bjfe", "name": {"formatted": "givenName familyName", "givenName": "Kkom", "familyName": "Unua"},
			  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "Aklq"},
			  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]}`, nil},
		{"Entra one Replace per path", user, entraUser,
			`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},
			 {"op":"Replace","path":"name.familyName","value":"updatedFamilyName"},
			 {"op":"Replace","path":"externalId","value":"updatedExternal"},
			 {"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"Aklq"}`,
			`{"emails": [{"primary": true, "type": "work", "value": "updatedEmail@microsoft.com"}],
			  "name": {"formatted": "givenName familyName", "givenName": "givenName", "familyName": "updatedFamilyName"},
			  "externalId": "updatedExternal",
			  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "Aklq"}}`, nil},
		{"Entra replaces the work email of a user without one", user, `{"id":"1","emails":[{"type":"home","value":"h@x"}]}`,
			`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"w@x"}`,
			`{"emails": [{"type": "home", "value": "h@x"}, {"type": "work", "value": "w@x"}]}`, nil},
		{"Entra removes a member with a value list", group, entraGroup,
			`{"op":"Remove","path":"members","value":[{"value":"u1091"}]}`,
			`{"members": [{"value": "7f4b"}, {"value": "u2000"}]}`, nil},
		{"Entra removes several members with a value list", group, entraGroup,
			`{"op":"Remove","path":"members","value":[{"value":"u1091"},{"value":"u2000"},{"value":"absent"}]}`,
			`{"members": [{"value": "7f4b"}]}`, nil},
		{"Entra removes a member by filter (compliance flag)", group, entraGroup,
			`{"op":"remove","path":"members[value eq \"7f4b\"]"}`,
			`{"members": [{"value": "u1091"}, {"value": "u2000"}]}`, nil},
		{"Entra adds members with $ref null", group, entraGroup,
			`{"op":"Add","path":"members","value":[{"$ref":null,"value":"f648"},{"$ref":null,"value":"a2b3"}]}`,
			`{"members": [{"value": "u1091"}, {"value": "7f4b"}, {"value": "u2000"}, {"value": "f648"}, {"value": "a2b3"}]}`, nil},
		{"removing the last member leaves members unassigned", group, `{"id":"g","displayName":"G","members":[{"value":"u1"}]}`,
			`{"op":"Remove","path":"members","value":[{"value":"u1"}]}`, `{"displayName": "G"}`, []string{"members"}},
		{"an empty value list removes nobody", group, entraGroup,
			`{"op":"Remove","path":"members","value":[]}`, `{"members": [{"value": "u1091"}, {"value": "7f4b"}, {"value": "u2000"}]}`, nil},
		{"remove without a value removes the attribute", group, entraGroup,
			`{"op":"remove","path":"members"}`, `{"displayName": "Group1"}`, []string{"members"}},
		{"a filter matching nobody removes nobody", group, entraGroup,
			`{"op":"remove","path":"members[value eq \"nobody\"]"}`, `{"members": [{"value": "u1091"}, {"value": "7f4b"}, {"value": "u2000"}]}`, nil},
		{"Entra adds the manager as a bare id", user, entraUser,
			`{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m-42"}`,
			`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m-42"}}}`, nil},
		{"OneLogin sends the manager as an object", user, entraUser,
			`{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
			  {"manager":{"value":"m-7","displayName":"Boss"},"department":"Sales","division":"EMEA"}}}`,
			`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m-7", "displayName": "Boss"},
			  "department": "Sales", "division": "EMEA"}}`, nil},
		{"replace a string manager's value sub-attribute", user,
			`{"id":"1","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"old"}}`,
			`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value","value":"new"}`,
			`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "new"}}}`, nil},
		{"remove the manager", user, `{"id":"1","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m"}}}`,
			`{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}`, `{"id":"1"}`,
			[]string{EnterpriseUserSchema}},
		{"capitalised ops", user, entraUser,
			`{"op":"ADD","path":"title","value":"Boss"},{"op":"REPLACE","path":"nickName","value":"B"},{"op":"Remove","path":"displayName"}`,
			`{"title": "Boss", "nickName": "B"}`, []string{"displayName"}},
		{"replace with null unassigns", user, `{"id":"1","title":"Boss"}`,
			`{"op":"replace","path":"title","value":null}`, `{"id": "1"}`, []string{"title"}},
		{"replace with an empty array unassigns", user, `{"id":"1","emails":[{"value":"a@b"}]}`,
			`{"op":"replace","path":"emails","value":[]}`, `{"id": "1"}`, []string{"emails"}},
		{"add with null changes nothing", user, `{"id":"1","title":"Boss"}`,
			`{"op":"add","path":"title","value":null}`, `{"title": "Boss"}`, nil},
		{"remove a sub-attribute", user, entraUser,
			`{"op":"remove","path":"name.givenName"}`, `{"name": {"formatted": "givenName familyName", "familyName": "familyName"}}`, nil},
		{"replace a complex attribute keeps the sub-attributes not given", user, entraUser,
			`{"op":"replace","path":"name","value":{"givenName":"G"}}`,
			`{"name": {"formatted": "givenName familyName", "givenName": "G", "familyName": "familyName"}}`, nil},
		{"path-less add of emails appends", user, oktaUser,
			`{"op":"add","value":{"emails":[{"value":"second@x","type":"home"}],"nickName":"Babs"}}`,
			`{"nickName": "Babs", "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}, {"value": "second@x", "type": "home"}]}`, nil},
		{"attribute names in any case", user, entraUser,
			`{"op":"replace","path":"DISPLAYNAME","value":"New"},{"op":"replace","value":{"Name.GivenName":"G"}}`,
			`{"displayName": "New", "name": {"formatted": "givenName familyName", "givenName": "G", "familyName": "familyName"}}`, nil},
		{"booleans inside multi-valued values", user, oktaUser,
			`{"op":"replace","path":"emails[type eq \"work\"].primary","value":"False"}`,
			`{"emails": [{"primary": false, "value": "test.user@okta.local", "type": "work"}]}`, nil},
		{"a password is accepted and not kept", user, oktaUser,
			`{"op":"replace","value":{"password":"1mz050nq","active":false}}`, `{"active": false}`, []string{"password"}},
		{"a read-only value repeated unchanged is accepted", user, oktaUser,
			`{"op":"replace","path":"id","value":"23a35c27"}`, `{"id": "23a35c27"}`, nil},
		{"the core schema URN as a prefix", user, oktaUser,
			`{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:displayName","value":"D"}`, `{"displayName": "D"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resource := doc(t, tt.resource)
			before := canon(t, resource)
			patch, err := ParsePatch([]byte(patchBody(tt.ops)))
			if err != nil {
				t.Fatalf("ParsePatch: %v", err)
			}
			got, err := tt.attrs.ApplyPatch(resource, patch)
			if err != nil {
				t.Fatalf("ApplyPatch: %v", err)
			}
			if canon(t, resource) != before {
				t.Errorf("the input resource changed:\n%s\nwas\n%s", canon(t, resource), before)
			}
			for k, v := range doc(t, tt.want) {
				if g, w := canon(t, get(got, k)), canon(t, v); g != w {
					t.Errorf("%s = %s, want %s", k, g, w)
				}
			}
			for _, k := range tt.gone {
				if _, _, ok := lookup(got, k); ok {
					t.Errorf("%s is still there: %s", k, canon(t, get(got, k)))
				}
			}
		})
	}
}

func TestApplyPatchRefusals(t *testing.T) {
	t.Parallel()
	user, group := UserAttributes(), GroupAttributes()
	tests := []struct {
		name     string
		attrs    Attributes
		resource string
		ops      string
		scimType string
		detail   string
	}{
		{"a boolean that is not one", user, entraUser, `{"op":"Replace","path":"active","value":"yes"}`, InvalidValue, "active is a boolean"},
		{"a number for a boolean", user, entraUser, `{"op":"replace","value":{"active":1}}`, InvalidValue, "not 1"},
		{"a failing second operation applies nothing", user, entraUser,
			`{"op":"replace","path":"displayName","value":"Changed"},{"op":"replace","path":"active","value":"maybe"}`,
			InvalidValue, "operation 2 (replace active)"},
		{"a group rename with another group's id", group, oktaGroup,
			`{"op":"replace","value":{"id":"another","displayName":"Stolen"}}`, Mutability, "id is read-only"},
		{"a user's groups are read-only", user, oktaUser,
			`{"op":"add","path":"groups","value":[{"value":"g1"}]}`, Mutability, "groups is read-only"},
		{"meta is read-only", user, `{"id":"1","meta":{"resourceType":"User"}}`,
			`{"op":"replace","path":"meta.resourceType","value":"Group"}`, Mutability, "meta is read-only"},
		{"removing the id", group, oktaGroup, `{"op":"remove","path":"id"}`, Mutability, "id is read-only"},
		{"a filter matching nothing that describes nothing", user, oktaUser,
			`{"op":"replace","path":"emails[value co \"nobody\"].type","value":"work"}`, NoTarget, "matches"},
		{"a filter on a single-valued attribute", user, oktaUser,
			`{"op":"replace","path":"name[givenName eq \"Test\"].familyName","value":"X"}`, InvalidPath, "not multi-valued"},
		{"a sub-attribute of a simple attribute", user, oktaUser,
			`{"op":"replace","path":"userName.first","value":"X"}`, InvalidPath, "has no sub-attributes"},
		{"an empty object in a remove list", group, entraGroup,
			`{"op":"Remove","path":"members","value":[{"$ref":null}]}`, InvalidValue, "names it"},
		{"a manager that is a number", user, entraUser,
			`{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":42}`, InvalidValue, "manager"},
		{"a path-less key that is not a path", user, entraUser,
			`{"op":"replace","value":{"name givenName":"x"}}`, InvalidPath, "value"},
		{"a filtered path with a scalar value", group, entraGroup,
			`{"op":"replace","path":"members[value eq \"7f4b\"]","value":"x"}`, InvalidValue, "selects whole values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resource := doc(t, tt.resource)
			before := canon(t, resource)
			patch, err := ParsePatch([]byte(patchBody(tt.ops)))
			if err != nil {
				t.Fatalf("ParsePatch: %v", err)
			}
			got, err := tt.attrs.ApplyPatch(resource, patch)
			e := wantError(t, err, 400, tt.scimType)
			if !strings.Contains(e.Detail, tt.detail) {
				t.Errorf("detail %q does not say %q", e.Detail, tt.detail)
			}
			if canon(t, got) != before || canon(t, resource) != before {
				t.Errorf("a failed PATCH changed the resource: got %s, input %s, was %s", canon(t, got), canon(t, resource), before)
			}
		})
	}
}

func TestParsePatchRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, scimType, detail string
	}{
		{"not JSON", `{"Operations":`, InvalidSyntax, "not a PatchOp message"},
		{"trailing data", patchBody(`{"op":"add","path":"title","value":"x"}`) + `{}`, InvalidSyntax, "after the JSON value"},
		{"no PatchOp schema", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"Operations":[{"op":"add","path":"title","value":"x"}]}`,
			InvalidSyntax, "PatchOp"},
		{"no operations", patchBody(``), InvalidSyntax, "at least one"},
		{"Operations not a list", `{` + patchOp + `,"Operations":{"op":"add"}}`, InvalidSyntax, "not a PatchOp message"},
		{"an unknown op", patchBody(`{"op":"move","path":"title"}`), InvalidSyntax, `"move"`},
		{"remove without a path", patchBody(`{"op":"remove","value":{"title":"x"}}`), NoTarget, "needs a path"},
		{"a bad path", patchBody(`{"op":"add","path":"emails[type eq","value":"x"}`), InvalidPath, "operation 1"},
		{"a path-less value that is not an object", patchBody(`{"op":"replace","value":"False"}`), InvalidValue, "object of attributes"},
		{"an op that is not a string", patchBody(`{"op":1}`), InvalidSyntax, "not a PatchOp message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePatch([]byte(tt.body))
			e := wantError(t, err, 400, tt.scimType)
			if !strings.Contains(e.Detail, tt.detail) {
				t.Errorf("detail %q does not say %q", e.Detail, tt.detail)
			}
		})
	}
}

// The member names and op values of a PatchOp match in any case, as Entra
// and the RFC's "structural elements" require.
func TestParsePatchCase(t *testing.T) {
	t.Parallel()
	patch, err := ParsePatch([]byte(`{"SCHEMAS":["URN:IETF:PARAMS:SCIM:API:MESSAGES:2.0:PATCHOP"],
		"operations":[{"OP":"Add","PATH":"members","VALUE":[{"value":"f648"}]},{"Op":"Replace","Value":{"active":"False"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(patch.Operations) != 2 || patch.Operations[0].Op != "add" || patch.Operations[0].Path.String() != "members" ||
		patch.Operations[1].Op != "replace" || patch.Operations[1].Path != nil {
		t.Fatalf("parsed %#v", patch.Operations)
	}
}
