package scim

// Schema is a /Schemas entry (RFC 7643 §7).
type Schema struct {
	Schemas     []string          `json:"schemas"`
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Attributes  []SchemaAttribute `json:"attributes"`
	Meta        map[string]string `json:"meta"`
}

// SchemaAttribute describes one attribute (RFC 7643 §7).
type SchemaAttribute struct {
	Name           string            `json:"name"`
	Type           string            `json:"type"`
	MultiValued    bool              `json:"multiValued"`
	Description    string            `json:"description"`
	Required       bool              `json:"required"`
	CaseExact      bool              `json:"caseExact"`
	Mutability     string            `json:"mutability"`
	Returned       string            `json:"returned"`
	Uniqueness     string            `json:"uniqueness"`
	SubAttributes  []SchemaAttribute `json:"subAttributes,omitempty"`
	ReferenceTypes []string          `json:"referenceTypes,omitempty"`
}

// The attributes Entitle reads, keeps and returns. Others a client sends are
// kept as sent too, but only these mean something to Entitle. The flags
// match UserAttributes and GroupAttributes: what is declared read-only or
// case-exact there is so here.

func userSchema() Schema {
	return Schema{ID: UserSchema, Name: "User", Description: "A person of the account", Attributes: []SchemaAttribute{
		str("userName", "Unique identifier of the user, usually an email address; unique per account, ignoring case").required().unique(),
		complexAttr("name", "The user's name",
			str("formatted", "The full name"), str("familyName", "Family name"), str("givenName", "Given name"),
			str("middleName", "Middle name")),
		str("displayName", "The name shown in the portal"),
		str("title", "Job title"),
		str("preferredLanguage", "Preferred language, as en-US"),
		str("locale", "Locale, as en-US"),
		str("timezone", "Time zone, as Europe/Paris"),
		attr("active", "boolean", "Whether the user may hold seats; false deactivates, keeping the user readable"),
		str("password", "Accepted and discarded: Entitle keeps no passwords from identity providers").writeOnly(),
		complexAttr("emails", "Email addresses",
			str("value", "The address"), str("type", "work, home or other"), str("display", "A display form"),
			attr("primary", "boolean", "The preferred address")).multi(),
		complexAttr("phoneNumbers", "Phone numbers",
			str("value", "The number"), str("type", "work, mobile or other"), attr("primary", "boolean", "The preferred number")).multi(),
		complexAttr("groups", "Groups the user belongs to, set through /Groups",
			str("value", "The group's id").exact().readOnly(), ref("$ref", "Group").readOnly(),
			str("display", "The group's name").readOnly()).multi().readOnly(),
	}}
}

func enterpriseUserSchema() Schema {
	return Schema{ID: EnterpriseUserSchema, Name: "EnterpriseUser", Description: "Enterprise user", Attributes: []SchemaAttribute{
		str("employeeNumber", "Employee number"), str("costCenter", "Cost center"), str("organization", "Organization"),
		str("division", "Division"), str("department", "Department"),
		complexAttr("manager", "The user's manager; also accepted as a bare id string",
			str("value", "The manager's id").exact(), ref("$ref", "User"), str("displayName", "The manager's name").readOnly()),
	}}
}

func groupSchema() Schema {
	return Schema{ID: GroupSchema, Name: "Group", Description: "A group of users; provisioning rules turn membership into seats", Attributes: []SchemaAttribute{
		str("displayName", "The group's name, by which identity providers find it").required(),
		complexAttr("members", "The group's members",
			str("value", "The member's id").exact().immutable(), ref("$ref", "User", "Group").immutable(),
			str("display", "The member's name").readOnly(), str("type", "User or Group").immutable()).multi(),
	}}
}

func attr(name, typ, description string) SchemaAttribute {
	return SchemaAttribute{Name: name, Type: typ, Description: description,
		Mutability: "readWrite", Returned: "default", Uniqueness: "none"}
}

func str(name, description string) SchemaAttribute { return attr(name, "string", description) }

func ref(name string, types ...string) SchemaAttribute {
	a := attr(name, "reference", "The URI of the resource")
	a.ReferenceTypes = types
	return a
}

func complexAttr(name, description string, subs ...SchemaAttribute) SchemaAttribute {
	a := attr(name, "complex", description)
	a.SubAttributes = subs
	return a
}

func (a SchemaAttribute) multi() SchemaAttribute     { a.MultiValued = true; return a }
func (a SchemaAttribute) required() SchemaAttribute  { a.Required = true; return a }
func (a SchemaAttribute) exact() SchemaAttribute     { a.CaseExact = true; return a }
func (a SchemaAttribute) unique() SchemaAttribute    { a.Uniqueness = "server"; return a }
func (a SchemaAttribute) readOnly() SchemaAttribute  { a.Mutability = "readOnly"; return a }
func (a SchemaAttribute) immutable() SchemaAttribute { a.Mutability = "immutable"; return a }
func (a SchemaAttribute) writeOnly() SchemaAttribute {
	a.Mutability, a.Returned = "writeOnly", "never"
	return a
}
