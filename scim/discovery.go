package scim

import "strings"

// The discovery documents (RFC 7643 §5–7). They describe what the server
// really does, because identity providers believe them: Entra reads /Schemas
// (as a ListResponse) when provisioning is saved, and a client that sees
// "bulk" or "sort" supported will use them.

// Config is what the discovery documents need to know about the server.
type Config struct {
	BaseURL          string // the SCIM root as clients reach it, e.g. https://host/scim/v2
	MaxResults       int    // the largest page a query returns; ParsePage's maxCount
	DocumentationURI string // a page explaining provisioning to an admin; may be empty
}

// ServiceProviderConfig is the /ServiceProviderConfig document.
type ServiceProviderConfig struct {
	Schemas               []string          `json:"schemas"`
	DocumentationURI      string            `json:"documentationUri,omitempty"`
	Patch                 Supported         `json:"patch"`
	Bulk                  BulkSupport       `json:"bulk"`
	Filter                FilterSupport     `json:"filter"`
	ChangePassword        Supported         `json:"changePassword"`
	Sort                  Supported         `json:"sort"`
	ETag                  Supported         `json:"etag"`
	AuthenticationSchemes []AuthScheme      `json:"authenticationSchemes"`
	Meta                  map[string]string `json:"meta"`
}

// Supported says whether a feature is.
type Supported struct {
	Supported bool `json:"supported"`
}

// BulkSupport is the bulk feature with its limits.
type BulkSupport struct {
	Supported      bool `json:"supported"`
	MaxOperations  int  `json:"maxOperations"`
	MaxPayloadSize int  `json:"maxPayloadSize"`
}

// FilterSupport is the filter feature with the page size limit.
type FilterSupport struct {
	Supported  bool `json:"supported"`
	MaxResults int  `json:"maxResults"`
}

// AuthScheme is one way to authenticate.
type AuthScheme struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	Description string `json:"description"`
	SpecURI     string `json:"specUri,omitempty"`
	Primary     bool   `json:"primary,omitempty"`
}

// NewServiceProviderConfig: PATCH and filters yes; no bulk, no sort, no ETags
// (neither Okta nor Entra needs them), no password changes (Entitle keeps no
// passwords from identity providers); bearer tokens made in the portal.
func NewServiceProviderConfig(c Config) ServiceProviderConfig {
	return ServiceProviderConfig{
		Schemas:          []string{ServiceProviderConfigSchema},
		DocumentationURI: c.DocumentationURI,
		Patch:            Supported{true},
		Filter:           FilterSupport{Supported: true, MaxResults: c.MaxResults},
		AuthenticationSchemes: []AuthScheme{{
			Type:        "oauthbearertoken",
			Name:        "OAuth Bearer Token",
			Description: "A SCIM token made in the portal under Settings, Provisioning, sent as Authorization: Bearer <token>.",
			SpecURI:     "https://www.rfc-editor.org/rfc/rfc6750",
			Primary:     true,
		}},
		Meta: map[string]string{"resourceType": "ServiceProviderConfig", "location": location(c.BaseURL, "ServiceProviderConfig")},
	}
}

// ResourceType is a /ResourceTypes entry.
type ResourceType struct {
	Schemas          []string          `json:"schemas"`
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Endpoint         string            `json:"endpoint"`
	Description      string            `json:"description"`
	Schema           string            `json:"schema"`
	SchemaExtensions []SchemaExtension `json:"schemaExtensions"`
	Meta             map[string]string `json:"meta"`
}

// SchemaExtension names an extension a resource type may carry.
type SchemaExtension struct {
	Schema   string `json:"schema"`
	Required bool   `json:"required"`
}

// ResourceTypes is the /ResourceTypes answer: User (with the enterprise
// extension) and Group.
func ResourceTypes(c Config) ListResponse[ResourceType] {
	types := []ResourceType{
		{ID: "User", Name: "User", Endpoint: "/Users", Description: "People of the account, provisioned by the identity provider",
			Schema: UserSchema, SchemaExtensions: []SchemaExtension{{Schema: EnterpriseUserSchema}}},
		{ID: "Group", Name: "Group", Endpoint: "/Groups", Description: "Groups whose members provisioning rules turn into seats",
			Schema: GroupSchema, SchemaExtensions: []SchemaExtension{}},
	}
	for i := range types {
		types[i].Schemas = []string{ResourceTypeSchema}
		types[i].Meta = map[string]string{"resourceType": "ResourceType", "location": location(c.BaseURL, "ResourceTypes", types[i].ID)}
	}
	return NewListResponse(types, len(types), Page{StartIndex: 1})
}

// FindResourceType answers /ResourceTypes/{id}.
func FindResourceType(c Config, id string) (ResourceType, bool) {
	for _, t := range ResourceTypes(c).Resources {
		if strings.EqualFold(t.ID, id) {
			return t, true
		}
	}
	return ResourceType{}, false
}

// Schemas is the /Schemas answer, a ListResponse as Entra requires.
func Schemas(c Config) ListResponse[Schema] {
	schemas := []Schema{userSchema(), enterpriseUserSchema(), groupSchema()}
	for i := range schemas {
		schemas[i].Schemas = []string{SchemaSchema}
		schemas[i].Meta = map[string]string{"resourceType": "Schema", "location": location(c.BaseURL, "Schemas", schemas[i].ID)}
	}
	return NewListResponse(schemas, len(schemas), Page{StartIndex: 1})
}

// FindSchema answers /Schemas/{urn}.
func FindSchema(c Config, id string) (Schema, bool) {
	for _, s := range Schemas(c).Resources {
		if strings.EqualFold(s.ID, id) {
			return s, true
		}
	}
	return Schema{}, false
}
