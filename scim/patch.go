package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Operation is one PATCH operation (RFC 7644 §3.5.2), parsed and checked.
type Operation struct {
	Op    string // "add", "replace" or "remove", lower-cased: Entra sends "Add", "Replace", "Remove"
	Path  *Path  // nil for a path-less operation, whose value holds the attributes
	Value any    // decoded JSON, numbers as json.Number; nil when absent or null
}

// Patch is a parsed PatchOp request.
type Patch struct {
	Operations []Operation
}

// ParsePatch reads a PatchOp request body. Member names match in any case
// (encoding/json's rule, and Entra writes "Operations"); "op" values are
// lower-cased. Errors are 400 invalidSyntax, invalidPath (a path that does not
// parse), invalidValue (a path-less value that is not an object) or noTarget
// (a remove without a path, RFC 7644 §3.5.2.2).
func ParsePatch(body []byte) (Patch, error) {
	var raw struct {
		Schemas    []string `json:"schemas"`
		Operations []struct {
			Op    string          `json:"op"`
			Path  string          `json:"path"`
			Value json.RawMessage `json:"value"`
		} `json:"Operations"`
	}
	if err := decodeJSON(body, &raw); err != nil {
		return Patch{}, BadRequest(InvalidSyntax, "the PATCH body is not a PatchOp message: %s", err)
	}
	if !listed(raw.Schemas, PatchOpSchema) {
		return Patch{}, BadRequest(InvalidSyntax, "a PATCH body lists %q in schemas", PatchOpSchema)
	}
	if len(raw.Operations) == 0 {
		return Patch{}, BadRequest(InvalidSyntax, "a PATCH body has at least one entry in Operations")
	}
	var patch Patch
	for i, r := range raw.Operations {
		op := Operation{Op: strings.ToLower(r.Op)}
		if op.Op != "add" && op.Op != "replace" && op.Op != "remove" {
			return Patch{}, BadRequest(InvalidSyntax, "operation %d: op %q is not add, replace or remove", i+1, r.Op)
		}
		if len(r.Value) > 0 {
			if err := decodeJSON(r.Value, &op.Value); err != nil {
				return Patch{}, BadRequest(InvalidSyntax, "operation %d: value: %s", i+1, err)
			}
		}
		if strings.TrimSpace(r.Path) != "" {
			path, err := ParsePath(r.Path)
			if err != nil {
				return Patch{}, prefixError(fmt.Sprintf("operation %d", i+1), err)
			}
			op.Path = &path
		}
		if op.Path == nil && op.Op == "remove" {
			return Patch{}, BadRequest(NoTarget, "operation %d: remove needs a path naming what to remove", i+1)
		}
		if _, isObject := op.Value.(map[string]any); op.Path == nil && op.Value != nil && !isObject {
			return Patch{}, BadRequest(InvalidValue, "operation %d: without a path, value is an object of attributes, not %s", i+1, describe(op.Value))
		}
		patch.Operations = append(patch.Operations, op)
	}
	return patch, nil
}

// decodeJSON decodes one JSON value, numbers as json.Number, and refuses
// anything after it.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// ApplyPatch applies every operation to a copy of resource and returns the
// copy. PATCH is atomic (RFC 7644 §3.5.2): when an operation fails, the
// result is the resource itself, untouched, and an *Error naming the
// operation. The resource should carry its "id", so that a value repeating
// it (Okta's group rename) is recognised as no change.
//
// What the operations do, and why where the RFC leaves room:
//   - add, replace, remove are RFC 7644 §3.5.2.1–3. Replacing a complex
//     attribute (or an extension's object) sets the sub-attributes given and
//     keeps the others; add appends to a multi-valued attribute, skipping a
//     value already there (same "value" and "type").
//   - A path-less value's keys are attribute paths: plain, dotted
//     ("name.givenName") or URN-prefixed, as Entra sends them.
//   - null, [] and an absent value mean unassigned: replace with one removes
//     the attribute; add with one changes nothing.
//   - remove "members" with a value list removes the listed members (Entra,
//     JumpCloud); an empty list removes nothing. A filter that matches nothing
//     removes nothing.
//   - add or replace through a filter that matches nothing creates the value
//     the filter describes when it is only "eq" terms: Entra replaces
//     emails[type eq "work"].value on users without a work email. Any other
//     filter answers 400 noTarget.
func (a Attributes) ApplyPatch(resource map[string]any, patch Patch) (map[string]any, error) {
	doc, _ := deepCopy(resource).(map[string]any)
	if doc == nil {
		doc = map[string]any{}
	}
	if err := a.normalize(doc); err != nil {
		return resource, err
	}
	for i, op := range patch.Operations {
		where := fmt.Sprintf("operation %d (%s", i+1, op.Op)
		if op.Path != nil {
			where += " " + op.Path.String()
		}
		where += ")"
		err := a.applyOp(doc, op)
		if err == nil {
			err = a.checkReadOnly(resource, doc)
		}
		if err == nil {
			err = a.normalize(doc)
		}
		if err != nil {
			return resource, prefixError(where, err)
		}
	}
	for _, name := range a.Discard {
		if p, err := ParsePath(name); err == nil {
			if err := a.applyAt(doc, "remove", p, nil); err != nil {
				return resource, err
			}
		}
	}
	return doc, nil
}

func (a Attributes) normalize(doc map[string]any) error {
	if a.Normalize == nil {
		return nil
	}
	return a.Normalize(doc)
}

// checkReadOnly compares every read-only attribute with the original: an
// operation may repeat a read-only value but not change it.
func (a Attributes) checkReadOnly(orig, doc map[string]any) error {
	for _, name := range a.ReadOnly {
		p, err := ParsePath(name)
		if err != nil {
			continue
		}
		if !sameValue(valueOf(orig, p), valueOf(doc, p)) {
			return BadRequest(Mutability, "%s is read-only: the server sets it", name)
		}
	}
	return nil
}

// valueOf reads the attribute (and sub-attribute) a filter-less path names.
func valueOf(doc map[string]any, p Path) any {
	v := valueAt(doc, resolve(doc, p))
	if p.Sub != "" {
		m, _ := v.(map[string]any)
		return get(m, p.Sub)
	}
	return v
}

func valueAt(doc map[string]any, t target) any {
	if t.ext == "" {
		return get(doc, t.attr)
	}
	ext, _ := get(doc, t.ext).(map[string]any)
	return get(ext, t.attr)
}

// prefixError says where an error happened, keeping its status and type.
func prefixError(where string, err error) error {
	e := AsError(err)
	return &Error{Status: e.Status, ScimType: e.ScimType, Detail: where + ": " + e.detail()}
}
