package scim

import (
	"fmt"
	"strings"
)

// Path names an attribute, as in a filter or a PATCH "path" (RFC 7644
// §3.4.2.2 and §3.5.2):
//
//	userName                                 {Attr: "userName"}
//	name.givenName                           {Attr: "name", Sub: "givenName"}
//	urn:…:enterprise:2.0:User:department     {URN: "urn:…:enterprise:2.0:User", Attr: "department"}
//	emails[type eq "work"].value             {Attr: "emails", Filter: type eq "work", Sub: "value"}
//
// Names keep the client's spelling; they are compared case-insensitively.
type Path struct {
	URN    string // schema URN prefix; empty for a core attribute
	Attr   string
	Filter Expr   // value selection filter in brackets, or nil
	Sub    string // sub-attribute, or empty
}

// String writes the path back in SCIM syntax.
func (p Path) String() string {
	var b strings.Builder
	if p.URN != "" {
		b.WriteString(p.URN)
		b.WriteByte(':')
	}
	b.WriteString(p.Attr)
	if p.Filter != nil {
		b.WriteByte('[')
		b.WriteString(p.Filter.String())
		b.WriteByte(']')
	}
	if p.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Sub)
	}
	return b.String()
}

// Is reports whether p names the attribute written as name, ignoring case and
// a core schema prefix: a store turning EqualityTerms into SQL asks
// term.Path.Is("userName") and is not fooled by
// "urn:ietf:params:scim:schemas:core:2.0:User:USERNAME".
func (p Path) Is(name string) bool {
	q, err := ParsePath(name)
	return err == nil && p.key() == q.key()
}

// key is the path lower-cased, without a core schema prefix.
func (p Path) key() string {
	if isCoreURN(p.URN) {
		p.URN = ""
	}
	return strings.ToLower(p.String())
}

// isCoreURN: the core schemas' attributes live at the top of a resource, so
// "urn:ietf:params:scim:schemas:core:2.0:User:userName" is just userName.
func isCoreURN(urn string) bool {
	return strings.EqualFold(urn, UserSchema) || strings.EqualFold(urn, GroupSchema)
}

// ParsePath parses a PATCH path: attrPath, or valuePath with an optional
// sub-attribute (RFC 7644 §3.5.2). Errors are 400 invalidPath.
func ParsePath(s string) (Path, error) {
	p, err := newParser(s, InvalidPath, "path")
	if err != nil {
		return Path{}, err
	}
	if p.tok.kind != tokWord {
		return Path{}, p.fail("expected an attribute name, found %s", p.tok.describe())
	}
	path, err := p.parsePath()
	if err != nil {
		return Path{}, err
	}
	if p.tok.kind != tokEOF {
		return Path{}, p.fail("unexpected %s after the path", p.tok.describe())
	}
	return path, nil
}

// parseAttrPath splits one word into URN, attribute and sub-attribute. A URN
// contains dots ("2.0"), so the URN ends at the last colon and only the rest
// splits on the dot.
func parseAttrPath(word string) (Path, error) {
	var p Path
	rest := word
	if len(word) > 4 && strings.EqualFold(word[:4], "urn:") {
		i := strings.LastIndexByte(word, ':')
		if i <= 4 {
			return Path{}, fmt.Errorf("%q is a URN without an attribute name", word)
		}
		p.URN, rest = word[:i], word[i+1:]
	} else if strings.Contains(word, ":") {
		return Path{}, fmt.Errorf("%q is neither an attribute name nor a URN-prefixed attribute", word)
	}
	attr, sub, dotted := strings.Cut(rest, ".")
	if err := checkName(attr, word); err != nil {
		return Path{}, err
	}
	p.Attr = attr
	if dotted {
		if err := checkName(sub, word); err != nil {
			return Path{}, err
		}
		p.Sub = sub
	}
	return p, nil
}

// checkName: ATTRNAME = ALPHA *(ALPHA / DIGIT / "-" / "_"), and "$ref".
func checkName(name, in string) error {
	body := strings.TrimPrefix(name, "$")
	ok := body != ""
	for i := 0; ok && i < len(body); i++ {
		c := body[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		ok = letter || i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '_')
	}
	if !ok {
		if name == "" {
			return fmt.Errorf("%q has an empty attribute name", in)
		}
		return fmt.Errorf("%q is not a valid attribute name in %q", name, in)
	}
	return nil
}
