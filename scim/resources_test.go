package scim

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestListResponse(t *testing.T) {
	t.Parallel()
	empty, err := json.Marshal(NewListResponse[map[string]any](nil, 0, Page{StartIndex: 1, Count: 100}))
	want := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"startIndex":1,"itemsPerPage":0,"Resources":[]}`
	if err != nil || string(empty) != want {
		t.Errorf("empty list = %s, %v\nwant %s", empty, err, want)
	}
	page, err := json.Marshal(NewListResponse([]map[string]any{{"id": "a"}}, 3, Page{StartIndex: 2, Count: 1}))
	want = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":3,"startIndex":2,"itemsPerPage":1,"Resources":[{"id":"a"}]}`
	if err != nil || string(page) != want {
		t.Errorf("page = %s, %v\nwant %s", page, err, want)
	}
}

func TestParsePage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		startIndex, count string
		want              Page
		err               bool
	}{
		{"", "", Page{1, 100}, false},
		{"1", "100", Page{1, 100}, false},
		{"101", "100", Page{101, 100}, false},
		{"0", "", Page{1, 100}, false},
		{"-7", "", Page{1, 100}, false},
		{"1", "-5", Page{1, 0}, false},
		{"1", "0", Page{1, 0}, false},
		{"1", "1000", Page{1, 100}, false},
		{"99999999999999999999", "99999999999999999999", Page{2147483647, 100}, false},
		{"1", "-99999999999999999999", Page{1, 0}, false},
		{" 3 ", "", Page{3, 100}, false},
		{"one", "", Page{}, true},
		{"1", "1.5", Page{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.startIndex+"/"+tt.count, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePage(tt.startIndex, tt.count, 100)
			if tt.err {
				wantError(t, err, 400, InvalidValue)
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParsePage = %+v, %v; want %+v", got, err, tt.want)
			}
			if got.Offset() != tt.want.StartIndex-1 {
				t.Errorf("Offset = %d", got.Offset())
			}
		})
	}
}

func TestParseManager(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want Manager
		ok   bool
		err  bool
	}{
		{"Entra's bare id", `"26118915"`, Manager{Value: "26118915"}, true, false},
		{"OneLogin's object", `{"value": "26118915", "displayName": "John Smith"}`, Manager{Value: "26118915", DisplayName: "John Smith"}, true, false},
		{"RFC object with $ref", `{"value": "1", "$ref": "../Users/1"}`, Manager{Value: "1", Ref: "../Users/1"}, true, false},
		{"null", `null`, Manager{}, false, false},
		{"empty string", `""`, Manager{}, false, false},
		{"a number", `42`, Manager{}, false, true},
		{"an object with a number", `{"value": 42}`, Manager{}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v any
			if err := json.Unmarshal([]byte(tt.in), &v); err != nil {
				t.Fatal(err)
			}
			got, ok, err := ParseManager(v)
			if tt.err {
				wantError(t, err, 400, InvalidValue)
				return
			}
			if err != nil || ok != tt.ok || got != tt.want {
				t.Errorf("ParseManager = %+v, %v, %v; want %+v, %v", got, ok, err, tt.want, tt.ok)
			}
		})
	}
}

// What Okta and Entra send on create, prepared for the store.
func TestPrepareCreateBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{"Okta create: password and groups dropped", `{
			"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "test.user@okta.local",
			"name": {"givenName": "Test", "familyName": "User"},
			"emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
			"displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
			"groups": [], "password": "1mz050nq", "active": true}`,
			`{"active":true,"displayName":"Test User","emails":[{"primary":true,"type":"work","value":"test.user@okta.local"}],"externalId":"00ujl29u0le5T6Aj10h7","locale":"en-US","name":{"familyName":"User","givenName":"Test"},"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"test.user@okta.local"}`},
		{"Entra create: meta, nulls, roles [] dropped, manager as an object, active as a string", `{
			"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			"externalId": "0a21f0f2", "userName": "Test_User_ab64@testuser.com", "active": "True",
			"emails": [{"primary": true, "type": "work", "value": "Test_User_fd0e@testuser.com"}],
			"meta": {"resourceType": "User"}, "roles": [], "addresses": null, "phoneNumbers": null, "title": null,
			"preferredLanguage": null, "id": "client-chosen",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales", "manager": "m-1", "costCenter": null}}`,
			`{"active":true,"emails":[{"primary":true,"type":"work","value":"Test_User_fd0e@testuser.com"}],"externalId":"0a21f0f2","schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales","manager":{"value":"m-1"}},"userName":"Test_User_ab64@testuser.com"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := doc(t, tt.body)
			before := canon(t, in)
			got, err := UserAttributes().Prepare(in)
			if err != nil {
				t.Fatal(err)
			}
			if canon(t, got) != tt.want {
				t.Errorf("Prepare =\n%s\nwant\n%s", canon(t, got), tt.want)
			}
			if canon(t, in) != before {
				t.Error("Prepare changed its input")
			}
		})
	}
	_, err := UserAttributes().Prepare(doc(t, `{"userName": "x", "active": "sometimes"}`))
	wantError(t, err, 400, InvalidValue)
	_, err = UserAttributes().Prepare(doc(t, `{"userName": "x", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": "Sales"}`))
	wantError(t, err, 400, InvalidValue)
}

func TestSummarizeUser(t *testing.T) {
	t.Parallel()
	got, err := SummarizeUser(doc(t, `{"userName": "Bob@X.com", "externalId": "e1", "displayName": "Bob",
		"emails": [{"value": "home@x", "type": "home"}, {"value": "bob@x.com", "type": "work"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": "m-9"}}`))
	want := UserSummary{UserName: "Bob@X.com", ExternalID: "e1", DisplayName: "Bob", Email: "bob@x.com", Active: true, ManagerID: "m-9"}
	if err != nil || got != want {
		t.Errorf("SummarizeUser = %+v, %v; want %+v", got, err, want)
	}
	got, err = SummarizeUser(doc(t, `{"userName": "a", "active": false, "emails": [{"value": "p@x", "primary": "true"}, {"value": "w@x", "type": "work"}]}`))
	if err != nil || got.Active || got.Email != "p@x" {
		t.Errorf("SummarizeUser = %+v, %v; want inactive with the primary email", got, err)
	}
	for _, bad := range []string{`{}`, `{"userName": "  "}`, `{"userName": 7}`, `{"userName": "a", "active": "no"}`, `{"userName": "a", "displayName": []}`} {
		_, err := SummarizeUser(doc(t, bad))
		wantError(t, err, 400, InvalidValue)
	}
}

func TestSummarizeGroup(t *testing.T) {
	t.Parallel()
	got, err := SummarizeGroup(doc(t, `{"displayName": "Sales", "externalId": "x1",
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
		"members": [{"value": "u1"}, {"value": "u2", "display": "Two"}, {"value": "u1"}]}`))
	if err != nil || got.DisplayName != "Sales" || got.ExternalID != "x1" || strings.Join(got.MemberIDs, ",") != "u1,u2" {
		t.Errorf("SummarizeGroup = %+v, %v", got, err)
	}
	got, err = SummarizeGroup(doc(t, `{"displayName": "Okta push", "members": []}`))
	if err != nil || len(got.MemberIDs) != 0 {
		t.Errorf("SummarizeGroup(no members) = %+v, %v", got, err)
	}
	for _, bad := range []string{`{}`, `{"displayName": "G", "members": [{"display": "no id"}]}`, `{"displayName": "G", "members": ["u1"]}`} {
		_, err := SummarizeGroup(doc(t, bad))
		wantError(t, err, 400, InvalidValue)
	}
}
