package scim

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParseFilter: any text either parses into a tree that prints back to
// text parsing into the same tree, or is refused with a 400 invalidFilter;
// nothing panics, and evaluating a parsed filter is safe on any resource.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "test.user@okta.local"`,
		`userName eq "x" and externalId eq "y"`,
		`emails[type eq "work"].value eq "a@b.c"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr`,
		`not (title pr) or (a ge 1.5e3 and b lt -2)`,
		`members[value eq "a]b" or display co "\u00e9\""]`,
		`active eq TRUE`, `title eq null`, `((a pr))`, `emails[type eq "work"]`, `x eq 'y'`, `a eq 01`,
	} {
		f.Add(s)
	}
	resource := doc(f, matchUser)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseFilter(s)
		if err != nil {
			se, ok := err.(*Error)
			if !ok || se.Status != 400 || se.ScimType != InvalidFilter || se.Detail == "" || e != nil {
				t.Fatalf("ParseFilter(%q) = %v, %#v", s, e, err)
			}
			return
		}
		again, err := ParseFilter(e.String())
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("ParseFilter(%q) = %s, which parses to %#v, %v", s, e, again, err)
		}
		Match(e, resource)
		UserAttributes().Match(e, map[string]any{})
		if terms, ok := EqualityTerms(e); ok && len(terms) == 0 {
			t.Fatalf("EqualityTerms(%s) ok without terms", e)
		}
		if _, err := ParsePath(s); err != nil && AsError(err).ScimType != InvalidPath {
			t.Fatalf("ParsePath(%q): %v", s, err)
		}
	})
}

// FuzzApplyPatch: any resource and any body. A refused body or a failed
// PATCH leaves the resource untouched and returns it; a successful one
// returns a copy sharing nothing with the resource or the request, whose
// read-only attributes are unchanged.
func FuzzApplyPatch(f *testing.F) {
	seeds := []struct{ resource, ops string }{
		{oktaUser, `{"op":"replace","value":{"active":false}}`},
		{oktaGroup, `{"op":"replace","value":{"id":"abf4dd94","displayName":"Test SCIMv2"}}`},
		{oktaGroup, `{"op":"remove","path":"members[value eq \"89bb1940\"]"},{"op":"add","path":"members","value":[{"value":"23a3","display":"t@okta.local"}]}`},
		{entraUser, `{"op":"Replace","path":"active","value":"False"}`},
		{entraUser, `{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}`},
		{entraUser, `{"op":"Replace","path":"emails[type eq \"work\"].value","value":"x@y"},{"op":"replace","path":"active","value":"nope"}`},
		{entraGroup, `{"op":"Remove","path":"members","value":[{"value":"u1091"}]}`},
		{entraGroup, `{"op":"Add","path":"members","value":[{"$ref":null,"value":"f648"}]}`},
		{entraUser, `{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m1"}`},
		{`{"id":"1","groups":[{"value":"g"}],"meta":{"version":"1"}}`, `{"op":"remove","path":"groups"}`},
	}
	for _, s := range seeds {
		f.Add(s.resource, patchBody(s.ops))
		f.Add("", s.ops)
	}
	fixed := []string{oktaUser, oktaGroup, entraUser, entraGroup, matchUser}
	f.Fuzz(func(t *testing.T, resourceJSON, body string) {
		// Inputs that are not JSON still exercise the other half: a fixed
		// resource, or the body taken as the list of operations.
		var resource map[string]any
		dec := json.NewDecoder(bytes.NewReader([]byte(resourceJSON)))
		dec.UseNumber()
		if dec.Decode(&resource) != nil || resource == nil {
			resource = doc(t, fixed[len(resourceJSON)%len(fixed)])
		}
		patch, err := ParsePatch([]byte(body))
		if err != nil {
			patch, err = ParsePatch([]byte(patchBody(body)))
		}
		if err != nil {
			if se, ok := err.(*Error); !ok || se.Status != 400 || se.Detail == "" {
				t.Fatalf("ParsePatch: %#v", err)
			}
			return
		}
		request := marshalPatch(t, patch)
		for _, attrs := range []Attributes{UserAttributes(), GroupAttributes()} {
			before := canon(t, resource)
			got, err := attrs.ApplyPatch(resource, patch)
			if canon(t, resource) != before {
				t.Fatalf("ApplyPatch changed its input:\n%s\nwas\n%s", canon(t, resource), before)
			}
			if marshalPatch(t, patch) != request {
				t.Fatalf("ApplyPatch changed the request")
			}
			if err != nil {
				if se, ok := err.(*Error); !ok || se.Status != 400 || se.Detail == "" {
					t.Fatalf("ApplyPatch: %#v", err)
				}
				if reflect.ValueOf(got).Pointer() != reflect.ValueOf(resource).Pointer() {
					t.Fatal("a failed PATCH did not return the resource itself")
				}
				continue
			}
			for _, name := range attrs.ReadOnly {
				p, _ := ParsePath(name)
				if !sameValue(valueOf(resource, p), valueOf(got, p)) {
					t.Fatalf("read-only %s changed: %s", name, canon(t, got))
				}
			}
			scribble(got)
			if canon(t, resource) != before || marshalPatch(t, patch) != request {
				t.Fatal("the result shares maps or slices with the resource or the request")
			}
		}
	})
}

func marshalPatch(t *testing.T, p Patch) string {
	var values []any
	for _, op := range p.Operations {
		values = append(values, op.Value)
	}
	return canon(t, values)
}

// scribble writes into every map and slice of v.
func scribble(v any) {
	switch v := v.(type) {
	case map[string]any:
		for _, x := range v {
			scribble(x)
		}
		v["scribbled"] = true
	case []any:
		for i, x := range v {
			scribble(x)
			v[i] = "scribbled"
		}
	}
}
