package licensing

import (
	"fmt"
	"slices"
	"strings"
)

// ReasonRegionRestricted: the feature (or the plan, or the product under an
// export control) may not be used in the account's country. It wins over
// everything else, grants included: a vendor cannot grant its way around
// its own regional or export rules.
const ReasonRegionRestricted Reason = "region_restricted"

// Regions limits where a feature or a plan may be used: either an allow
// list (only these countries) or a deny list (everywhere but these), never
// both. Countries are ISO 3166-1 alpha-2 codes in capitals ("DE").
//
// An account whose country is unknown passes a deny list and fails an
// allow list: an allow list is a promise that the feature is used only
// where it is named, which an unknown country cannot keep.
type Regions struct {
	Allow []string `yaml:"allow,omitempty" json:"allow,omitempty"`
	Deny  []string `yaml:"deny,omitempty" json:"deny,omitempty"`
}

// Permits reports whether country may have what r guards. A nil rule
// permits everyone.
func (r *Regions) Permits(country string) bool {
	switch {
	case r == nil:
		return true
	case len(r.Allow) > 0:
		return slices.Contains(r.Allow, country)
	}
	return !slices.Contains(r.Deny, country)
}

// Equal reports whether two rules say the same (nil and empty are equal;
// order matters not).
func (r *Regions) Equal(o *Regions) bool {
	norm := func(x *Regions) (a, d []string) {
		if x == nil {
			return nil, nil
		}
		a, d = slices.Clone(x.Allow), slices.Clone(x.Deny)
		slices.Sort(a)
		slices.Sort(d)
		return a, d
	}
	a1, d1 := norm(r)
	a2, d2 := norm(o)
	return slices.Equal(a1, a2) && slices.Equal(d1, d2)
}

// String reads "allow DE, FR", "deny CU" or "everywhere".
func (r *Regions) String() string {
	switch {
	case r == nil || (len(r.Allow) == 0 && len(r.Deny) == 0):
		return "everywhere"
	case len(r.Allow) > 0:
		return fmt.Sprintf("allow %s", strings.Join(r.Allow, ", "))
	}
	return fmt.Sprintf("deny %s", strings.Join(r.Deny, ", "))
}

// ExportControl removes features of a product, or the whole product when
// Features is empty, for the listed countries, whatever the plan says.
// In the catalog file an entry without a product applies to every product;
// validated, each product carries the entries that reach it.
type ExportControl struct {
	Product   string   `yaml:"product,omitempty" json:"product,omitempty"`
	Countries []string `yaml:"countries" json:"countries"`
	Features  []string `yaml:"features,omitempty" json:"features,omitempty"`
}

// denies reports whether the entry removes featureKey ("" for the product as
// a whole, which only an entry naming no features removes) for country.
func (e ExportControl) denies(country, featureKey string) bool {
	if country == "" || !slices.Contains(e.Countries, country) {
		return false
	}
	return len(e.Features) == 0 || (featureKey != "" && slices.Contains(e.Features, featureKey))
}

// RegionRules is everything regional that evaluation reads for one
// product: the plan's rule and the export controls that reach the product.
// Feature rules travel on the Feature itself.
type RegionRules struct {
	Plan           *Regions        `json:"plan,omitempty"`
	ExportControls []ExportControl `json:"export_controls,omitempty"`
}

// FeaturePermitted reports whether an account in country may use f under
// rules: the plan's rule, the feature's own rule and every export control
// must all let it through.
func (rules RegionRules) FeaturePermitted(country string, f Feature) bool {
	if !rules.Plan.Permits(country) || !f.Regions.Permits(country) {
		return false
	}
	for _, e := range rules.ExportControls {
		if e.denies(country, f.Key) {
			return false
		}
	}
	return true
}

// PlanAvailable reports whether an account in country may buy a plan with
// rule plan, given the product's export controls: billing refuses a plan
// the region cannot have, and the portal says so instead of offering it.
func PlanAvailable(country string, plan *Regions, controls []ExportControl) bool {
	if !plan.Permits(country) {
		return false
	}
	for _, e := range controls {
		if e.denies(country, "") {
			return false
		}
	}
	return true
}

// IsCountryCode reports whether s is written as an ISO 3166-1 alpha-2
// code: two capital letters.
func IsCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// regions checks a feature's or a plan's rule and returns it normalized
// (nil when it says nothing), so that "everywhere" has one spelling.
func (v *validator) regions(at Problem, field string, r *Regions) *Regions {
	if r == nil || (len(r.Allow) == 0 && len(r.Deny) == 0) {
		return nil
	}
	if len(r.Allow) > 0 && len(r.Deny) > 0 {
		v.add(at, field, "give either allow or deny, not both")
		return nil
	}
	out := &Regions{Allow: v.countries(at, field+".allow", r.Allow), Deny: v.countries(at, field+".deny", r.Deny)}
	return out
}

// countries checks a list of country codes and returns it sorted without
// repeats.
func (v *validator) countries(at Problem, field string, codes []string) []string {
	if len(codes) == 0 {
		return nil
	}
	out := make([]string, 0, len(codes))
	for _, c := range codes {
		if !IsCountryCode(c) {
			v.add(at, field, `want ISO 3166-1 alpha-2 country codes in capitals such as "DE", got %q`, c)
			continue
		}
		out = append(out, c)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// exportControls checks the catalog's export controls and hands each
// product the entries that reach it, naming the product.
func (v *validator) exportControls(entries []ExportControl, products []Product) {
	for i, e := range entries {
		at := Problem{Product: e.Product, Field: fmt.Sprintf("export_controls[%d]", i)}
		field := at.Field
		at.Field = ""
		var target *Product
		if e.Product != "" {
			for j := range products {
				if products[j].Key == e.Product {
					target = &products[j]
				}
			}
			if target == nil {
				v.add(at, field+".product", "not a product of the catalog")
				continue
			}
		}
		if len(e.Countries) == 0 {
			v.add(at, field+".countries", "name at least one country")
		}
		countries := v.countries(at, field+".countries", e.Countries)
		features := slices.Clone(e.Features)
		slices.Sort(features)
		features = slices.Compact(features)
		if target == nil {
			for _, f := range features {
				found := false
				for _, p := range products {
					_, ok := findFeature(p.Features, f)
					found = found || ok
				}
				if !found {
					v.add(at, field+".features", "%q is not a feature of any product", f)
				}
			}
		}
		for j := range products {
			p := &products[j]
			if target != nil && p != target {
				continue
			}
			if target != nil {
				for _, f := range features {
					if _, ok := findFeature(p.Features, f); !ok {
						v.add(at, field+".features", "%q is not a feature of product %q", f, p.Key)
					}
				}
			}
			p.ExportControls = append(p.ExportControls, ExportControl{Product: p.Key, Countries: countries, Features: features})
		}
	}
}

func findFeature(fs []Feature, key string) (Feature, bool) {
	for _, f := range fs {
		if f.Key == key {
			return f, true
		}
	}
	return Feature{}, false
}
