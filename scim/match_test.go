package scim

import (
	"testing"
)

const matchUser = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
	"id": "2819c223-7f76-453a-919d-413861904646",
	"externalId": "00ujl29u0le5T6Aj10h7",
	"userName": "Test.User@Okta.local",
	"name": {"givenName": "Test", "familyName": "User"},
	"displayName": "Test User",
	"active": true,
	"loginCount": 7,
	"emails": [
		{"value": "test.user@okta.local", "type": "work", "primary": true},
		{"value": "home@example.org", "type": "home"}
	],
	"meta": {"resourceType": "User", "lastModified": "2024-03-01T10:00:00Z"},
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
		"department": "Tour Operations",
		"manager": {"value": "26118915", "displayName": "John Smith"}
	}
}`

func TestMatch(t *testing.T) {
	t.Parallel()
	user := doc(t, matchUser)
	tests := []struct {
		filter string
		want   bool
	}{
		// eq and case: attribute names, operators and userName ignore case (Okta's spec test).
		{`userName eq "test.user@okta.local"`, true},
		{`USERNAME EQ "TEST.USER@OKTA.LOCAL"`, true},
		{`userName eq "someone.else@okta.local"`, false},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "test.user@okta.local"`, true},
		{`id eq "2819c223-7f76-453a-919d-413861904646"`, true},
		// Entra's Test Connection: a random GUID matches nobody.
		{`userName eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`, false},
		{`externalId eq "00ujl29u0le5T6Aj10h7" and userName eq "Test.User@okta.local"`, true},
		{`userName ne "test.user@okta.local"`, false},
		{`userName ne "x"`, true},
		{`title ne "x"`, true},
		{`userName co "USER@"`, true},
		{`userName co "nobody"`, false},
		{`name.givenName sw "te"`, true},
		{`name.givenName sw "st"`, false},
		{`name.familyName ew "SER"`, true},
		{`name.familyName ew "us"`, false},
		{`userName gt "a"`, true},
		{`userName lt "a"`, false},
		{`userName ge "test.user@okta.local"`, true},
		{`userName le "test.user@okta.local"`, true},
		{`loginCount gt 5`, true},
		{`loginCount ge 7`, true},
		{`loginCount lt 7`, false},
		{`loginCount le 7.0`, true},
		{`loginCount eq 7`, true},
		{`loginCount eq "7"`, false},
		{`meta.lastModified gt "2024-01-01T00:00:00Z"`, true},
		{`meta.lastModified lt "2024-03-01T11:00:00+01:00"`, false},
		{`meta.lastModified eq "2024-03-01T10:00:00.000Z"`, true},
		{`active eq true`, true},
		{`active eq false`, false},
		{`title pr`, false},
		{`name pr`, true},
		{`title eq null`, true},
		{`userName eq null`, false},
		{`not (title pr)`, true},
		// Multi-valued: any value matches; value filters; Entra's matching attribute.
		{`emails eq "home@example.org"`, true},
		{`emails.value eq "HOME@example.org"`, true},
		{`emails.type eq "other"`, false},
		{`emails[type eq "work"].value eq "test.user@okta.local"`, true},
		{`emails[type eq "work"].value eq "home@example.org"`, false},
		{`emails[type eq "work" and primary eq true]`, true},
		{`emails[type eq "home" and primary eq true]`, false},
		{`emails[type eq "home"]`, true},
		{`emails[type eq "other"]`, false},
		// The enterprise extension, by URN; manager compares by its value.
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName co "smith"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr`, true},
		{`urn:example:other:1.0:User:department pr`, false},
		// Precedence: and before or; not before and.
		{`userName eq "x" or active eq true and title pr`, false},
		{`active eq true or userName eq "x" and title pr`, true},
		{`(active eq true or userName eq "x") and title pr`, false},
		{`not (title pr) and active eq true`, true},
		{`not (title pr and active eq true)`, true},
		{`not (active eq true) or userName eq "x"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			f, err := ParseFilter(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := Match(f, user); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

// Ids compare exactly where declared (RFC 7643: id and externalId are
// caseExact); Match alone ignores case everywhere.
func TestMatchCaseExact(t *testing.T) {
	t.Parallel()
	user := doc(t, matchUser)
	group := doc(t, `{"id": "g1", "displayName": "Sales", "members": [{"value": "AbC"}]}`)
	tests := []struct {
		attrs    Attributes
		resource map[string]any
		filter   string
		want     bool
	}{
		{UserAttributes(), user, `externalId eq "00UJL29U0LE5T6AJ10H7"`, false},
		{Attributes{}, user, `externalId eq "00UJL29U0LE5T6AJ10H7"`, true},
		{UserAttributes(), user, `externalId eq "00ujl29u0le5T6Aj10h7"`, true},
		{UserAttributes(), user, `userName eq "TEST.USER@OKTA.LOCAL"`, true},
		{UserAttributes(), user, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"`, true},
		{GroupAttributes(), group, `members[value eq "abc"]`, false},
		{GroupAttributes(), group, `members[value eq "AbC"]`, true},
		{GroupAttributes(), group, `displayName eq "SALES"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			f, err := ParseFilter(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.attrs.Match(f, tt.resource); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}
