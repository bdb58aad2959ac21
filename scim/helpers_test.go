package scim

import (
	"bytes"
	"encoding/json"
	"testing"
)

// doc decodes a JSON object the way handlers will: numbers as json.Number.
func doc(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

// canon writes a value as JSON with sorted keys, for comparisons.
func canon(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	return string(b)
}

// wantError checks that err is a SCIM error with this status and type.
func wantError(t testing.TB, err error, status int, scimType string) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %d %s", status, scimType)
	}
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %T %v is not a *scim.Error", err, err)
	}
	if e.Status != status || e.ScimType != scimType || e.Detail == "" {
		t.Fatalf("error = %d %q %q, want %d %q with a detail", e.Status, e.ScimType, e.Detail, status, scimType)
	}
	return e
}
