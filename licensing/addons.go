package licensing

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// AddOn is something sold on top of a plan, with its own price: more of a
// counted feature (Quantity per unit bought: +10,000 API calls a month, +5
// projects) or a boolean feature the plan lacks (Quantity 0). The same
// type is the catalog file's entry and, once validated, what the store
// writes. Add-ons are not part of any plan version: a change reaches the
// accounts holding one at once, as regional rules do.
type AddOn struct {
	Key     string `yaml:"key" json:"key"`
	Name    string `yaml:"name" json:"name"`
	Feature string `yaml:"feature" json:"feature"`
	// Quantity is what one unit adds to a limit, metered, concurrent or
	// machines feature; a boolean add-on switches its feature on and has
	// none.
	Quantity int64 `yaml:"quantity,omitempty" json:"quantity,omitempty"`
	// MaxUnits is how many units one account may hold (validated: at
	// least 1; a boolean add-on is bought once).
	MaxUnits int   `yaml:"max_units,omitempty" json:"max_units,omitempty"`
	Price    Price `yaml:"price" json:"price"`
	// Plans lists the plans that may buy it; empty means every plan it
	// makes sense on (see OfferedOn).
	Plans []string `yaml:"plans,omitempty" json:"plans,omitempty"`
}

// MaxAddOnUnits bounds MaxUnits, so that units times quantity stays a sane
// number and a form cannot ask Stripe for a million items.
const MaxAddOnUnits = 1000

// OfferedOn reports whether a subscriber of plan (with the plan's values)
// may buy the add-on: a plan it names, or with no list, a plan that has
// the feature with a finite limit (for a quantity add-on) or lacks it (for
// a boolean one). A plan with the feature unlimited gains nothing from
// more of it.
func (a AddOn) OfferedOn(plan string, values map[string]PlanValue) bool {
	if len(a.Plans) > 0 {
		return slices.Contains(a.Plans, plan)
	}
	v := values[a.Feature]
	if a.Quantity == 0 {
		return !v.Enabled
	}
	return v.Enabled && v.Limit != nil
}

// HeldAddOn is an add-on an account holds, as evaluation reads it: Units
// of it, each adding Quantity to Feature (0: switches Feature on).
type HeldAddOn struct {
	Key      string `json:"key"`
	Name     string `json:"name"`
	Feature  string `json:"feature"`
	Quantity int64  `json:"quantity,omitempty"`
	Units    int    `json:"units"`
}

// Extra is what the holding adds to its feature's limit (0 for a boolean
// add-on), saturating instead of wrapping.
func (h HeldAddOn) Extra() int64 {
	if h.Units <= 0 || h.Quantity <= 0 {
		return 0
	}
	if h.Quantity > math.MaxInt64/int64(h.Units) {
		return math.MaxInt64
	}
	return h.Quantity * int64(h.Units)
}

// addOnsFor sums the held add-ons touching feature key: whether one
// switches it on, what they add to its limit, and whether any adds.
func addOnsFor(key string, held []HeldAddOn) (on bool, extra int64, adds bool) {
	for _, h := range held {
		if h.Feature != key || h.Units <= 0 {
			continue
		}
		if h.Quantity == 0 {
			on = true
			continue
		}
		adds = true
		extra = addSat(extra, h.Extra())
	}
	return on, extra, adds
}

// addOns checks a product's add-ons against its features and plans.
func (v *validator) addOns(at Problem, specs []AddOn, features map[string]Feature, plans []Plan) []AddOn {
	out := make([]AddOn, 0, len(specs))
	seen := map[string]bool{}
	for i, a := range specs {
		aat := at
		aat.Feature = a.Feature
		field := func(name string) string { return fmt.Sprintf("addons[%d].%s", i, name) }
		if a.Key != "" {
			field = func(name string) string { return fmt.Sprintf("addons[%s].%s", a.Key, name) }
		}
		if msg := keyProblem(a.Key, "add-on", i); msg != "" {
			v.add(aat, field("key"), "%s", msg)
		} else if seen[a.Key] {
			v.add(aat, field("key"), "duplicate add-on key")
		}
		seen[a.Key] = true
		if strings.TrimSpace(a.Name) == "" {
			v.add(aat, field("name"), "an add-on needs a name buyers read")
		}
		f, known := features[a.Feature]
		switch {
		case a.Feature == "":
			v.add(aat, field("feature"), "name the feature the add-on gives")
		case !known:
			v.add(aat, field("feature"), "not a feature of product %q", at.Product)
		case f.Kind == Boolean && a.Quantity != 0:
			v.add(aat, field("quantity"), "%q is a boolean feature: the add-on switches it on, so leave quantity out (got %d)", f.Key, a.Quantity)
		case f.Kind != Boolean && a.Quantity <= 0:
			v.add(aat, field("quantity"), "%q is a %s feature: give the amount one unit adds, a whole number above zero (got %d)", f.Key, f.Kind, a.Quantity)
		}
		units := a.MaxUnits
		switch {
		case units < 0 || units > MaxAddOnUnits:
			v.add(aat, field("max_units"), "want between 1 and %d, got %d", MaxAddOnUnits, units)
		case units == 0:
			units = 1
		case known && f.Kind == Boolean && units > 1:
			v.add(aat, field("max_units"), "a boolean add-on is bought once, got %d", units)
		}
		v.addOnPrice(aat, field("price"), a.Key, a.Price)
		names := slices.Clone(a.Plans)
		slices.Sort(names)
		names = slices.Compact(names)
		for _, name := range names {
			p, ok := findPlan(plans, name)
			switch {
			case !ok:
				v.add(aat, field("plans"), "%q is not a plan of product %q", name, at.Product)
			case !known:
			case f.Kind == Boolean && p.Values[f.Key].Enabled:
				v.add(aat, field("plans"), "plan %q already includes %q", name, f.Key)
			case f.Kind != Boolean && !p.Values[f.Key].Enabled:
				v.add(aat, field("plans"), "plan %q does not include %q: an add-on raises a limit the plan has", name, f.Key)
			case f.Kind != Boolean && p.Values[f.Key].Limit == nil:
				v.add(aat, field("plans"), "plan %q has %q unlimited: there is nothing to add", name, f.Key)
			}
		}
		out = append(out, AddOn{Key: a.Key, Name: a.Name, Feature: a.Feature, Quantity: a.Quantity, MaxUnits: units,
			Price: a.Price, Plans: names})
	}
	return out
}

// addOnPrice checks an add-on's one price, sharing the catalog-wide
// uniqueness of Stripe price ids with the plans' prices.
func (v *validator) addOnPrice(at Problem, field, key string, p Price) {
	where := fmt.Sprintf("product %q, add-on %q", at.Product, key)
	switch {
	case p.StripePriceID == "":
		v.add(at, field+".stripe_price_id", "must not be empty")
	case v.prices[p.StripePriceID] != "":
		v.add(at, field+".stripe_price_id", "%q is also used by %s", p.StripePriceID, v.prices[p.StripePriceID])
	default:
		v.prices[p.StripePriceID] = where
	}
	if p.Interval != "month" && p.Interval != "year" {
		v.add(at, field+".interval", `want "month" or "year", got %q`, p.Interval)
	}
	if !isCurrency(p.Currency) {
		v.add(at, field+".currency", `want three lowercase letters such as "usd", got %q`, p.Currency)
	}
	if p.UnitAmount < 0 {
		v.add(at, field+".unit_amount", "must not be negative, got %d", p.UnitAmount)
	}
}

// AddOnSource is one add-on's share of a feature's limit, for the portal's
// "plan + add-on" line.
type AddOnSource struct {
	Key, Name string
	Units     int
	Extra     int64 // 0: switches the feature on
}

// addOnSources lists the held add-ons touching feature key.
func addOnSources(key string, held []HeldAddOn) []AddOnSource {
	var out []AddOnSource
	for _, h := range held {
		if h.Feature == key && h.Units > 0 {
			out = append(out, AddOnSource{Key: h.Key, Name: h.Name, Units: h.Units, Extra: h.Extra()})
		}
	}
	return out
}

// diffAddOns lists add-ons added, changed and removed between the stored
// product and the file's. Add-ons are not versioned: a change reaches the
// accounts holding one at once, so those are named as affected.
func (d *CatalogDiff) diffAddOns(cur StoredCatalog, cp, np Product) {
	holders := func(key string) []string { return slices.Clone(cur.AddOnHolders[np.Key+"/"+key]) }
	for _, na := range np.AddOns {
		at := CatalogDiffChange{Product: np.Key}
		ca, ok := findAddOn(cp.AddOns, na.Key)
		if !ok {
			d.add(with(at, DiffAddOnAdded, na.Key, "", DescribeAddOn(na)))
			continue
		}
		for _, f := range []struct{ field, from, to string }{
			{"name", ca.Name, na.Name},
			{"feature", ca.Feature, na.Feature},
			{"quantity", fmt.Sprint(ca.Quantity), fmt.Sprint(na.Quantity)},
			{"max_units", fmt.Sprint(ca.MaxUnits), fmt.Sprint(na.MaxUnits)},
			{"price", describePrice(ca.Price), describePrice(na.Price)},
			{"plans", describePlans(ca.Plans), describePlans(na.Plans)},
		} {
			if f.from != f.to {
				c := with(at, DiffAddOnChanged, na.Key+"."+f.field, f.from, f.to)
				c.Affected = holders(na.Key)
				d.add(c)
			}
		}
	}
	for _, ca := range cp.AddOns {
		if _, ok := findAddOn(np.AddOns, ca.Key); !ok {
			c := with(CatalogDiffChange{Product: np.Key}, DiffAddOnRemoved, ca.Key, DescribeAddOn(ca), "")
			c.Affected = holders(ca.Key)
			d.add(c)
		}
	}
}

func findAddOn(as []AddOn, key string) (AddOn, bool) {
	for _, a := range as {
		if a.Key == key {
			return a, true
		}
	}
	return AddOn{}, false
}

// DescribeAddOn reads `Extra API calls: +10000 api_calls per unit, up to
// 5 units, 1000 usd per month (price_x), for every plan it fits`.
func DescribeAddOn(a AddOn) string {
	gives := fmt.Sprintf("+%d %s per unit", a.Quantity, a.Feature)
	if a.Quantity == 0 {
		gives = a.Feature + " on"
	}
	return fmt.Sprintf("%s: %s, up to %d %s, %s, for %s", a.Name, gives, a.MaxUnits,
		map[bool]string{true: "unit", false: "units"}[a.MaxUnits == 1], describePrice(a.Price), describePlans(a.Plans))
}

func describePlans(plans []string) string {
	if len(plans) == 0 {
		return "every plan it fits"
	}
	return "plans " + strings.Join(plans, ", ")
}
