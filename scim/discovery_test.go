package scim

import (
	"encoding/json"
	"testing"
)

var testConfig = Config{BaseURL: "https://entitle.example/scim/v2/", MaxResults: 100}

// roundTrip reads a document the way a client would.
func roundTrip(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return doc(t, string(b))
}

func TestServiceProviderConfigSaysWhatIsSupported(t *testing.T) {
	t.Parallel()
	spc := roundTrip(t, NewServiceProviderConfig(testConfig))
	tests := []struct {
		filter string
		want   bool
	}{
		{`schemas eq "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"`, true},
		{`patch.supported eq true`, true},
		{`bulk.supported eq false`, true},
		{`filter.supported eq true and filter.maxResults eq 100`, true},
		{`changePassword.supported eq false`, true},
		{`sort.supported eq false`, true},
		{`etag.supported eq false`, true},
		{`authenticationSchemes[type eq "oauthbearertoken" and primary eq true]`, true},
		{`meta.location eq "https://entitle.example/scim/v2/ServiceProviderConfig"`, true},
	}
	for _, tt := range tests {
		f, err := ParseFilter(tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		if Match(f, spc) != tt.want {
			t.Errorf("%s: not %v in %s", tt.filter, tt.want, canon(t, spc))
		}
	}
}

func TestDiscoveryLists(t *testing.T) {
	t.Parallel()
	schemas := roundTrip(t, Schemas(testConfig))
	if get(schemas, "totalResults") != json.Number("3") || len(get(schemas, "Resources").([]any)) != 3 {
		t.Errorf("/Schemas = %s", canon(t, schemas))
	}
	f, _ := ParseFilter(`schemas eq "urn:ietf:params:scim:api:messages:2.0:ListResponse"`)
	if !Match(f, schemas) {
		t.Error("/Schemas is not a ListResponse, which Entra requires")
	}
	user, ok := FindSchema(testConfig, "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER")
	if !ok || user.Meta["location"] != "https://entitle.example/scim/v2/Schemas/"+UserSchema {
		t.Errorf("FindSchema(User) = %+v, %v", user.Meta, ok)
	}
	// The schema agrees with UserAttributes on what is read-only and boolean.
	attrs := UserAttributes()
	for _, a := range user.Attributes {
		if listed(attrs.ReadOnly, a.Name) != (a.Mutability == "readOnly") {
			t.Errorf("%s: schema mutability %s, UserAttributes.ReadOnly disagrees", a.Name, a.Mutability)
		}
		if listed(attrs.Booleans, a.Name) != (a.Type == "boolean") {
			t.Errorf("%s: schema type %s, UserAttributes.Booleans disagrees", a.Name, a.Type)
		}
	}
	if _, ok := FindSchema(testConfig, EnterpriseUserSchema); !ok {
		t.Error("no enterprise extension schema")
	}
	types := roundTrip(t, ResourceTypes(testConfig))
	f, _ = ParseFilter(`Resources[id eq "User" and endpoint eq "/Users"] and Resources[id eq "Group" and schema eq "urn:ietf:params:scim:schemas:core:2.0:Group"]`)
	if !Match(f, types) || get(types, "totalResults") != json.Number("2") {
		t.Errorf("/ResourceTypes = %s", canon(t, types))
	}
	if rt, ok := FindResourceType(testConfig, "user"); !ok || rt.SchemaExtensions[0].Schema != EnterpriseUserSchema {
		t.Errorf("FindResourceType(user) = %+v, %v", rt, ok)
	}
	if _, ok := FindResourceType(testConfig, "Robots"); ok {
		t.Error("found a resource type that does not exist")
	}
}
