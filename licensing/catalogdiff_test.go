package licensing

import (
	"slices"
	"strings"
	"testing"
)

// diffBase is a small catalog: free (nobody on it), team (Globex and
// Umbrella on version 1, Initech in Cuba on version 2).
func diffBase() Catalog {
	return Catalog{Products: []ProductSpec{{Key: "analytics", Name: "Analytics",
		Features: []Feature{
			{Key: "dashboards", Name: "Dashboards", Kind: Boolean},
			{Key: "sso", Name: "SSO", Kind: Boolean},
			{Key: "api_calls", Name: "API calls", Kind: Metered, Period: Monthly},
		},
		Plans: []PlanSpec{
			{Key: "free", Name: "Free", Rank: 0, Features: map[string]any{"dashboards": true, "api_calls": 1000},
				Prices: []Price{{StripePriceID: "price_free", Interval: "month", Currency: "usd"}}},
			{Key: "team", Name: "Team", Rank: 1, SeatBased: true, Features: map[string]any{"dashboards": true, "api_calls": 50000},
				Prices: []Price{{StripePriceID: "price_team", Interval: "month", UnitAmount: 1200, Currency: "usd"}}},
		}}}}
}

func storedFrom(t *testing.T, c Catalog) StoredCatalog {
	t.Helper()
	products, err := c.Validate()
	if err != nil {
		t.Fatal(err)
	}
	st := StoredCatalog{Products: products, Plans: map[string]StoredPlan{},
		Subscribers: []CatalogSubscriber{
			{Account: "globex", Name: "Globex", Country: "US", Product: "analytics", Plan: "team", Version: 1},
			{Account: "umbrella", Name: "Umbrella", Country: "DE", Product: "analytics", Plan: "team", Version: 1},
			{Account: "initech", Name: "Initech", Country: "CU", Product: "analytics", Plan: "team", Version: 2},
		}}
	for _, p := range products {
		for _, pl := range p.Plans {
			st.Plans[p.Key+"/"+pl.Key] = StoredPlan{Version: 2, Fingerprint: pl.Fingerprint(), HasSubscribers: pl.Key == "team"}
		}
	}
	return st
}

func diffWith(t *testing.T, change func(c *Catalog)) CatalogDiff {
	t.Helper()
	stored := storedFrom(t, diffBase())
	next := diffBase()
	change(&next)
	products, err := next.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return DiffCatalog(stored, products)
}

func TestDiffOfTheSameCatalogIsEmpty(t *testing.T) {
	t.Parallel()
	d := diffWith(t, func(*Catalog) {})
	if d.Changed() || len(d.Changes) != 0 {
		t.Fatalf("changes = %+v", d.Changes)
	}
	for _, p := range d.Plans {
		if p.Apply != ApplyUnchanged || p.NewVersion != 2 {
			t.Errorf("%s: %s v%d, want unchanged v2", p.Plan, p.Apply, p.NewVersion)
		}
	}
}

func TestDiffNamesEveryKindOfChange(t *testing.T) {
	t.Parallel()
	team := func(c *Catalog) *PlanSpec { return &c.Products[0].Plans[1] }
	free := func(c *Catalog) *PlanSpec { return &c.Products[0].Plans[0] }
	type want struct {
		kind            DiffKind
		plan, feature   string
		field, from, to string
		affected        []string
	}
	cases := []struct {
		name   string
		change func(c *Catalog)
		want   []want
	}{
		{"product renamed", func(c *Catalog) { c.Products[0].Name = "Acme Analytics" },
			[]want{{kind: DiffProductChanged, field: "name", from: "Analytics", to: "Acme Analytics"}}},
		{"product added", func(c *Catalog) {
			c.Products = append(c.Products, ProductSpec{Key: "reports", Name: "Reports", Plans: []PlanSpec{{Key: "basic", Name: "Basic"}}})
		}, []want{{kind: DiffProductAdded, to: "Reports"}, {kind: DiffPlanAdded, plan: "basic", to: "Basic"}}},
		{"feature added", func(c *Catalog) {
			c.Products[0].Features = append(c.Products[0].Features, Feature{Key: "exports", Name: "Exports", Kind: Boolean})
		}, []want{{kind: DiffFeatureAdded, feature: "exports", to: "Exports"}}},
		{"feature renamed, kind and period changed", func(c *Catalog) {
			c.Products[0].Features[2] = Feature{Key: "api_calls", Name: "Calls", Kind: Metered, Period: Daily}
			c.Products[0].Features[1] = Feature{Key: "sso", Name: "SSO", Kind: Limit}
		}, []want{
			{kind: DiffFeatureChanged, feature: "sso", field: "kind", from: "boolean", to: "limit"},
			{kind: DiffFeatureChanged, feature: "api_calls", field: "name", from: "API calls", to: "Calls"},
			{kind: DiffFeatureChanged, feature: "api_calls", field: "period", from: "month", to: "day"},
		}},
		{"feature left out of the file: a note, and plans lose it", func(c *Catalog) {
			c.Products[0].Features = c.Products[0].Features[:2]
			delete(free(c).Features, "api_calls")
			delete(team(c).Features, "api_calls")
		}, []want{
			{kind: DiffFeatureNotInFile, feature: "api_calls", from: "API calls"},
			{kind: DiffFeatureLost, plan: "free", feature: "api_calls", from: "1000", to: "off"},
			{kind: DiffFeatureLost, plan: "team", feature: "api_calls", from: "50000", to: "off"},
		}},
		{"feature gained and limit lowered", func(c *Catalog) {
			team(c).Features["sso"] = true
			team(c).Features["api_calls"] = 40000
		}, []want{
			{kind: DiffFeatureGained, plan: "team", feature: "sso", from: "off", to: "on"},
			{kind: DiffLimitLowered, plan: "team", feature: "api_calls", from: "50000", to: "40000"},
		}},
		{"limit raised to unlimited", func(c *Catalog) { free(c).Features["api_calls"] = "unlimited" },
			[]want{{kind: DiffLimitRaised, plan: "free", feature: "api_calls", from: "1000", to: "unlimited"}}},
		{"plan fields", func(c *Catalog) {
			team(c).Name, team(c).Rank, team(c).SeatBased, team(c).TrialDays = "Teams", 5, false, 14
		}, []want{
			{kind: DiffPlanChanged, plan: "team", field: "name", from: "Team", to: "Teams"},
			{kind: DiffPlanChanged, plan: "team", field: "rank", from: "1", to: "5"},
			{kind: DiffPlanChanged, plan: "team", field: "seat_based", from: "true", to: "false"},
			{kind: DiffPlanChanged, plan: "team", field: "trial_days", from: "0", to: "14"},
		}},
		{"prices added, changed and removed", func(c *Catalog) {
			team(c).Prices = []Price{{StripePriceID: "price_team_v2", Interval: "month", UnitAmount: 1500, Currency: "usd"},
				{StripePriceID: "price_team_eur", Interval: "month", UnitAmount: 1100, Currency: "eur"}}
			free(c).Prices = nil
		}, []want{
			{kind: DiffPriceRemoved, plan: "free", field: "month usd", from: "0 usd per month (price_free)"},
			{kind: DiffPriceChanged, plan: "team", field: "month usd", from: "1200 usd per month (price_team)", to: "1500 usd per month (price_team_v2)"},
			{kind: DiffPriceAdded, plan: "team", field: "month eur", to: "1100 eur per month (price_team_eur)"},
		}},
		{"plan added", func(c *Catalog) {
			c.Products[0].Plans = append(c.Products[0].Plans, PlanSpec{Key: "pilot", Name: "Pilot", Rank: 9, Visibility: Pilot})
		}, []want{{kind: DiffPlanAdded, plan: "pilot", to: "Pilot"}}},
		{"plan retired", func(c *Catalog) { team(c).Visibility = Retired },
			[]want{{kind: DiffPlanRetired, plan: "team", field: "visibility", from: "public", to: "retired"}}},
		{"plan made a pilot", func(c *Catalog) { free(c).Visibility = Pilot },
			[]want{{kind: DiffPlanChanged, plan: "free", field: "visibility", from: "public", to: "pilot"}}},
		{"plan left out of the file: a note", func(c *Catalog) { c.Products[0].Plans = c.Products[0].Plans[1:] },
			[]want{{kind: DiffPlanNotInFile, plan: "free", from: "Free"}}},
		{"product left out of the file: a note", func(c *Catalog) {
			c.Products[0] = ProductSpec{Key: "reports", Name: "Reports", Plans: []PlanSpec{{Key: "basic", Name: "Basic"}}}
		}, []want{{kind: DiffProductAdded, to: "Reports"}, {kind: DiffPlanAdded, plan: "basic", to: "Basic"}, {kind: DiffProductNotInFile}}},
		{"feature regions reach subscribers at once", func(c *Catalog) {
			c.Products[0].Features[0].Regions = &Regions{Deny: []string{"CU"}}
		}, []want{{kind: DiffFeatureChanged, feature: "dashboards", field: "regions", from: "everywhere", to: "deny CU", affected: []string{"initech"}}}},
		{"plan regions", func(c *Catalog) { team(c).Regions = &Regions{Allow: []string{"US"}} },
			[]want{{kind: DiffPlanChanged, plan: "team", field: "regions", from: "everywhere", to: "allow US", affected: []string{"umbrella", "initech"}}}},
		{"export controls", func(c *Catalog) {
			c.ExportControls = []ExportControl{{Countries: []string{"DE"}, Features: []string{"dashboards"}}}
		}, []want{{kind: DiffExportControls, from: "none", to: "dashboards denied in DE", affected: []string{"umbrella"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := diffWith(t, tc.change)
			var got []want
			for _, c := range d.Changes {
				got = append(got, want{c.Kind, c.Plan, c.Feature, c.Field, c.From, c.To, c.Affected})
			}
			if !slices.EqualFunc(got, tc.want, func(a, b want) bool {
				return a.kind == b.kind && a.plan == b.plan && a.feature == b.feature && a.field == b.field &&
					a.from == b.from && a.to == b.to && slices.Equal(a.affected, b.affected)
			}) {
				t.Fatalf("changes:\n got  %+v\n want %+v", got, tc.want)
			}
			notes := true
			for _, w := range tc.want {
				notes = notes && w.kind.IsNote()
			}
			if d.Changed() == notes {
				t.Errorf("Changed() = %v for %v", d.Changed(), tc.want)
			}
		})
	}
}

func TestDiffSaysHowEachPlanIsApplied(t *testing.T) {
	t.Parallel()
	d := diffWith(t, func(c *Catalog) {
		c.Products[0].Plans[0].Features["api_calls"] = 2000  // free: nobody on it
		c.Products[0].Plans[1].Features["api_calls"] = 60000 // team: subscribers
		c.Products[0].Plans = append(c.Products[0].Plans, PlanSpec{Key: "business", Name: "Business", Rank: 2})
	})
	got := map[string]PlanOutcome{}
	for _, p := range d.Plans {
		got[p.Plan] = p
	}
	if p := got["free"]; p.Apply != ApplyInPlace || p.NewVersion != 2 || len(p.Subscribers) != 0 {
		t.Errorf("free = %+v, want updated in place as version 2", p)
	}
	if p := got["team"]; p.Apply != ApplyNewVersion || p.Version != 2 || p.NewVersion != 3 {
		t.Errorf("team = %+v, want a new version 3", p)
	}
	subs := got["team"].Subscribers
	if len(subs) != 2 || subs[0].Version != 1 || subs[0].Count != 2 || strings.Join(subs[0].Accounts, ",") != "globex,umbrella" ||
		subs[1].Version != 2 || subs[1].Count != 1 {
		t.Errorf("team subscribers = %+v, want 2 on v1 (globex, umbrella) and 1 on v2", subs)
	}
	if p := got["business"]; p.Apply != ApplyCreated || p.NewVersion != 1 {
		t.Errorf("business = %+v, want created as version 1", p)
	}
	// Visibility and regions are not versioned: a settings-only change
	// leaves the content unchanged.
	d = diffWith(t, func(c *Catalog) { c.Products[0].Plans[1].Visibility = Retired })
	for _, p := range d.Plans {
		if p.Apply != ApplyUnchanged {
			t.Errorf("%s: %s after retiring team, want unchanged content", p.Plan, p.Apply)
		}
	}
}
