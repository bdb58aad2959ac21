package scim

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Helpers over JSON-decoded values: map[string]any, []any, string,
// json.Number or float64, bool and nil.

// lookup finds an attribute by name, ignoring case (RFC 7643 §2.1). An exact
// match wins; among several spellings of one name the smallest key wins, so
// the answer never depends on map order.
func lookup(m map[string]any, name string) (key string, v any, ok bool) {
	if v, ok := m[name]; ok {
		return name, v, true
	}
	for k := range m {
		if strings.EqualFold(k, name) && (!ok || k < key) {
			key, ok = k, true
		}
	}
	if !ok {
		return name, nil, false
	}
	return key, m[key], true
}

// get is lookup's value alone.
func get(m map[string]any, name string) any {
	_, v, _ := lookup(m, name)
	return v
}

// sortedKeys gives map keys in a fixed order, so that applying a path-less
// PATCH value does not depend on map iteration.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// deepCopy copies maps and slices, so that a PATCH works on its own copy and
// the caller's resource stays untouched whatever happens. Typed slices a Go
// caller may have put in a document become []any.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = deepCopy(x)
		}
		return s
	case []map[string]any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = deepCopy(x)
		}
		return s
	case []string:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = x
		}
		return s
	}
	return v
}

// unassigned: null, an empty array and an absent attribute are one and the
// same (RFC 7643 §2.5), and so is an empty complex value.
func unassigned(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// assigned is the "pr" test: a non-empty value or a complex value with
// something in it (RFC 7644 §3.4.2.2).
func assigned(v any) bool {
	switch v := v.(type) {
	case string:
		return v != ""
	case []any:
		for _, x := range v {
			if assigned(x) {
				return true
			}
		}
		return false
	case map[string]any:
		for _, x := range v {
			if assigned(x) {
				return true
			}
		}
		return false
	}
	return v != nil
}

// number reads any numeric JSON value.
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case int32:
		return float64(v), true
	}
	return 0, false
}

// sameValue is exact equality of two JSON values; numbers compare by value
// whether decoded as float64 or json.Number, and unassigned values are equal.
func sameValue(a, b any) bool {
	if unassigned(a) && unassigned(b) {
		return true
	}
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			return false
		}
		for _, k := range union(a, bm) {
			if !sameValue(get(a, k), get(bm, k)) {
				return false
			}
		}
		return true
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], bs[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func union(a, b map[string]any) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		keys = append(keys, k)
	}
	return keys
}

// parseBool accepts a JSON boolean or the strings "true" and "false" in any
// case: Entra disables users with "value":"False" unless the tenant URL
// carries its compliance flag (scim-quirks.md, Entra 4).
func parseBool(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(v) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// describe shows a value in an error detail.
func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return strconv.Quote(reflect.TypeOf(v).String())
	}
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
