package licensing

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a catalog file, located by product, plan,
// feature and field (the file's own field names, such as "trial_days" or
// "prices[0].currency"). Location parts that do not apply are empty; an
// entry without a key is named by its position, as "#2".
type Problem struct {
	Product string `json:"product,omitempty"`
	Plan    string `json:"plan,omitempty"`
	Feature string `json:"feature,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// String reads like `product "analytics", plan "team", feature "api_calls",
// field "features": want a number or "unlimited", got true`.
func (p Problem) String() string {
	var parts []string
	for _, part := range []struct{ name, value string }{
		{"product", p.Product}, {"plan", p.Plan}, {"feature", p.Feature}, {"field", p.Field},
	} {
		if part.value != "" {
			parts = append(parts, fmt.Sprintf("%s %q", part.name, part.value))
		}
	}
	if len(parts) == 0 {
		return p.Message
	}
	return strings.Join(parts, ", ") + ": " + p.Message
}

// ValidationError is every problem Catalog.Validate found, in file order.
type ValidationError struct {
	Problems []Problem `json:"problems"`
}

// Error lists each problem on its own line so the vendor can fix them all
// from one run of `entitle catalog apply`.
func (e *ValidationError) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("invalid catalog: 1 problem")
	} else {
		fmt.Fprintf(&b, "invalid catalog: %d problems", len(e.Problems))
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// keyProblem says what is wrong with a product, plan or feature key, or ""
// when nothing is. Keys end up in URLs, API calls and vendors' code, hence
// the narrow alphabet.
func keyProblem(key, what string, i int) string {
	if key == "" {
		return fmt.Sprintf("must not be empty (%s #%d in the file)", what, i+1)
	}
	for _, r := range key {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return fmt.Sprintf("want lowercase letters, digits and underscores only, got %q", key)
		}
	}
	return ""
}

// label names an entry in a Problem: its key, or its position when it has
// none (so later problems about the same entry can still be placed).
func label(key string, i int) string {
	if key == "" {
		return "#" + strconv.Itoa(i+1)
	}
	return key
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// parseValue reads a plan's raw value for a feature of a valid kind, or
// returns a message saying what was wanted.
func parseValue(kind FeatureKind, raw any) (PlanValue, string) {
	if kind == Boolean {
		b, ok := raw.(bool)
		if !ok {
			return PlanValue{}, "want true or false, got " + describe(raw)
		}
		return PlanValue{Enabled: b}, ""
	}
	if s, ok := raw.(string); ok && s == "unlimited" {
		return PlanValue{Enabled: true}, ""
	}
	n, ok := wholeNumber(raw)
	if !ok {
		if _, isFloat := raw.(float64); isFloat || isJSONNumber(raw) {
			return PlanValue{}, "want a whole number a limit can hold, got " + describe(raw)
		}
		return PlanValue{}, `want a number or "unlimited", got ` + describe(raw)
	}
	if n < 0 {
		return PlanValue{}, fmt.Sprintf("a limit must not be negative, got %d", n)
	}
	return PlanValue{Enabled: true, Limit: &n}, ""
}

// wholeNumber accepts the numbers decoders produce: int (yaml.v3), uint64
// (yaml.v3, beyond int64), float64 (encoding/json) and json.Number, as long as
// the value is whole and fits in an int64.
func wholeNumber(raw any) (int64, bool) {
	switch n := raw.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint:
		return fromUint(uint64(n))
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return fromUint(n)
	case float32:
		return fromFloat(float64(n))
	case float64:
		return fromFloat(n)
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		f, err := n.Float64()
		if err != nil {
			return 0, false
		}
		return fromFloat(f)
	}
	return 0, false
}

func fromUint(u uint64) (int64, bool) {
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

func fromFloat(f float64) (int64, bool) {
	// 2^63 is exactly representable; anything at or above it does not fit.
	if f != math.Trunc(f) || math.IsInf(f, 0) || f < -(1<<63) || f >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

func isJSONNumber(raw any) bool {
	_, ok := raw.(json.Number)
	return ok
}

// describe shows a raw value the way the vendor wrote it.
func describe(raw any) string {
	switch v := raw.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(v)
	case json.Number:
		return v.String()
	}
	return fmt.Sprint(raw)
}
