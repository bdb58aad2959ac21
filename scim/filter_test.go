package scim

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseFilterCanonicalForm(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`userName eq "bjensen"`, `userName eq "bjensen"`},
		{`USERNAME EQ "Bjensen"`, `USERNAME eq "Bjensen"`},
		{`userName Eq "x"`, `userName eq "x"`},
		{`userName ne "x"`, `userName ne "x"`},
		{`name.familyName co "O'Malley"`, `name.familyName co "O'Malley"`},
		{`userName sw "J"`, `userName sw "J"`},
		{`userName ew "@example.com"`, `userName ew "@example.com"`},
		{`title pr`, `title pr`},
		{`title PR`, `title pr`},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, `meta.lastModified gt "2011-05-13T04:42:34Z"`},
		{`meta.lastModified ge "2011-05-13T04:42:34Z"`, `meta.lastModified ge "2011-05-13T04:42:34Z"`},
		{`loginCount lt 5`, `loginCount lt 5`},
		{`loginCount le -1.5e3`, `loginCount le -1.5e3`},
		{`active eq TRUE`, `active eq true`},
		{`active eq false`, `active eq false`},
		{`title eq Null`, `title eq null`},
		{`title pr and userType eq "Employee"`, `title pr and userType eq "Employee"`},
		{`title pr or userType eq "Intern"`, `title pr or userType eq "Intern"`},
		{`a eq 1 or b eq 2 and c eq 3`, `a eq 1 or b eq 2 and c eq 3`},
		{`(a eq 1 or b eq 2) and c eq 3`, `(a eq 1 or b eq 2) and c eq 3`},
		{`((a eq 1))`, `a eq 1`},
		{`a eq 1 and (b eq 2 and c eq 3)`, `a eq 1 and (b eq 2 and c eq 3)`},
		{`NOT (a eq 1) and b eq 2`, `not (a eq 1) and b eq 2`},
		{`not(a eq 1 or b eq 2)`, `not (a eq 1 or b eq 2)`},
		{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
			`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`},
		{`emails[type eq "work" and value co "@example.com"]`, `emails[type eq "work" and value co "@example.com"]`},
		{`emails[type eq "work"].value eq "bjensen@example.com"`, `emails[type eq "work"].value eq "bjensen@example.com"`},
		{`members[value eq "2819c223"]`, `members[value eq "2819c223"]`},
		{`members[$ref pr]`, `members[$ref pr]`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Tour Operations"`,
			`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Tour Operations"`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"`,
			`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"`},
		{`displayName eq "a \"quoted\" \\ name \u00e9\n"`, `displayName eq "a \"quoted\" \\ name é\n"`},
		{"  userName\teq\n\"x\"  ", `userName eq "x"`},
		{`userName eq "x"and title pr`, `userName eq "x" and title pr`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			e, err := ParseFilter(tt.in)
			if err != nil {
				t.Fatalf("ParseFilter: %v", err)
			}
			if got := e.String(); got != tt.want {
				t.Errorf("String() = %s, want %s", got, tt.want)
			}
			again, err := ParseFilter(e.String())
			if err != nil || !reflect.DeepEqual(again, e) {
				t.Errorf("re-parsing %s gives %#v, %v; want %#v", e, again, err, e)
			}
		})
	}
}

func TestParseFilterPrecedence(t *testing.T) {
	t.Parallel()
	a := Compare{Path: Path{Attr: "a"}, Op: Eq, Value: "1"}
	b := Compare{Path: Path{Attr: "b"}, Op: Eq, Value: "2"}
	c := Compare{Path: Path{Attr: "c"}, Op: Pr}
	tests := []struct {
		in   string
		want Expr
	}{
		{`a eq "1" or b eq "2" and c pr`, Or{a, And{b, c}}},
		{`a eq "1" and b eq "2" or c pr`, Or{And{a, b}, c}},
		{`(a eq "1" or b eq "2") and c pr`, And{Or{a, b}, c}},
		{`a eq "1" or b eq "2" or c pr`, Or{Or{a, b}, c}},
		{`not (a eq "1") and b eq "2"`, And{Not{a}, b}},
		{`a eq "1" and not (b eq "2" or c pr)`, And{a, Not{Or{b, c}}}},
		{`emails[type eq "work"]`, ValuePath{Path{Attr: "emails", Filter: Compare{Path: Path{Attr: "type"}, Op: Eq, Value: "work"}}}},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr`,
			Compare{Path: Path{URN: EnterpriseUserSchema, Attr: "manager", Sub: "value"}, Op: Pr}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseFilter(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, detail string }{
		{``, "empty"},
		{`   `, "empty"},
		{`userName`, "expected an operator"},
		{`userName eq`, "expected a value"},
		{`userName equals "x"`, `found "equals"`},
		{`userName eq 'x'`, "double quotes"},
		{`userName eq "x`, "not closed"},
		{`userName eq "\q"`, "invalid string literal"},
		{`userName eq bjensen`, "expected a value"},
		{`(userName eq "x"`, "expected )"},
		{`userName eq "x")`, "expected and, or"},
		{`not userName eq "x"`, "parentheses"},
		{`not`, "parentheses"},
		{`emails[type eq "work"`, "expected ]"},
		{`emails[type[x eq 1] eq 1]`, "nested"},
		{`emails[type eq "work"] eq "x"`, "expected and, or"},
		{`userName gt true`, "gt compares"},
		{`userName lt null`, "lt compares"},
		{`userName co 5`, "co compares strings"},
		{`a.b.c eq 1`, "not a valid attribute name"},
		{`urn:x eq 1`, "URN without an attribute"},
		{`x:y eq 1`, "neither an attribute name nor a URN"},
		{`9abc eq 1`, `expected an attribute name, ( or not, found "9"`},
		{`userName eq 01`, "not a number"},
		{`userName eq 1e999`, "out of range"},
		{`userName eq "x" and`, "ends where an expression was expected"},
		{`userName eq "x" xor b eq 1`, `found "xor"`},
		{`name.givenName[type eq "a"]`, "not the sub-attribute"},
		{`.value eq 1`, "must follow"},
		{`emails[type eq "work"]. eq 1`, "empty attribute name"},
		{`userName eq "x" # comment`, "unexpected character"},
		{`-`, "not a number"},
		{strings.Repeat("(", 40) + `a pr` + strings.Repeat(")", 40), "nests more than"},
		{strings.Repeat(`a pr or `, 1000) + `a pr`, "more than 1000 comparisons"},
		{"userName eq \"\x01\"", "invalid string literal"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			e, err := ParseFilter(tt.in)
			if e != nil {
				t.Errorf("ParseFilter returned %s with the error", e)
			}
			se := wantError(t, err, 400, InvalidFilter)
			if !strings.Contains(se.Detail, tt.detail) || !strings.Contains(se.Detail, "at character") {
				t.Errorf("detail %q does not say %q and where", se.Detail, tt.detail)
			}
		})
	}
}

func TestParsePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Path
		err  string
	}{
		{in: "active", want: Path{Attr: "active"}},
		{in: "name.familyName", want: Path{Attr: "name", Sub: "familyName"}},
		{in: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
			want: Path{URN: EnterpriseUserSchema, Attr: "employeeNumber"}},
		{in: `members[value eq "7f4b"]`, want: Path{Attr: "members", Filter: Compare{Path{Attr: "value"}, Eq, "7f4b"}}},
		{in: `emails[type eq "work"].value`, want: Path{Attr: "emails", Filter: Compare{Path{Attr: "type"}, Eq, "work"}, Sub: "value"}},
		{in: `members[value eq "a]b"]`, want: Path{Attr: "members", Filter: Compare{Path{Attr: "value"}, Eq, "a]b"}}},
		{in: "", err: "expected an attribute name"},
		{in: "members[", err: "ends where"},
		{in: `members[value eq "x"] extra`, err: "after the path"},
		{in: "name..x", err: "not a valid attribute name"},
		{in: "active eq true", err: "after the path"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePath(tt.in)
			if tt.err != "" {
				e := wantError(t, err, 400, InvalidPath)
				if !strings.Contains(e.Detail, tt.err) {
					t.Errorf("detail %q does not say %q", e.Detail, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParsePath = %#v, %v; want %#v", got, err, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %s, want %s", got, tt.in)
			}
		})
	}
}

func TestEqualityTerms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		filter string
		ok     bool
		paths  []string // what each term's path Is
		values []any
	}{
		{`userName eq "test.user@okta.local"`, true, []string{"userName"}, []any{"test.user@okta.local"}},
		{`userName eq "x" and externalId eq "y"`, true, []string{"username", "externalId"}, []any{"x", "y"}},
		{`urn:ietf:params:scim:schemas:core:2.0:User:USERNAME eq "x"`, true, []string{"userName"}, []any{"x"}},
		{`(externalId eq "a" and userName eq "b") and active eq true`, true, []string{"externalId", "userName", "active"}, []any{"a", "b", true}},
		{`emails[type eq "work"].value eq "a@b.c"`, true, []string{`emails[type eq "work"].value`}, []any{"a@b.c"}},
		{`displayName eq "Sales"`, true, []string{"displayName"}, []any{"Sales"}},
		{`userName eq "x" or externalId eq "y"`, false, nil, nil},
		{`userName co "x"`, false, nil, nil},
		{`not (userName eq "x")`, false, nil, nil},
		{`userName eq "x" and title pr`, false, nil, nil},
		{`emails[type eq "work"]`, false, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			f, err := ParseFilter(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			terms, ok := EqualityTerms(f)
			if ok != tt.ok || len(terms) != len(tt.paths) {
				t.Fatalf("EqualityTerms = %v, %v; want %d terms, %v", terms, ok, len(tt.paths), tt.ok)
			}
			for i, term := range terms {
				if !term.Path.Is(tt.paths[i]) || !reflect.DeepEqual(term.Value, tt.values[i]) {
					t.Errorf("term %d = %s %v, want %s %v", i, term.Path, term.Value, tt.paths[i], tt.values[i])
				}
			}
		})
	}
	if (Path{Attr: "userName"}).Is("externalId") || (Path{Attr: "userName"}).Is("not a path") {
		t.Error("Path.Is matches another name")
	}
}
