package scim

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// The scanner shared by filters (RFC 7644 §3.4.2.2) and PATCH paths
// (§3.5.2): both are made of attribute paths, brackets, parentheses and
// JSON literals, so one scanner serves both and their errors read alike.

type tokenKind int

const (
	tokEOF      tokenKind = iota
	tokWord               // an attribute path, operator, keyword or true/false/null
	tokString             // a JSON string literal; value holds it decoded
	tokNumber             // a JSON number literal
	tokLParen             // (
	tokRParen             // )
	tokLBracket           // [
	tokRBracket           // ]
)

type token struct {
	kind  tokenKind
	text  string // as written
	value string // decoded string literal
	pos   int    // byte offset in the source
}

// describe names a token in an error detail.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "the end"
	case tokString:
		return "the string " + t.text
	default:
		return strconv.Quote(t.text)
	}
}

type lexer struct {
	src string
	pos int
}

// isWordByte: attribute names are ALPHA *(ALPHA / DIGIT / "-" / "_"),
// "$ref" starts with "$", and URN prefixes and sub-attributes add ":" and ".".
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == ':' || c == '$'
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func punctuation(c byte) tokenKind {
	switch c {
	case '(':
		return tokLParen
	case ')':
		return tokRParen
	case '[':
		return tokLBracket
	case ']':
		return tokRBracket
	}
	return tokEOF
}

// next scans one token. The error is a plain message; the parser adds where.
func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) && (l.src[l.pos] == ' ' || l.src[l.pos] == '\t' || l.src[l.pos] == '\n' || l.src[l.pos] == '\r') {
		l.pos++
	}
	start := l.pos
	if start == len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	c := l.src[start]
	if kind := punctuation(c); kind != tokEOF {
		l.pos++
		return token{kind: kind, text: string(c), pos: start}, nil
	}
	switch {
	case c == '"':
		return l.scanString()
	case c >= '0' && c <= '9' || c == '-':
		for l.pos < len(l.src) && isNumberByte(l.src[l.pos]) {
			l.pos++
		}
		text := l.src[start:l.pos]
		if text[0] != '-' && (text[0] < '0' || text[0] > '9') || !json.Valid([]byte(text)) {
			return token{}, fmt.Errorf("%q is not a number", text)
		}
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			return token{}, fmt.Errorf("the number %s is out of range", text)
		}
		return token{kind: tokNumber, text: text, pos: start}, nil
	case isWordByte(c):
		for l.pos < len(l.src) && isWordByte(l.src[l.pos]) {
			l.pos++
		}
		return token{kind: tokWord, text: l.src[start:l.pos], pos: start}, nil
	}
	if c == '\'' {
		return token{}, fmt.Errorf("strings are written in double quotes, not single quotes")
	}
	return token{}, fmt.Errorf("unexpected character %q", rune(c))
}

// scanString finds the closing quote and lets encoding/json decode the
// escapes, so the filter's strings are exactly JSON's (RFC 7644 §3.4.2.2).
func (l *lexer) scanString() (token, error) {
	start := l.pos
	for i := start + 1; i < len(l.src); i++ {
		switch l.src[i] {
		case '\\':
			i++
		case '"':
			l.pos = i + 1
			text := l.src[start:l.pos]
			var s string
			if err := json.Unmarshal([]byte(text), &s); err != nil {
				return token{}, fmt.Errorf("invalid string literal %s", text)
			}
			return token{kind: tokString, text: text, value: s, pos: start}, nil
		}
	}
	return token{}, fmt.Errorf("a string is not closed with \"")
}
