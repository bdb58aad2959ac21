package licensing

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// demoCatalog is the shape of the demo catalog (DESIGN.md, "Contracts"),
// built fresh for every call so tests may change it. Numbers are ints, as
// yaml.v3 decodes them.
func demoCatalog() Catalog {
	return Catalog{Products: []ProductSpec{{
		Key:  "analytics",
		Name: "Acme Analytics",
		Features: []Feature{
			{Key: "dashboards", Name: "Dashboards", Kind: Boolean},
			{Key: "exports", Name: "Exports", Kind: Boolean},
			{Key: "sso", Name: "Single sign-on", Kind: Boolean},
			{Key: "projects", Name: "Projects", Kind: Limit},
			{Key: "api_calls", Name: "API calls", Kind: Metered, Period: Monthly},
		},
		Plans: []PlanSpec{
			{Key: "enterprise", Name: "Enterprise", Rank: 40, SeatBased: true,
				Prices:   []Price{{StripePriceID: "price_ent_m", Interval: "month", UnitAmount: 9900, Currency: "usd"}},
				Features: map[string]any{"dashboards": true, "exports": true, "sso": true, "projects": "unlimited", "api_calls": "unlimited"}},
			{Key: "free", Name: "Free", Rank: 10,
				Features: map[string]any{"dashboards": true, "projects": 1, "api_calls": 1000}},
			{Key: "business", Name: "Business", Rank: 30, SeatBased: true, TrialDays: 14,
				Prices: []Price{
					{StripePriceID: "price_biz_m", Interval: "month", UnitAmount: 4900, Currency: "usd"},
					{StripePriceID: "price_biz_y", Interval: "year", UnitAmount: 49000, Currency: "usd"},
				},
				Features: map[string]any{"dashboards": true, "exports": true, "projects": 50, "api_calls": 1000000}},
			{Key: "team", Name: "Team", Rank: 20, SeatBased: true,
				Prices:   []Price{{StripePriceID: "price_team_m", Interval: "month", UnitAmount: 1900, Currency: "usd"}},
				Features: map[string]any{"dashboards": true, "exports": false, "projects": 10, "api_calls": 100000}},
		},
	}}}
}

func TestValidateNormalizes(t *testing.T) {
	t.Parallel()
	products, err := demoCatalog().Validate()
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if len(products) != 1 || len(products[0].Features) != 5 {
		t.Fatalf("products = %+v", products)
	}
	var order []string
	for _, p := range products[0].Plans {
		order = append(order, p.Key)
		if len(p.Values) != 5 {
			t.Errorf("plan %s has %d values, want one per feature (5)", p.Key, len(p.Values))
		}
	}
	if got := strings.Join(order, ","); got != "free,team,business,enterprise" {
		t.Errorf("plans in order %s, want ascending rank", got)
	}
	plans := map[string]Plan{}
	for _, p := range products[0].Plans {
		plans[p.Key] = p
	}
	tests := []struct {
		plan, feature string
		want          string
	}{
		{"free", "dashboards", "on"},
		{"free", "exports", "off"}, // absent from the file
		{"team", "exports", "off"}, // false in the file
		{"free", "projects", "1"},
		{"team", "api_calls", "100000"},
		{"enterprise", "api_calls", "unlimited"},
		{"enterprise", "sso", "on"},
	}
	for _, tt := range tests {
		v := plans[tt.plan].Values[tt.feature]
		got := "off"
		switch {
		case v.Enabled && v.Limit != nil:
			got = strings.TrimSpace(string(mustJSON(t, *v.Limit)))
		case v.Enabled && (tt.feature == "projects" || tt.feature == "api_calls"):
			got = "unlimited"
		case v.Enabled:
			got = "on"
		}
		if got != tt.want {
			t.Errorf("%s/%s = %s, want %s", tt.plan, tt.feature, got, tt.want)
		}
	}
	if b := plans["business"]; b.TrialDays != 14 || !b.SeatBased || len(b.Prices) != 2 {
		t.Errorf("business = %+v", b)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A JSON catalog decodes numbers as float64, or json.Number with UseNumber;
// both must read as the same limits as YAML's ints.
func TestValidateAcceptsJSONNumbers(t *testing.T) {
	t.Parallel()
	raw := mustJSON(t, demoCatalog())
	want, err := demoCatalog().Validate()
	if err != nil {
		t.Fatal(err)
	}
	for _, useNumber := range []bool{false, true} {
		var c Catalog
		dec := json.NewDecoder(bytes.NewReader(raw))
		if useNumber {
			dec.UseNumber()
		}
		if err := dec.Decode(&c); err != nil {
			t.Fatal(err)
		}
		got, err := c.Validate()
		if err != nil {
			t.Fatalf("UseNumber=%v: %v", useNumber, err)
		}
		for i := range want[0].Plans {
			if g, w := got[0].Plans[i].Fingerprint(), want[0].Plans[i].Fingerprint(); g != w {
				t.Errorf("UseNumber=%v: plan %s reads differently from JSON", useNumber, want[0].Plans[i].Key)
			}
		}
	}
}

func TestValidateProblems(t *testing.T) {
	t.Parallel()
	type P = Problem
	const an = "analytics"
	tests := []struct {
		name   string
		change func(c *Catalog)
		want   []Problem // Message is matched as a substring
	}{
		{"empty product key", func(c *Catalog) { c.Products[0].Key = "" },
			[]P{{Product: "#1", Field: "key", Message: "must not be empty"}}},
		{"product key with capitals", func(c *Catalog) { c.Products[0].Key = "Analytics" },
			[]P{{Product: "Analytics", Field: "key", Message: `got "Analytics"`}}},
		{"duplicate product key", func(c *Catalog) { c.Products = append(c.Products, productWith("analytics", "price_x")) },
			[]P{{Product: an, Field: "key", Message: "duplicate product key"}}},
		{"product without plans", func(c *Catalog) { c.Products[0].Plans = nil },
			[]P{{Product: an, Field: "plans", Message: "at least one plan"}}},
		{"feature key with a dash", func(c *Catalog) { c.Products[0].Features[0].Key = "dash-boards" },
			[]P{{Product: an, Feature: "dash-boards", Field: "key", Message: "lowercase"},
				// the plans still name the old key, which no longer exists
				{Product: an, Plan: "enterprise", Feature: "dashboards", Field: "features", Message: "not a feature"},
				{Product: an, Plan: "free", Feature: "dashboards", Field: "features", Message: "not a feature"},
				{Product: an, Plan: "business", Feature: "dashboards", Field: "features", Message: "not a feature"},
				{Product: an, Plan: "team", Feature: "dashboards", Field: "features", Message: "not a feature"}}},
		{"duplicate feature key", func(c *Catalog) {
			c.Products[0].Features = append(c.Products[0].Features, Feature{Key: "sso", Kind: Boolean})
		}, []P{{Product: an, Feature: "sso", Field: "key", Message: "duplicate feature key"}}},
		{"unknown kind", func(c *Catalog) { c.Products[0].Features[2].Kind = "toggle" },
			[]P{{Product: an, Feature: "sso", Field: "kind", Message: `got "toggle"`}}},
		{"metered without period", func(c *Catalog) { c.Products[0].Features[4].Period = "" },
			[]P{{Product: an, Feature: "api_calls", Field: "period", Message: "needs period"}}},
		{"metered weekly", func(c *Catalog) { c.Products[0].Features[4].Period = "week" },
			[]P{{Product: an, Feature: "api_calls", Field: "period", Message: `got "week"`}}},
		{"limit with period", func(c *Catalog) { c.Products[0].Features[3].Period = Monthly },
			[]P{{Product: an, Feature: "projects", Field: "period", Message: "only metered"}}},
		{"empty plan key", func(c *Catalog) { c.Products[0].Plans[1].Key = "" },
			[]P{{Product: an, Plan: "#2", Field: "key", Message: "plan #2 in the file"}}},
		{"duplicate plan key", func(c *Catalog) { c.Products[0].Plans[1].Key = "team" },
			[]P{{Product: an, Plan: "team", Field: "key", Message: "duplicate plan key"}}},
		{"duplicate rank", func(c *Catalog) { c.Products[0].Plans[3].Rank = 10 },
			[]P{{Product: an, Plan: "team", Field: "rank", Message: `also used by plan "free"`}}},
		{"negative trial", func(c *Catalog) { c.Products[0].Plans[2].TrialDays = -1 },
			[]P{{Product: an, Plan: "business", Field: "trial_days", Message: "negative"}}},
		{"undeclared feature", func(c *Catalog) { c.Products[0].Plans[1].Features["reports"] = true },
			[]P{{Product: an, Plan: "free", Feature: "reports", Field: "features", Message: `not a feature of product "analytics"`}}},
		{"boolean given a number", func(c *Catalog) { c.Products[0].Plans[1].Features["sso"] = 1 },
			[]P{{Product: an, Plan: "free", Feature: "sso", Field: "features", Message: "want true or false, got 1"}}},
		{"limit given a bool", func(c *Catalog) { c.Products[0].Plans[3].Features["api_calls"] = true },
			[]P{{Product: an, Plan: "team", Feature: "api_calls", Field: "features", Message: `want a number or "unlimited", got true`}}},
		{"limit given a word", func(c *Catalog) { c.Products[0].Plans[3].Features["projects"] = "lots" },
			[]P{{Product: an, Plan: "team", Feature: "projects", Field: "features", Message: `got "lots"`}}},
		{"limit given nothing", func(c *Catalog) { c.Products[0].Plans[3].Features["projects"] = nil },
			[]P{{Product: an, Plan: "team", Feature: "projects", Field: "features", Message: "got nothing"}}},
		{"limit given a fraction", func(c *Catalog) { c.Products[0].Plans[3].Features["projects"] = 2.5 },
			[]P{{Product: an, Plan: "team", Feature: "projects", Field: "features", Message: "whole number"}}},
		{"negative limit", func(c *Catalog) { c.Products[0].Plans[3].Features["projects"] = -1 },
			[]P{{Product: an, Plan: "team", Feature: "projects", Field: "features", Message: "negative"}}},
		{"bad interval", func(c *Catalog) { c.Products[0].Plans[2].Prices[1].Interval = "yearly" },
			[]P{{Product: an, Plan: "business", Field: "prices[1].interval", Message: `got "yearly"`}}},
		{"upper-case currency", func(c *Catalog) { c.Products[0].Plans[2].Prices[0].Currency = "USD" },
			[]P{{Product: an, Plan: "business", Field: "prices[0].currency", Message: `got "USD"`}}},
		{"negative amount", func(c *Catalog) { c.Products[0].Plans[0].Prices[0].UnitAmount = -5 },
			[]P{{Product: an, Plan: "enterprise", Field: "prices[0].unit_amount", Message: "negative"}}},
		{"empty price id", func(c *Catalog) { c.Products[0].Plans[0].Prices[0].StripePriceID = "" },
			[]P{{Product: an, Plan: "enterprise", Field: "prices[0].stripe_price_id", Message: "must not be empty"}}},
		{"price id reused in another product", func(c *Catalog) { c.Products = append(c.Products, productWith("reports", "price_team_m")) },
			[]P{{Product: "reports", Plan: "basic", Field: "prices[0].stripe_price_id", Message: `also used by product "analytics", plan "team"`}}},
		{"two monthly usd prices", func(c *Catalog) { c.Products[0].Plans[2].Prices[1].Interval = "month" },
			[]P{{Product: an, Plan: "business", Field: "prices[1].interval", Message: "already has a month price"}}},
		{"many problems at once", func(c *Catalog) {
			c.Products[0].Plans[3].Features["api_calls"] = true
			c.Products[0].Plans[2].TrialDays = -3
			c.Products[0].Features[2].Kind = ""
		}, []P{
			{Product: an, Feature: "sso", Field: "kind", Message: "want"},
			{Product: an, Plan: "business", Field: "trial_days", Message: "negative"},
			{Product: an, Plan: "team", Feature: "api_calls", Field: "features", Message: "got true"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := demoCatalog()
			tt.change(&c)
			products, err := c.Validate()
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Validate error = %v, want a *ValidationError", err)
			}
			if products != nil {
				t.Errorf("Validate returned products along with problems")
			}
			if len(verr.Problems) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(verr.Problems), len(tt.want), err)
			}
			for i, w := range tt.want {
				g := verr.Problems[i]
				if g.Product != w.Product || g.Plan != w.Plan || g.Feature != w.Feature || g.Field != w.Field ||
					!strings.Contains(g.Message, w.Message) {
					t.Errorf("problem %d = %s\nwant %s (message containing %q)", i, g, Problem{w.Product, w.Plan, w.Feature, w.Field, "…"}, w.Message)
				}
				if !strings.Contains(err.Error(), g.String()) {
					t.Errorf("Error() does not list %s", g)
				}
			}
		})
	}
}

func productWith(key, priceID string) ProductSpec {
	return ProductSpec{Key: key, Name: key,
		Features: []Feature{{Key: "dashboards", Kind: Boolean}},
		Plans: []PlanSpec{{Key: "basic", Rank: 1, Features: map[string]any{"dashboards": true},
			Prices: []Price{{StripePriceID: priceID, Interval: "month", UnitAmount: 100, Currency: "eur"}}}},
	}
}

func TestValidationErrorMessage(t *testing.T) {
	t.Parallel()
	c := demoCatalog()
	c.Products[0].Plans[3].Features["api_calls"] = true
	_, err := c.Validate()
	want := "invalid catalog: 1 problem\n" +
		`  product "analytics", plan "team", feature "api_calls", field "features": want a number or "unlimited", got true`
	if err == nil || err.Error() != want {
		t.Errorf("Error() =\n%v\nwant\n%s", err, want)
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	products, err := demoCatalog().Validate()
	if err != nil {
		t.Fatal(err)
	}
	base := products[0].Plans[2] // business: two prices, a trial, limits
	fp := base.Fingerprint()
	if len(fp) != 64 || strings.Trim(fp, "0123456789abcdef") != "" {
		t.Fatalf("Fingerprint = %q, want 64 hex digits", fp)
	}
	again, _ := demoCatalog().Validate()
	if again[0].Plans[2].Fingerprint() != fp {
		t.Error("the same catalog validated twice gives another fingerprint")
	}

	clone := func() Plan {
		p := base
		p.Prices = append([]Price(nil), base.Prices...)
		p.Values = map[string]PlanValue{}
		for k, v := range base.Values {
			p.Values[k] = v
		}
		return p
	}
	same := []struct {
		name   string
		change func(p *Plan)
	}{
		{"prices reordered", func(p *Plan) { p.Prices[0], p.Prices[1] = p.Prices[1], p.Prices[0] }},
		{"key is identity, not content", func(p *Plan) { p.Key = "business_v2" }},
		{"limit at a new address", func(p *Plan) { p.Values["projects"] = PlanValue{Enabled: true, Limit: i64(50)} }},
		{"disabled value with a stray limit", func(p *Plan) { p.Values["sso"] = PlanValue{Limit: i64(5)} }},
	}
	for _, tt := range same {
		p := clone()
		tt.change(&p)
		if p.Fingerprint() != fp {
			t.Errorf("%s: fingerprint changed", tt.name)
		}
	}
	differ := []struct {
		name   string
		change func(p *Plan)
	}{
		{"name", func(p *Plan) { p.Name = "Business+" }},
		{"rank", func(p *Plan) { p.Rank++ }},
		{"seat_based", func(p *Plan) { p.SeatBased = false }},
		{"trial_days", func(p *Plan) { p.TrialDays = 30 }},
		{"price amount", func(p *Plan) { p.Prices[0].UnitAmount++ }},
		{"price id", func(p *Plan) { p.Prices[0].StripePriceID = "price_new" }},
		{"price dropped", func(p *Plan) { p.Prices = p.Prices[:1] }},
		{"limit", func(p *Plan) { p.Values["projects"] = PlanValue{Enabled: true, Limit: i64(51)} }},
		{"limit to unlimited", func(p *Plan) { p.Values["projects"] = PlanValue{Enabled: true} }},
		{"feature switched on", func(p *Plan) { p.Values["sso"] = PlanValue{Enabled: true} }},
		{"feature added to product", func(p *Plan) { p.Values["reports"] = PlanValue{} }},
	}
	for _, tt := range differ {
		p := clone()
		tt.change(&p)
		if p.Fingerprint() == fp {
			t.Errorf("%s changed but the fingerprint did not", tt.name)
		}
	}
}
