package licensing

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestEvaluateWithAddOns(t *testing.T) {
	t.Parallel()
	exports := Feature{Key: "exports", Name: "Exports", Kind: Boolean}
	extraCalls := func(units int) HeldAddOn {
		return HeldAddOn{Key: "extra_api_calls", Name: "Extra API calls", Feature: "api_calls", Quantity: 10000, Units: units}
	}
	exportsAddOn := HeldAddOn{Key: "exports_addon", Name: "Exports", Feature: "exports", Units: 1}
	month := now.AddDate(0, 1, 0)
	cases := []struct {
		name    string
		feature Feature
		plan    *PlanValue
		addOns  []HeldAddOn
		grants  []Grant
		used    int64
		country string
		rules   RegionRules
		want    Decision
	}{
		{"plan alone", apiCalls, limited(50000), nil, nil, 0, "", RegionRules{},
			withFigures(allow(ReasonOK), i64(50000), 0, i64(50000))},
		{"one unit raises the limit", apiCalls, limited(50000), []HeldAddOn{extraCalls(1)}, nil, 0, "", RegionRules{},
			withFigures(allow(ReasonOK), i64(60000), 0, i64(60000))},
		{"units multiply the quantity", apiCalls, limited(50000), []HeldAddOn{extraCalls(3)}, nil, 0, "", RegionRules{},
			withFigures(allow(ReasonOK), i64(80000), 0, i64(80000))},
		{"plan + add-on + grant add up", apiCalls, limited(50000), []HeldAddOn{extraCalls(1)},
			[]Grant{extraLimit("api_calls", 5000, month)}, 0, "", RegionRules{},
			withFigures(allow(ReasonOK), i64(65000), 0, i64(65000))},
		{"usage past the plan but within the add-on", apiCalls, limited(50000), []HeldAddOn{extraCalls(1)}, nil, 55000, "", RegionRules{},
			withFigures(allow(ReasonOK), i64(60000), 55000, i64(5000))},
		{"usage past plan + add-on", apiCalls, limited(50000), []HeldAddOn{extraCalls(1)}, nil, 60000, "", RegionRules{},
			withFigures(deny(ReasonLimitReached), i64(60000), 60000, i64(0))},
		{"zero units give nothing", apiCalls, limited(50000), []HeldAddOn{extraCalls(0)}, nil, 0, "", RegionRules{},
			withFigures(allow(ReasonOK), i64(50000), 0, i64(50000))},
		{"an add-on for another feature gives nothing", projects, limited(20), []HeldAddOn{extraCalls(2)}, nil, 0, "", RegionRules{},
			withFigures(allow(ReasonOK), i64(20), 0, i64(20))},
		{"unlimited stays unlimited", apiCalls, on, []HeldAddOn{extraCalls(1)}, nil, 7, "", RegionRules{},
			withFigures(allow(ReasonOK), nil, 7, nil)},
		{"a quantity add-on does not bring a feature the plan lacks", apiCalls, nil, []HeldAddOn{extraCalls(1)}, nil, 0, "", RegionRules{},
			deny(ReasonNotInPlan)},
		{"a boolean add-on switches the feature on", exports, nil, []HeldAddOn{exportsAddOn}, nil, 0, "", RegionRules{},
			allow(ReasonOK)},
		{"a grant switching the feature off wins over the add-on", exports, nil, []HeldAddOn{exportsAddOn},
			[]Grant{featureGrant("exports", false, month)}, 0, "", RegionRules{}, deny(ReasonNotInPlan)},
		{"a huge quantity saturates instead of wrapping", apiCalls, limited(50000),
			[]HeldAddOn{{Feature: "api_calls", Quantity: math.MaxInt64 / 2, Units: 3}}, nil, 0, "", RegionRules{},
			withFigures(allow(ReasonOK), i64(math.MaxInt64), 0, i64(math.MaxInt64))},
		// Regional and export rules win over add-ons as they win over
		// grants: buying more of a feature does not buy it into a country
		// the vendor may not sell it in.
		{"region denial wins over a quantity add-on", Feature{Key: "api_calls", Kind: Metered, Period: Monthly,
			Regions: &Regions{Deny: []string{"CU"}}}, limited(50000), []HeldAddOn{extraCalls(1)}, nil, 0, "CU", RegionRules{},
			deny(ReasonRegionRestricted)},
		{"export control wins over a boolean add-on", exports, nil, []HeldAddOn{exportsAddOn}, nil, 0, "IR",
			RegionRules{ExportControls: []ExportControl{{Product: "analytics", Countries: []string{"IR"}, Features: []string{"exports"}}}},
			deny(ReasonRegionRestricted)},
		{"a plan's region denial wins over the add-on", apiCalls, limited(50000), []HeldAddOn{extraCalls(1)}, nil, 0, "US",
			RegionRules{Plan: &Regions{Allow: []string{"DE"}}}, deny(ReasonRegionRestricted)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Evaluate(Input{Feature: tc.feature, Plan: tc.plan, AddOns: tc.addOns, Grants: tc.grants,
				Subscription: active, Used: tc.used, Now: now, Country: tc.country, Regions: tc.rules})
			if show(got) != show(tc.want) {
				t.Errorf("got %s, want %s", show(got), show(tc.want))
			}
		})
	}
}

func TestAddOnsCarriedByProductState(t *testing.T) {
	t.Parallel()
	p := ProductState{Product: "analytics", Features: []Feature{apiCalls}, Subscription: active,
		Values: map[string]PlanValue{"api_calls": *limited(50000)},
		AddOns: []HeldAddOn{{Key: "extra_api_calls", Name: "Extra API calls", Feature: "api_calls", Quantity: 10000, Units: 2}}}
	rows := p.Evaluate(now)
	if len(rows) != 1 || rows[0].Decision.Limit == nil || *rows[0].Decision.Limit != 70000 {
		t.Fatalf("matrix: %+v", rows)
	}
	if rows[0].PlanLimit == nil || *rows[0].PlanLimit != 50000 || len(rows[0].AddOns) != 1 || rows[0].AddOns[0].Extra != 20000 {
		t.Errorf("sources: plan %v, add-ons %+v", rows[0].PlanLimit, rows[0].AddOns)
	}
	d, _ := p.Check("api_calls", SeatNotChecked, now)
	if *d.Limit != 70000 {
		t.Errorf("check: %s", show(d))
	}
	if _, err := AdmitUsage(p, "api_calls", 60000, now); err != nil {
		t.Errorf("usage within plan + add-on refused: %v", err)
	}
}

func TestAddOnOfferedOn(t *testing.T) {
	t.Parallel()
	calls := AddOn{Key: "extra", Feature: "api_calls", Quantity: 10000}
	exports := AddOn{Key: "exp", Feature: "exports"}
	team := map[string]PlanValue{"api_calls": *limited(50000)}
	enterprise := map[string]PlanValue{"api_calls": {Enabled: true}, "exports": {Enabled: true}}
	cases := []struct {
		name   string
		addOn  AddOn
		plan   string
		values map[string]PlanValue
		want   bool
	}{
		{"quantity on a finite limit", calls, "team", team, true},
		{"quantity on unlimited", calls, "enterprise", enterprise, false},
		{"quantity on a plan without the feature", calls, "free", map[string]PlanValue{}, false},
		{"boolean the plan lacks", exports, "team", team, true},
		{"boolean the plan has", exports, "enterprise", enterprise, false},
		{"a plan list decides", AddOn{Feature: "api_calls", Quantity: 1, Plans: []string{"business"}}, "team", team, false},
		{"a plan list names it", AddOn{Feature: "api_calls", Quantity: 1, Plans: []string{"team"}}, "team", team, true},
	}
	for _, tc := range cases {
		if got := tc.addOn.OfferedOn(tc.plan, tc.values); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
}

func TestValidateAddOns(t *testing.T) {
	t.Parallel()
	base := func(addOns ...AddOn) Catalog {
		return Catalog{Products: []ProductSpec{{Key: "analytics", Name: "Analytics",
			Features: []Feature{{Key: "api_calls", Name: "API calls", Kind: Metered, Period: Monthly},
				{Key: "exports", Name: "Exports", Kind: Boolean}},
			Plans: []PlanSpec{
				{Key: "team", Name: "Team", Rank: 1, Prices: []Price{{StripePriceID: "price_team", Interval: "month", UnitAmount: 1200, Currency: "usd"}},
					Features: map[string]any{"api_calls": 50000}},
				{Key: "enterprise", Name: "Enterprise", Rank: 2, Prices: []Price{{StripePriceID: "price_ent", Interval: "month", UnitAmount: 5900, Currency: "usd"}},
					Features: map[string]any{"api_calls": "unlimited", "exports": true}},
			},
			AddOns: addOns}}}
	}
	price := func(id string) Price {
		return Price{StripePriceID: id, Interval: "month", UnitAmount: 1000, Currency: "usd"}
	}
	good := AddOn{Key: "extra_api_calls", Name: "Extra API calls", Feature: "api_calls", Quantity: 10000, MaxUnits: 5, Price: price("price_extra")}
	products, err := base(good, AddOn{Key: "exports_addon", Name: "Exports", Feature: "exports", Price: price("price_exp")}).Validate()
	if err != nil {
		t.Fatalf("valid add-ons refused: %v", err)
	}
	if got := products[0].AddOns; len(got) != 2 || got[1].MaxUnits != 1 {
		t.Errorf("normalized add-ons: %+v", got)
	}
	// Export then validate gives the same add-ons: export then apply is a no-op.
	again, err := CatalogOf(products).Validate()
	if err != nil || len(again[0].AddOns) != 2 || again[0].AddOns[0].Quantity != 10000 || again[0].AddOns[1].MaxUnits != 1 {
		t.Errorf("export round trip: %+v, %v", again, err)
	}

	cases := []struct {
		name  string
		addOn AddOn
		want  string
	}{
		{"unknown feature", AddOn{Key: "x", Name: "X", Feature: "sso", Quantity: 1, Price: price("p1")}, `not a feature of product "analytics"`},
		{"quantity on a boolean feature", AddOn{Key: "x", Name: "X", Feature: "exports", Quantity: 5, Price: price("p1")}, "is a boolean feature"},
		{"no quantity on a counted feature", AddOn{Key: "x", Name: "X", Feature: "api_calls", Price: price("p1")}, "give the amount one unit adds"},
		{"a boolean bought many times", AddOn{Key: "x", Name: "X", Feature: "exports", MaxUnits: 3, Price: price("p1")}, "bought once"},
		{"a price id shared with a plan", AddOn{Key: "x", Name: "X", Feature: "api_calls", Quantity: 1, Price: price("price_team")}, `is also used by product "analytics", plan "team"`},
		{"a bad currency", AddOn{Key: "x", Name: "X", Feature: "api_calls", Quantity: 1, Price: Price{StripePriceID: "p1", Interval: "month", Currency: "USD"}}, "three lowercase letters"},
		{"an unknown plan", AddOn{Key: "x", Name: "X", Feature: "api_calls", Quantity: 1, Price: price("p1"), Plans: []string{"gold"}}, `"gold" is not a plan`},
		{"a plan with the feature unlimited", AddOn{Key: "x", Name: "X", Feature: "api_calls", Quantity: 1, Price: price("p1"), Plans: []string{"enterprise"}}, "nothing to add"},
		{"a plan that already has the boolean", AddOn{Key: "x", Name: "X", Feature: "exports", Price: price("p1"), Plans: []string{"enterprise"}}, "already includes"},
		{"no name", AddOn{Key: "x", Feature: "api_calls", Quantity: 1, Price: price("p1")}, "needs a name"},
		{"a bad key", AddOn{Key: "Extra", Name: "X", Feature: "api_calls", Quantity: 1, Price: price("p1")}, "lowercase letters"},
		{"too many units", AddOn{Key: "x", Name: "X", Feature: "api_calls", Quantity: 1, MaxUnits: MaxAddOnUnits + 1, Price: price("p1")}, "want between 1 and"},
	}
	for _, tc := range cases {
		_, err := base(tc.addOn).Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a problem containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := base(good, good).Validate(); err == nil || !strings.Contains(err.Error(), "duplicate add-on key") {
		t.Errorf("duplicate: %v", err)
	}
}

func TestDiffCatalogAddOns(t *testing.T) {
	t.Parallel()
	price := Price{StripePriceID: "price_extra", Interval: "month", UnitAmount: 1000, Currency: "usd"}
	extra := AddOn{Key: "extra_api_calls", Name: "Extra API calls", Feature: "api_calls", Quantity: 10000, MaxUnits: 5, Price: price}
	old := AddOn{Key: "old_pack", Name: "Old pack", Feature: "api_calls", Quantity: 500, MaxUnits: 1,
		Price: Price{StripePriceID: "price_old", Interval: "month", UnitAmount: 300, Currency: "usd"}}
	product := func(addOns ...AddOn) Product {
		return Product{Key: "analytics", Name: "Analytics", Features: []Feature{apiCalls}, AddOns: addOns}
	}
	cur := StoredCatalog{Products: []Product{product(old)}, Plans: map[string]StoredPlan{},
		AddOnHolders: map[string][]string{"analytics/old_pack": {"globex"}}}

	d := DiffCatalog(cur, []Product{product(old, extra)})
	if !d.Changed() || len(d.Changes) != 1 || d.Changes[0].Kind != DiffAddOnAdded || d.Changes[0].Field != "extra_api_calls" ||
		d.Changes[0].To != "Extra API calls: +10000 api_calls per unit, up to 5 units, 1000 usd per month (price_extra), for every plan it fits" {
		t.Errorf("added: %+v", d.Changes)
	}

	raised := extra
	raised.Quantity = 15000
	cur.Products = []Product{product(old, extra)}
	d = DiffCatalog(cur, []Product{product(old, raised)})
	if len(d.Changes) != 1 || d.Changes[0].Kind != DiffAddOnChanged || d.Changes[0].Field != "extra_api_calls.quantity" ||
		d.Changes[0].From != "10000" || d.Changes[0].To != "15000" {
		t.Errorf("changed: %+v", d.Changes)
	}

	d = DiffCatalog(cur, []Product{product(extra)})
	if len(d.Changes) != 1 || d.Changes[0].Kind != DiffAddOnRemoved || d.Changes[0].AffectedCount != 1 || d.Changes[0].Affected[0] != "globex" {
		t.Errorf("removed: %+v", d.Changes)
	}

	if d := DiffCatalog(cur, []Product{product(old, extra)}); d.Changed() {
		t.Errorf("same add-ons reported as changes: %+v", d.Changes)
	}
}

func TestOfflineLicenceCarriesAddOns(t *testing.T) {
	t.Parallel()
	pub, priv := testKey(t, 9)
	state := teamState()
	state.Products[0].AddOns = []HeldAddOn{
		{Key: "extra_api_calls", Name: "Extra API calls", Feature: "api_calls", Quantity: 500, Units: 2},
		{Key: "exports_pack", Name: "Exports", Feature: "exports", Units: 1},
	}
	file, err := SignLicence(Licence{ID: "lic-addons", IssuedAt: now, ValidUntil: now.Add(24 * time.Hour),
		GraceUntil: now.Add(48 * time.Hour), State: state}, "k9", priv)
	if err != nil {
		t.Fatal(err)
	}
	l, err := VerifyLicence(file, KeyRing{"k9": pub}, now)
	if err != nil {
		t.Fatal(err)
	}
	calls, err := l.Check("api_calls", "", now)
	if err != nil || calls.Decision.Limit == nil || *calls.Decision.Limit != 2000 {
		t.Errorf("offline api_calls: %+v, %v", calls.Decision, err)
	}
	exports, err := l.Check("exports", "", now)
	if err != nil || !exports.Decision.HasAccess {
		t.Errorf("offline exports from the add-on: %+v, %v", exports.Decision, err)
	}
}
