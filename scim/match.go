package scim

import (
	"encoding/json"
	"strings"
	"time"
)

// Match reports whether a resource matches a filter, comparing every string
// case-insensitively. Use Attributes.Match to honour caseExact attributes.
func Match(f Expr, resource map[string]any) bool {
	return Attributes{}.Match(f, resource)
}

// Match reports whether a resource matches a filter (RFC 7644 §3.4.2.2):
//   - attribute names are found in any case; a multi-valued attribute
//     matches when any of its values does; a complex value compares by its
//     "value" sub-attribute (manager eq "…", members eq "…");
//   - strings compare case-insensitively unless declared CaseExact; two
//     RFC 3339 date-times compare as instants;
//   - "ne" is the negation of "eq", so it matches an absent attribute;
//     "eq null" matches an unassigned one;
//   - values of different types never match ("5" is not 5), except that a
//     boolean also matches the strings "true"/"false" in any case.
func (a Attributes) Match(f Expr, resource map[string]any) bool {
	return a.eval(f, resource, nil)
}

// eval evaluates e on doc. Inside a value filter, doc is one value of a
// multi-valued attribute and scope names that attribute.
func (a Attributes) eval(e Expr, doc map[string]any, scope *target) bool {
	switch e := e.(type) {
	case And:
		return a.eval(e.Left, doc, scope) && a.eval(e.Right, doc, scope)
	case Or:
		return a.eval(e.Left, doc, scope) || a.eval(e.Right, doc, scope)
	case Not:
		return !a.eval(e.X, doc, scope)
	case ValuePath:
		values, _ := a.candidates(doc, e.Path, scope)
		return len(values) > 0
	case Compare:
		values, name := a.candidates(doc, e.Path, scope)
		return compareAll(values, e.Op, e.Value, listed(a.CaseExact, name))
	}
	return false
}

// candidates lists the values a path selects, multi-valued attributes
// flattened, with the attribute's declared name.
func (a Attributes) candidates(doc map[string]any, p Path, scope *target) ([]any, string) {
	if scope != nil {
		v := get(doc, p.Attr)
		if p.Sub != "" {
			m, _ := v.(map[string]any)
			v = get(m, p.Sub)
		}
		return asList(v), scope.name(p.Attr)
	}
	t := resolve(doc, p)
	values := asList(valueAt(doc, t))
	if p.Filter != nil {
		var matched []any
		for _, v := range values {
			if m, ok := v.(map[string]any); ok && a.eval(p.Filter, m, &t) {
				matched = append(matched, m)
			}
		}
		values = matched
	}
	if p.Sub == "" {
		return values, t.name("")
	}
	var subs []any
	for _, v := range values {
		if m, ok := v.(map[string]any); ok {
			subs = append(subs, asList(get(m, p.Sub))...)
		}
	}
	return subs, t.name(p.Sub)
}

func compareAll(values []any, op Op, lit any, caseExact bool) bool {
	switch {
	case op == Ne:
		return !compareAll(values, Eq, lit, caseExact)
	case op == Eq && lit == nil:
		return !compareAll(values, Pr, nil, caseExact)
	}
	for _, v := range values {
		if op == Pr && assigned(v) || op != Pr && compare(v, op, lit, caseExact) {
			return true
		}
	}
	return false
}

func compare(v any, op Op, lit any, caseExact bool) bool {
	if m, ok := v.(map[string]any); ok {
		v = get(m, "value")
	}
	switch lit := lit.(type) {
	case string:
		s, ok := v.(string)
		return ok && compareStrings(s, op, lit, caseExact)
	case json.Number:
		x, ok1 := number(v)
		y, ok2 := number(lit)
		return ok1 && ok2 && ordered(op, cmpFloat(x, y))
	case bool:
		b, ok := parseBool(v)
		return ok && op == Eq && b == lit
	}
	return false
}

func compareStrings(s string, op Op, lit string, caseExact bool) bool {
	switch op {
	case Eq, Gt, Ge, Lt, Le:
		if t1, err := time.Parse(time.RFC3339Nano, s); err == nil {
			if t2, err := time.Parse(time.RFC3339Nano, lit); err == nil {
				return ordered(op, t1.Compare(t2))
			}
		}
	}
	if !caseExact {
		s, lit = strings.ToLower(s), strings.ToLower(lit)
	}
	switch op {
	case Co:
		return strings.Contains(s, lit)
	case Sw:
		return strings.HasPrefix(s, lit)
	case Ew:
		return strings.HasSuffix(s, lit)
	}
	return ordered(op, strings.Compare(s, lit))
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func ordered(op Op, c int) bool {
	switch op {
	case Eq:
		return c == 0
	case Gt:
		return c > 0
	case Ge:
		return c >= 0
	case Lt:
		return c < 0
	case Le:
		return c <= 0
	}
	return false
}

// Term is one "path eq value" of a filter.
type Term struct {
	Path  Path
	Value any // string, json.Number, bool or nil, as in Compare
}

// EqualityTerms lists the terms of a filter made only of "eq" comparisons
// joined by "and" (ok is false for anything else), so that the store can
// answer `userName eq "x" and externalId eq "y"` — all Entra and Okta send —
// with an indexed query and leave every other filter to Match. Check each
// term's path with Path.Is and compare strings as Match does
// (case-insensitively, for userName).
func EqualityTerms(f Expr) ([]Term, bool) {
	switch e := f.(type) {
	case Compare:
		if e.Op == Eq {
			return []Term{{Path: e.Path, Value: e.Value}}, true
		}
	case And:
		left, ok := EqualityTerms(e.Left)
		if !ok {
			return nil, false
		}
		right, ok := EqualityTerms(e.Right)
		if !ok {
			return nil, false
		}
		return append(left, right...), true
	}
	return nil, false
}
