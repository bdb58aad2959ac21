package scim

import (
	"strings"
)

// Attributes declares what the protocol code must know about a resource
// type beyond its JSON shape. Names are attribute paths as a client writes
// them: "active", "emails.primary", "members.value", and extension attributes
// with their URN, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager".
type Attributes struct {
	// ReadOnly attributes are the server's (RFC 7643 "mutability":
	// "readOnly"): dropped by Prepare, because Okta PUTs back the id, meta and
	// groups it read (RFC 7644 §3.5.1); a PATCH that would change one fails
	// with 400 mutability, and one that leaves it as it is (Okta's group
	// rename repeats the group's own id) is accepted.
	ReadOnly []string
	// Booleans take a JSON boolean or "true"/"false" in any case, which Entra
	// sends; any other value is a 400 invalidValue.
	Booleans []string
	// CaseExact strings compare case-sensitively in filters: ids, which the
	// server or the identity provider makes (RFC 7643 gives id and externalId
	// caseExact=true). Every other string compares case-insensitively:
	// RFC 7643 makes userName, emails and displayName caseExact=false, and
	// Okta's spec test finds a user by its userName in capitals.
	CaseExact []string
	// Discard attributes are accepted and never kept. Entitle takes no
	// passwords from identity providers (Okta sends one on create), and
	// "password" is "returned": "never" anyway.
	Discard []string
	// Normalize, if set, brings a document to its stored shape after Prepare
	// and after every PATCH operation (for users: manager as an object).
	Normalize func(doc map[string]any) error
}

// UserAttributes is what Entitle declares for /Users.
func UserAttributes() Attributes {
	return Attributes{
		ReadOnly:  []string{"id", "meta", "groups"},
		Booleans:  []string{"active", "emails.primary", "phoneNumbers.primary", "addresses.primary", "roles.primary"},
		CaseExact: []string{"id", "externalId", "groups.value", EnterpriseUserSchema + ":manager.value"},
		Discard:   []string{"password"},
		Normalize: NormalizeUser,
	}
}

// GroupAttributes is what Entitle declares for /Groups.
func GroupAttributes() Attributes {
	return Attributes{
		ReadOnly:  []string{"id", "meta"},
		CaseExact: []string{"id", "externalId", "members.value"},
	}
}

// Prepare turns a created or replaced (PUT) document into the one to store:
// read-only and discarded attributes dropped, explicit nulls and empty arrays
// dropped (Entra sends "title": null; null means unassigned), booleans made
// booleans, and Normalize applied. The input is not modified.
func (a Attributes) Prepare(doc map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(doc))
	for _, k := range sortedKeys(doc) {
		v, err := a.prepareAttr(target{attr: k}, doc[k])
		if err != nil {
			return nil, err
		}
		if !unassigned(v) {
			out[k] = v
		}
	}
	for _, name := range append(append([]string(nil), a.ReadOnly...), a.Discard...) {
		if p, err := ParsePath(name); err == nil {
			if err := a.applyAt(out, "remove", p, nil); err != nil {
				return nil, err
			}
		}
	}
	if a.Normalize != nil {
		if err := a.Normalize(out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// target is where an attribute lives: in an extension's object (ext is its
// URN) or at the top of the resource (ext empty). An extension's object as a
// whole is the top-level attribute named by its URN.
type target struct{ ext, attr string }

// resolve places a path. "urn:…:enterprise:2.0:User:department" is the
// department of the extension object; "urn:…:enterprise:2.0:User" is that
// object itself, recognised as a schema URN.
func resolve(doc map[string]any, p Path) target {
	if p.URN == "" || isCoreURN(p.URN) {
		return target{attr: p.Attr}
	}
	if full := p.URN + ":" + p.Attr; isSchemaURN(doc, full) {
		return target{attr: full}
	}
	return target{ext: p.URN, attr: p.Attr}
}

// isSchemaURN: the schemas Entitle knows, those the resource lists, and any
// top-level object keyed by a URN.
func isSchemaURN(doc map[string]any, s string) bool {
	for _, known := range []string{EnterpriseUserSchema, UserSchema, GroupSchema} {
		if strings.EqualFold(s, known) {
			return true
		}
	}
	if schemas, ok := get(doc, "schemas").([]any); ok {
		for _, x := range schemas {
			if x, ok := x.(string); ok && strings.EqualFold(x, s) {
				return true
			}
		}
	}
	_, isObject := get(doc, s).(map[string]any)
	return isObject
}

func isURNKey(s string) bool { return len(s) > 4 && strings.EqualFold(s[:4], "urn:") }

// isExtension: the target is an extension's whole object.
func (t target) isExtension() bool { return t.ext == "" && isURNKey(t.attr) }

// name is the attribute's declared name, with sub appended.
func (t target) name(sub string) string {
	n := t.attr
	if t.ext != "" {
		n = t.ext + ":" + t.attr
	}
	switch {
	case sub == "":
		return n
	case t.isExtension():
		return n + ":" + sub
	}
	return n + "." + sub
}

func listed(names []string, name string) bool {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// prepareAttr copies a value written to an attribute: nulls dropped,
// declared booleans coerced, an extension's attributes prepared one by one.
func (a Attributes) prepareAttr(t target, v any) (any, error) {
	if t.isExtension() {
		m, ok := v.(map[string]any)
		if !ok {
			if unassigned(v) {
				return nil, nil
			}
			return nil, BadRequest(InvalidValue, "%s holds the extension's attributes as an object, not %s", t.attr, describe(v))
		}
		out := make(map[string]any, len(m))
		for _, k := range sortedKeys(m) {
			x, err := a.prepareAttr(target{ext: t.attr, attr: k}, m[k])
			if err != nil {
				return nil, err
			}
			if !unassigned(x) {
				out[k] = x
			}
		}
		return out, nil
	}
	if listed(a.Booleans, t.name("")) {
		return boolValue(t.name(""), v)
	}
	switch v := v.(type) {
	case map[string]any:
		return a.prepareComplex(t, v)
	case []any:
		out := make([]any, 0, len(v))
		for _, x := range v {
			if m, ok := x.(map[string]any); ok {
				pm, err := a.prepareComplex(t, m)
				if err != nil {
					return nil, err
				}
				x = pm
			} else {
				x = deepClean(x)
			}
			if !unassigned(x) {
				out = append(out, x)
			}
		}
		return out, nil
	}
	return deepClean(v), nil
}

func (a Attributes) prepareComplex(t target, m map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for _, k := range sortedKeys(m) {
		x, err := a.prepareSub(t, k, m[k])
		if err != nil {
			return nil, err
		}
		if !unassigned(x) {
			out[k] = x
		}
	}
	return out, nil
}

// prepareSub copies a value written to a sub-attribute.
func (a Attributes) prepareSub(t target, sub string, v any) (any, error) {
	if listed(a.Booleans, t.name(sub)) {
		return boolValue(t.name(sub), v)
	}
	return deepClean(v), nil
}

func boolValue(name string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, ok := parseBool(v)
	if !ok {
		return nil, BadRequest(InvalidValue, "%s is a boolean: send true or false, not %s", name, describe(v))
	}
	return b, nil
}

// deepClean is deepCopy without nulls, empty arrays and empty objects.
func deepClean(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if x = deepClean(x); !unassigned(x) {
				out[k] = x
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(v))
		for _, x := range v {
			if x = deepClean(x); !unassigned(x) {
				out = append(out, x)
			}
		}
		return out
	case []map[string]any, []string:
		return deepClean(deepCopy(v))
	}
	return v
}
