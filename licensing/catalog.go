package licensing

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
)

// Catalog is the vendor's catalog file as written: YAML (decoded elsewhere
// with gopkg.in/yaml.v3) or JSON. Nothing in it is trusted until Validate
// has turned it into Products.
type Catalog struct {
	Products []ProductSpec `yaml:"products" json:"products"`
	// ExportControls remove features (or whole products) for listed
	// countries, whatever any plan says.
	ExportControls []ExportControl `yaml:"export_controls,omitempty" json:"export_controls,omitempty"`
	// Promotions are the codes the local billing simulator accepts (with
	// Stripe, codes are Stripe's promotion codes).
	Promotions []Promotion `yaml:"promotions,omitempty" json:"promotions,omitempty"`
}

// ProductSpec is one product of the catalog file.
type ProductSpec struct {
	Key      string     `yaml:"key" json:"key"`
	Name     string     `yaml:"name" json:"name"`
	Features []Feature  `yaml:"features" json:"features"`
	Plans    []PlanSpec `yaml:"plans" json:"plans"`
	// AddOns are sold on top of the plans (AddOn).
	AddOns []AddOn `yaml:"addons,omitempty" json:"addons,omitempty"`
}

// PlanSpec is one plan of a product as written in the catalog file.
type PlanSpec struct {
	Key       string  `yaml:"key" json:"key"`
	Name      string  `yaml:"name" json:"name"`
	Rank      int     `yaml:"rank" json:"rank"`
	SeatBased bool    `yaml:"seat_based" json:"seat_based"`
	TrialDays int     `yaml:"trial_days" json:"trial_days"`
	Prices    []Price `yaml:"prices" json:"prices"`
	// Features maps a feature key to the plan's value: true or false for a
	// boolean feature; a whole number or the string "unlimited" for a limit
	// or metered feature. It is untyped because YAML decodes numbers as int,
	// JSON as float64 (or json.Number with UseNumber); Validate accepts all.
	// A feature the plan does not name is not in the plan.
	Features map[string]any `yaml:"features" json:"features"`
	// Visibility is public (the default), pilot or retired; Regions limits
	// the countries the plan is sold in and used in. Neither is part of a
	// version: changing them reaches the plan's subscribers at once.
	Visibility Visibility `yaml:"visibility,omitempty" json:"visibility,omitempty"`
	Regions    *Regions   `yaml:"regions,omitempty" json:"regions,omitempty"`
}

// Price is one way to pay for a plan.
type Price struct {
	StripePriceID string `yaml:"stripe_price_id" json:"stripe_price_id"`
	Interval      string `yaml:"interval" json:"interval"` // "month" or "year"
	// UnitAmount is in the currency's minor units (cents), per seat when the
	// plan is seat-based.
	UnitAmount int64  `yaml:"unit_amount" json:"unit_amount"`
	Currency   string `yaml:"currency" json:"currency"` // ISO 4217, lowercase as Stripe writes it
}

// Product is a validated product: what the store writes to the catalog
// tables.
type Product struct {
	Key      string    `json:"key"`
	Name     string    `json:"name"`
	Features []Feature `json:"features"`
	Plans    []Plan    `json:"plans"` // ascending rank
	AddOns   []AddOn   `json:"addons,omitempty"`
	// ExportControls are the catalog's entries that reach this product,
	// each naming it.
	ExportControls []ExportControl `json:"export_controls,omitempty"`
	// Promotions are the catalog's codes naming this product, by code.
	Promotions []Promotion `json:"promotions,omitempty"`
}

// Plan is a validated plan. Values holds an entry for every feature of the
// product, so that a plan version records what it lacks as well as what it
// has.
type Plan struct {
	Key       string               `json:"key"`
	Name      string               `json:"name"`
	Rank      int                  `json:"rank"`
	SeatBased bool                 `json:"seat_based"`
	TrialDays int                  `json:"trial_days"`
	Prices    []Price              `json:"prices"`
	Values    map[string]PlanValue `json:"values"`
	// Visibility is never empty once validated.
	Visibility Visibility `json:"visibility"`
	Regions    *Regions   `json:"regions,omitempty"`
}

// Validate checks the whole catalog and returns its normalized products, or
// a *ValidationError listing every problem found, so that a vendor fixes the
// file in one pass rather than one error at a time.
func (c Catalog) Validate() ([]Product, error) {
	v := &validator{
		products: map[string]bool{},
		prices:   map[string]string{},
	}
	products := make([]Product, 0, len(c.Products))
	for i, ps := range c.Products {
		products = append(products, v.product(i, ps))
	}
	v.exportControls(c.ExportControls, products)
	v.promotions(c.Promotions, products)
	if len(v.problems) > 0 {
		return nil, &ValidationError{Problems: v.problems}
	}
	return products, nil
}

// validator gathers problems across the catalog; it holds the sets that
// span products (product keys, Stripe price ids).
type validator struct {
	problems []Problem
	products map[string]bool
	prices   map[string]string // stripe price id → where it was first seen
}

func (v *validator) add(at Problem, field, format string, args ...any) {
	at.Field = field
	at.Message = fmt.Sprintf(format, args...)
	v.problems = append(v.problems, at)
}

func (v *validator) product(i int, ps ProductSpec) Product {
	at := Problem{Product: label(ps.Key, i)}
	if msg := keyProblem(ps.Key, "product", i); msg != "" {
		v.add(at, "key", "%s", msg)
	} else if v.products[ps.Key] {
		v.add(at, "key", "duplicate product key")
	}
	v.products[ps.Key] = true

	out := Product{Key: ps.Key, Name: ps.Name, Features: slices.Clone(ps.Features)}
	features := v.features(at, out.Features)

	if len(ps.Plans) == 0 {
		v.add(at, "plans", "a product needs at least one plan")
	}
	plans := map[string]bool{}
	ranks := map[int]string{}
	for j, spec := range ps.Plans {
		pat := at
		pat.Plan = label(spec.Key, j)
		if msg := keyProblem(spec.Key, "plan", j); msg != "" {
			v.add(pat, "key", "%s", msg)
		} else if plans[spec.Key] {
			v.add(pat, "key", "duplicate plan key")
		}
		plans[spec.Key] = true
		if other, dup := ranks[spec.Rank]; dup {
			v.add(pat, "rank", "rank %d is also used by plan %q", spec.Rank, other)
		} else {
			ranks[spec.Rank] = pat.Plan
		}
		if spec.TrialDays < 0 {
			v.add(pat, "trial_days", "must not be negative, got %d", spec.TrialDays)
		}
		v.checkPrices(pat, spec.Prices)
		visibility := spec.Visibility
		switch visibility {
		case "":
			visibility = Public
		case Public, Pilot, Retired:
		default:
			v.add(pat, "visibility", `want "public", "pilot" or "retired", got %q`, visibility)
		}
		out.Plans = append(out.Plans, Plan{
			Visibility: visibility,
			Regions:    v.regions(pat, "regions", spec.Regions),
			Key:        spec.Key,
			Name:       spec.Name,
			Rank:       spec.Rank,
			SeatBased:  spec.SeatBased,
			TrialDays:  spec.TrialDays,
			Prices:     slices.Clone(spec.Prices),
			Values:     v.values(pat, ps.Features, features, spec.Features),
		})
	}
	slices.SortStableFunc(out.Plans, func(a, b Plan) int { return cmp.Compare(a.Rank, b.Rank) })
	if len(ps.AddOns) > 0 {
		out.AddOns = v.addOns(at, ps.AddOns, features, out.Plans)
	}
	return out
}

// features checks the product's feature list (normalizing each one's
// regions in place) and returns the features whose
// kind is valid, by key, so plan values are only checked against a kind that
// means something (one mistake, one problem).
func (v *validator) features(at Problem, fs []Feature) map[string]Feature {
	known := map[string]Feature{}
	seen := map[string]bool{}
	for i, f := range fs {
		fat := at
		fat.Feature = label(f.Key, i)
		if msg := keyProblem(f.Key, "feature", i); msg != "" {
			v.add(fat, "key", "%s", msg)
		} else if seen[f.Key] {
			v.add(fat, "key", "duplicate feature key")
		}
		fs[i].Regions = v.regions(fat, "regions", f.Regions)
		kindOK := true
		v.deviceFields(fat, f)
		switch f.Kind {
		case Boolean, Limit, Concurrent, Machines:
			if f.Period != "" {
				v.add(fat, "period", "only metered features have a period, got %q for a %s feature", f.Period, f.Kind)
			}
		case Metered:
			if f.Period != Daily && f.Period != Monthly && f.Period != Yearly {
				v.add(fat, "period", `a metered feature needs period "day", "month" or "year", got %q`, f.Period)
			}
		default:
			kindOK = false
			v.add(fat, "kind", `want "boolean", "limit", "metered", "concurrent" or "machines", got %q`, f.Kind)
		}
		if kindOK && !seen[f.Key] {
			known[f.Key] = f
		}
		seen[f.Key] = true
	}
	return known
}

// values turns a plan's raw feature values into one PlanValue per declared
// feature; features the plan does not name are not in the plan.
func (v *validator) values(at Problem, declared []Feature, known map[string]Feature, raw map[string]any) map[string]PlanValue {
	out := make(map[string]PlanValue, len(declared))
	for _, f := range declared {
		out[f.Key] = PlanValue{}
	}
	declaredKeys := make(map[string]bool, len(declared))
	for _, f := range declared {
		declaredKeys[f.Key] = true
	}
	// Sorted so the problems come out in the same order on every run.
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fat := at
		fat.Feature = k
		f, ok := known[k]
		if !ok {
			if !declaredKeys[k] {
				v.add(fat, "features", "not a feature of product %q", at.Product)
			}
			continue // declared with a bad kind: already reported there
		}
		pv, msg := parseValue(f.Kind, raw[k])
		if msg != "" {
			v.add(fat, "features", "%s", msg)
			continue
		}
		out[k] = pv
	}
	return out
}

func (v *validator) checkPrices(at Problem, prices []Price) {
	where := fmt.Sprintf("product %q, plan %q", at.Product, at.Plan)
	kinds := map[string]bool{}
	for i, p := range prices {
		field := func(name string) string { return fmt.Sprintf("prices[%d].%s", i, name) }
		switch {
		case p.StripePriceID == "":
			v.add(at, field("stripe_price_id"), "must not be empty")
		case v.prices[p.StripePriceID] != "":
			v.add(at, field("stripe_price_id"), "%q is also used by %s", p.StripePriceID, v.prices[p.StripePriceID])
		default:
			v.prices[p.StripePriceID] = where
		}
		if p.Interval != "month" && p.Interval != "year" {
			v.add(at, field("interval"), `want "month" or "year", got %q`, p.Interval)
		}
		if !isCurrency(p.Currency) {
			v.add(at, field("currency"), `want three lowercase letters such as "usd", got %q`, p.Currency)
		}
		if p.UnitAmount < 0 {
			v.add(at, field("unit_amount"), "must not be negative, got %d", p.UnitAmount)
		}
		// Billing picks a plan's price by interval and currency; two
		// candidates would make that choice arbitrary.
		kind := p.Interval + "/" + p.Currency
		if kinds[kind] {
			v.add(at, field("interval"), "plan already has a %s price in %q", p.Interval, p.Currency)
		}
		kinds[kind] = true
	}
}

// Fingerprint is a stable hex SHA-256 of the plan's versioned content: name,
// rank, seat_based, trial_days, prices (in any order) and values. The store
// compares it with the stored version's to decide whether applying the
// catalog creates a new plan version, so equal content must always give the
// same fingerprint whatever the map or price order.
func (p Plan) Fingerprint() string {
	// Local types with their own tags: renaming a JSON tag on Price or
	// PlanValue must not silently re-version every plan.
	type price struct {
		ID       string `json:"id"`
		Interval string `json:"interval"`
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	}
	type value struct {
		Enabled bool   `json:"enabled"`
		Limit   *int64 `json:"limit"`
	}
	content := struct {
		Name      string           `json:"name"`
		Rank      int              `json:"rank"`
		SeatBased bool             `json:"seat_based"`
		TrialDays int              `json:"trial_days"`
		Prices    []price          `json:"prices"`
		Values    map[string]value `json:"values"` // encoding/json sorts map keys
	}{Name: p.Name, Rank: p.Rank, SeatBased: p.SeatBased, TrialDays: p.TrialDays,
		Prices: []price{}, Values: map[string]value{}}
	for _, pr := range p.Prices {
		content.Prices = append(content.Prices, price{pr.StripePriceID, pr.Interval, pr.UnitAmount, pr.Currency})
	}
	slices.SortFunc(content.Prices, func(a, b price) int {
		return cmp.Or(cmp.Compare(a.Interval, b.Interval), cmp.Compare(a.Currency, b.Currency),
			cmp.Compare(a.ID, b.ID), cmp.Compare(a.Amount, b.Amount))
	})
	for k, pv := range p.Values {
		// A disabled value's limit means nothing to Evaluate, so it must not
		// make a new version either.
		val := value{Enabled: pv.Enabled}
		if pv.Enabled {
			val.Limit = pv.Limit
		}
		content.Values[k] = val
	}
	b, err := json.Marshal(content)
	if err != nil {
		panic("licensing: plan fingerprint: " + err.Error()) // plain data: cannot fail
	}
	sum := sha256.Sum256(append([]byte("entitle/plan/v1\n"), b...))
	return hex.EncodeToString(sum[:])
}
