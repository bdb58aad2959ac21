package scim

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Expr is a parsed filter (RFC 7644 §3.4.2.2): And, Or, Not, Compare or
// ValuePath. String writes it back in canonical form.
type Expr interface {
	String() string
	isExpr()
}

// Op is a comparison operator, lower-cased.
type Op string

// The operators of RFC 7644 §3.4.2.2; clients may write them in any case.
const (
	Eq Op = "eq" // equal
	Ne Op = "ne" // not equal
	Co Op = "co" // contains
	Sw Op = "sw" // starts with
	Ew Op = "ew" // ends with
	Gt Op = "gt" // greater than
	Ge Op = "ge" // greater than or equal
	Lt Op = "lt" // less than
	Le Op = "le" // less than or equal
	Pr Op = "pr" // present (has a value)
)

var operators = map[string]Op{"eq": Eq, "ne": Ne, "co": Co, "sw": Sw, "ew": Ew, "gt": Gt, "ge": Ge, "lt": Lt, "le": Le, "pr": Pr}

// And is true when both sides are; it binds tighter than Or.
type And struct{ Left, Right Expr }

// Or is true when either side is.
type Or struct{ Left, Right Expr }

// Not negates a parenthesised filter: not (…).
type Not struct{ X Expr }

// Compare is "path op value", or "path pr" (Value nil). Value is a string,
// a json.Number (kept exact: the caller decides how to compare it), a bool or
// nil for null.
type Compare struct {
	Path  Path
	Op    Op
	Value any
}

// ValuePath is a bare "emails[type eq "work"]": true when some value of
// the multi-valued attribute matches the filter in brackets.
type ValuePath struct{ Path Path }

func (And) isExpr()       {}
func (Or) isExpr()        {}
func (Not) isExpr()       {}
func (Compare) isExpr()   {}
func (ValuePath) isExpr() {}

// String parenthesises only where precedence needs it, so that parsing the
// result gives back the same tree.
func (e And) String() string {
	l, r := e.Left.String(), e.Right.String()
	if _, ok := e.Left.(Or); ok {
		l = "(" + l + ")"
	}
	switch e.Right.(type) {
	case And, Or:
		r = "(" + r + ")"
	}
	return l + " and " + r
}

func (e Or) String() string {
	r := e.Right.String()
	if _, ok := e.Right.(Or); ok {
		r = "(" + r + ")"
	}
	return e.Left.String() + " or " + r
}

func (e Not) String() string       { return "not (" + e.X.String() + ")" }
func (e ValuePath) String() string { return e.Path.String() }

func (e Compare) String() string {
	if e.Op == Pr {
		return e.Path.String() + " pr"
	}
	return e.Path.String() + " " + string(e.Op) + " " + literal(e.Value)
}

func literal(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case json.Number:
		return v.String()
	case string:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(v)
}

// Limits that keep a hostile filter from costing more than a real one: Entra
// and Okta send one or two comparisons.
const (
	maxFilterDepth = 32   // nested parentheses, not (…) and brackets
	maxFilterTerms = 1000 // comparisons in one filter
)

// ParseFilter parses a filter. Attribute names, operators and the keywords
// and, or, not, true, false, null are case-insensitive; "not" binds tighter
// than "and", which binds tighter than "or". Every error is a 400
// invalidFilter whose detail says what was expected where.
func ParseFilter(s string) (Expr, error) {
	p, err := newParser(s, InvalidFilter, "filter")
	if err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, p.fail("the filter is empty")
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.fail("expected and, or or the end of the filter, found %s", p.tok.describe())
	}
	return e, nil
}

type parser struct {
	lex      lexer
	tok      token
	scimType string // InvalidFilter or InvalidPath
	what     string // "filter" or "path", for details
	depth    int
	terms    int
	inValue  bool // inside a value filter's brackets
}

func newParser(src, scimType, what string) (*parser, error) {
	p := &parser{lex: lexer{src: src}, scimType: scimType, what: what}
	return p, p.advance()
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return p.failAt(p.lex.pos, "%s", err)
	}
	p.tok = t
	return nil
}

func (p *parser) fail(format string, args ...any) error {
	return p.failAt(p.tok.pos, format, args...)
}

func (p *parser) failAt(pos int, format string, args ...any) error {
	src := p.lex.src
	if len(src) > 200 {
		src = src[:200] + "…"
	}
	return BadRequest(p.scimType, "invalid %s %q at character %d: %s", p.what, src, pos+1, fmt.Sprintf(format, args...))
}

func (p *parser) isWord(w string) bool {
	return p.tok.kind == tokWord && strings.EqualFold(p.tok.text, w)
}

func (p *parser) parseOr() (Expr, error) {
	left, err := p.parseAnd()
	for err == nil && p.isWord("or") {
		var right Expr
		if err = p.advance(); err == nil {
			right, err = p.parseAnd()
			left = Or{left, right}
		}
	}
	return left, err
}

func (p *parser) parseAnd() (Expr, error) {
	left, err := p.parseUnary()
	for err == nil && p.isWord("and") {
		var right Expr
		if err = p.advance(); err == nil {
			right, err = p.parseUnary()
			left = And{left, right}
		}
	}
	return left, err
}

func (p *parser) parseUnary() (Expr, error) {
	switch {
	case p.tok.kind == tokLParen:
		return p.parseGroup(false)
	case p.isWord("not"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokLParen {
			return nil, p.fail("not takes a filter in parentheses, as in not (title pr)")
		}
		return p.parseGroup(true)
	case p.tok.kind == tokWord:
		return p.parseAttrExpr()
	case p.tok.kind == tokEOF:
		return nil, p.fail("the %s ends where an expression was expected", p.what)
	}
	return nil, p.fail("expected an attribute name, ( or not, found %s", p.tok.describe())
}

// parseGroup parses "( filter )" with the current token on "(".
func (p *parser) parseGroup(negate bool) (Expr, error) {
	if p.depth++; p.depth > maxFilterDepth {
		return nil, p.fail("the %s nests more than %d levels deep", p.what, maxFilterDepth)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokRParen {
		return nil, p.fail("expected ) to close the ( opened earlier, found %s", p.tok.describe())
	}
	p.depth--
	if negate {
		e = Not{e}
	}
	return e, p.advance()
}

func (p *parser) parseAttrExpr() (Expr, error) {
	if p.terms++; p.terms > maxFilterTerms {
		return nil, p.fail("the filter has more than %d comparisons", maxFilterTerms)
	}
	path, err := p.parsePath()
	if err != nil {
		return nil, err
	}
	if path.Filter != nil && path.Sub == "" {
		return ValuePath{path}, nil
	}
	op, ok := operators[strings.ToLower(p.tok.text)]
	if p.tok.kind != tokWord || !ok {
		return nil, p.fail("expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after %s, found %s", path, p.tok.describe())
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if op == Pr {
		return Compare{Path: path, Op: op}, nil
	}
	value, err := p.parseValue(op)
	if err != nil {
		return nil, err
	}
	return Compare{Path: path, Op: op, Value: value}, p.advance()
}

// parseValue reads the literal after an operator, refusing the pairs that
// cannot mean anything (RFC 7644 §3.4.2.2: gt on a boolean is an error).
func (p *parser) parseValue(op Op) (any, error) {
	var v any
	switch {
	case p.tok.kind == tokString:
		return p.tok.value, nil
	case p.tok.kind == tokNumber:
		v = json.Number(p.tok.text)
	case p.isWord("true"):
		v = true
	case p.isWord("false"):
		v = false
	case p.isWord("null"):
		v = nil
	default:
		return nil, p.fail("expected a value (a \"string\", a number, true, false or null) after %s, found %s", op, p.tok.describe())
	}
	switch op {
	case Co, Sw, Ew:
		return nil, p.fail("%s compares strings; %s is not one", op, p.tok.text)
	case Gt, Ge, Lt, Le:
		if _, ok := v.(json.Number); !ok {
			return nil, p.fail("%s compares strings, numbers and dates; %s is not one", op, p.tok.text)
		}
	}
	return v, nil
}

// parsePath parses attrPath, or attrPath "[" valFilter "]" ["." subAttr],
// with the current token on the attribute word.
func (p *parser) parsePath() (Path, error) {
	if p.tok.text[0] == '.' {
		return Path{}, p.fail("a sub-attribute (%s) must follow an attribute name or ]", p.tok.text)
	}
	path, err := parseAttrPath(p.tok.text)
	if err != nil {
		return Path{}, p.fail("%s", err)
	}
	if err := p.advance(); err != nil || p.tok.kind != tokLBracket {
		return path, err
	}
	switch {
	case path.Sub != "":
		return Path{}, p.fail("a value filter [ … ] follows a multi-valued attribute, not the sub-attribute %s", path)
	case p.inValue:
		return Path{}, p.fail("value filters cannot be nested")
	}
	p.inValue = true
	if err := p.advance(); err != nil {
		return Path{}, err
	}
	filter, err := p.parseOr()
	if err != nil {
		return Path{}, err
	}
	if p.tok.kind != tokRBracket {
		return Path{}, p.fail("expected ] to close the value filter of %s, found %s", path, p.tok.describe())
	}
	p.inValue = false
	path.Filter = filter
	if err := p.advance(); err != nil || p.tok.kind != tokWord || p.tok.text[0] != '.' {
		return path, err
	}
	if err := checkName(p.tok.text[1:], p.tok.text); err != nil {
		return Path{}, p.fail("%s", err)
	}
	path.Sub = p.tok.text[1:]
	return path, p.advance()
}
