package licensing

import (
	"strings"
	"testing"
)

func TestRegionalRulesInEvaluate(t *testing.T) {
	t.Parallel()
	allowEU := &Regions{Allow: []string{"DE", "FR"}}
	denyCU := &Regions{Deny: []string{"CU"}}
	withRegions := func(f Feature, r *Regions) Feature { f.Regions = r; return f }
	exportAll := []ExportControl{{Product: "analytics", Countries: []string{"KP"}}}
	exportSSO := []ExportControl{{Product: "analytics", Countries: []string{"IR"}, Features: []string{"sso"}}}
	sso := Feature{Key: "sso", Name: "SSO", Kind: Boolean}

	cases := []struct {
		name    string
		feature Feature
		plan    *PlanValue
		grants  []Grant
		country string
		rules   RegionRules
		want    Decision
	}{
		{"no rule: the plan decides", dashboards, on, nil, "DE", RegionRules{}, allow(ReasonOK)},
		{"feature allow list, country listed", withRegions(dashboards, allowEU), on, nil, "FR", RegionRules{}, allow(ReasonOK)},
		{"feature allow list, country not listed", withRegions(dashboards, allowEU), on, nil, "US", RegionRules{}, deny(ReasonRegionRestricted)},
		{"feature allow list, country unknown: refused", withRegions(dashboards, allowEU), on, nil, "", RegionRules{}, deny(ReasonRegionRestricted)},
		{"feature deny list, country listed", withRegions(dashboards, denyCU), on, nil, "CU", RegionRules{}, deny(ReasonRegionRestricted)},
		{"feature deny list, another country", withRegions(dashboards, denyCU), on, nil, "DE", RegionRules{}, allow(ReasonOK)},
		{"feature deny list, country unknown: passes", withRegions(dashboards, denyCU), on, nil, "", RegionRules{}, allow(ReasonOK)},
		{"plan allow list, country not listed", dashboards, on, nil, "US", RegionRules{Plan: allowEU}, deny(ReasonRegionRestricted)},
		{"plan allow list, country listed", dashboards, on, nil, "DE", RegionRules{Plan: allowEU}, allow(ReasonOK)},
		{"plan deny list", dashboards, on, nil, "CU", RegionRules{Plan: denyCU}, deny(ReasonRegionRestricted)},
		{"export control on everything", dashboards, on, nil, "KP", RegionRules{ExportControls: exportAll}, deny(ReasonRegionRestricted)},
		{"export control on everything, another country", dashboards, on, nil, "DE", RegionRules{ExportControls: exportAll}, allow(ReasonOK)},
		{"export control on everything, unknown country", dashboards, on, nil, "", RegionRules{ExportControls: exportAll}, allow(ReasonOK)},
		{"export control naming the feature", sso, on, nil, "IR", RegionRules{ExportControls: exportSSO}, deny(ReasonRegionRestricted)},
		{"export control naming another feature", dashboards, on, nil, "IR", RegionRules{ExportControls: exportSSO}, allow(ReasonOK)},
		// The deny wins over a vendor grant: regional and export rules are
		// the law the vendor sells under, a grant is a commercial favour.
		{"grant on a region-denied feature: the deny wins", withRegions(sso, denyCU), nil,
			[]Grant{featureGrant("sso", true, now.AddDate(0, 1, 0))}, "CU", RegionRules{}, deny(ReasonRegionRestricted)},
		{"grant on an export-controlled feature: the deny wins", sso, nil,
			[]Grant{featureGrant("sso", true, now.AddDate(0, 1, 0))}, "IR", RegionRules{ExportControls: exportSSO}, deny(ReasonRegionRestricted)},
		{"grant outside the denied region still works", withRegions(sso, denyCU), nil,
			[]Grant{featureGrant("sso", true, now.AddDate(0, 1, 0))}, "DE", RegionRules{}, allow(ReasonOK)},
		{"region restricted carries no figures", withRegions(projects, denyCU), limited(10), nil, "CU", RegionRules{}, deny(ReasonRegionRestricted)},
		{"not in plan and permitted: not in plan", withRegions(dashboards, denyCU), nil, nil, "DE", RegionRules{}, deny(ReasonNotInPlan)},
		{"not in plan and denied: region restricted first", withRegions(dashboards, denyCU), nil, nil, "CU", RegionRules{}, deny(ReasonRegionRestricted)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Evaluate(Input{Feature: tc.feature, Plan: tc.plan, Grants: tc.grants, Subscription: active,
				Now: now, Country: tc.country, Regions: tc.rules})
			if show(got) != show(tc.want) {
				t.Fatalf("Evaluate = %s, want %s", show(got), show(tc.want))
			}
		})
	}
}

func TestPlanAvailableInARegion(t *testing.T) {
	t.Parallel()
	controls := []ExportControl{{Product: "analytics", Countries: []string{"KP"}}, {Product: "analytics", Countries: []string{"IR"}, Features: []string{"sso"}}}
	cases := []struct {
		country string
		plan    *Regions
		want    bool
	}{
		{"DE", nil, true},
		{"KP", nil, false}, // the whole product is export-controlled there
		{"IR", nil, true},  // one feature is, the plan is still sold
		{"US", &Regions{Allow: []string{"DE"}}, false}, // not on the plan's allow list
		{"DE", &Regions{Allow: []string{"DE"}}, true},  // on it
		{"CU", &Regions{Deny: []string{"CU"}}, false},  // on the plan's deny list
		{"", &Regions{Allow: []string{"DE"}}, false},   // unknown country fails an allow list
		{"", &Regions{Deny: []string{"CU"}}, true},     // and passes a deny list
		{"FR", &Regions{Deny: []string{"CU", "KP"}}, true},
	}
	for _, tc := range cases {
		if got := PlanAvailable(tc.country, tc.plan, controls); got != tc.want {
			t.Errorf("PlanAvailable(%q, %s) = %v, want %v", tc.country, tc.plan, got, tc.want)
		}
	}
}

func TestCatalogRegionProblems(t *testing.T) {
	t.Parallel()
	cat := Catalog{
		Products: []ProductSpec{{Key: "analytics", Name: "A",
			Features: []Feature{{Key: "sso", Name: "SSO", Kind: Boolean, Regions: &Regions{Allow: []string{"DE"}, Deny: []string{"CU"}}}},
			Plans: []PlanSpec{{Key: "team", Name: "Team", Visibility: "secret", Regions: &Regions{Deny: []string{"cu"}},
				Features: map[string]any{"sso": true}}}}},
		ExportControls: []ExportControl{{Product: "nope", Countries: []string{"KP"}}, {Countries: nil, Features: []string{"ghost"}}},
	}
	_, err := cat.Validate()
	if err == nil {
		t.Fatal("invalid regional rules were accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		`feature "sso", field "regions": give either allow or deny, not both`,
		`plan "team", field "visibility": want "public", "pilot" or "retired", got "secret"`,
		`plan "team", field "regions.deny": want ISO 3166-1 alpha-2 country codes in capitals such as "DE", got "cu"`,
		`product "nope", field "export_controls[0].product": not a product of the catalog`,
		`field "export_controls[1].countries": name at least one country`,
		`field "export_controls[1].features": "ghost" is not a feature of any product`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %q:\n%s", want, msg)
		}
	}
}

func TestValidatedCatalogCarriesRegionsAndVisibility(t *testing.T) {
	t.Parallel()
	cat := Catalog{
		Products: []ProductSpec{
			{Key: "analytics", Name: "A", Features: []Feature{{Key: "sso", Name: "SSO", Kind: Boolean, Regions: &Regions{Deny: []string{"KP", "CU", "KP"}}}},
				Plans: []PlanSpec{{Key: "team", Name: "Team", Features: map[string]any{"sso": true}},
					{Key: "pilot", Name: "Pilot", Rank: 1, Visibility: Pilot, Regions: &Regions{}}}},
			{Key: "reports", Name: "R", Plans: []PlanSpec{{Key: "basic", Name: "Basic"}}},
		},
		ExportControls: []ExportControl{{Countries: []string{"SY"}}, {Product: "analytics", Countries: []string{"IR"}, Features: []string{"sso"}}},
	}
	products, err := cat.Validate()
	if err != nil {
		t.Fatal(err)
	}
	a := products[0]
	if got := a.Features[0].Regions.String(); got != "deny CU, KP" {
		t.Errorf("feature regions = %s, want sorted without repeats", got)
	}
	if a.Plans[0].Visibility != Public || a.Plans[1].Visibility != Pilot || a.Plans[1].Regions != nil {
		t.Errorf("plans = %+v: want public by default, pilot kept, an empty rule read as none", a.Plans)
	}
	if len(a.ExportControls) != 2 || len(products[1].ExportControls) != 1 || products[1].ExportControls[0].Product != "reports" {
		t.Errorf("export controls: analytics %+v, reports %+v: a catalog-wide entry reaches every product", a.ExportControls, products[1].ExportControls)
	}
	if cat.Products[0].Features[0].Regions.Deny[0] != "KP" {
		t.Error("Validate changed the caller's catalog")
	}
}

func TestPlanOffer(t *testing.T) {
	t.Parallel()
	cases := []struct {
		offer            PlanOffer
		visible, buyable bool
	}{
		{PlanOffer{Visibility: Public}, true, true},
		{PlanOffer{Visibility: Pilot}, false, false},
		{PlanOffer{Visibility: Pilot, Listed: true}, true, true},
		{PlanOffer{Visibility: Pilot, Current: true}, true, false},
		{PlanOffer{Visibility: Retired}, false, false},
		{PlanOffer{Visibility: Retired, Current: true}, true, false},
		{PlanOffer{Visibility: Retired, Listed: true}, false, false},
	}
	for _, tc := range cases {
		if tc.offer.Visible() != tc.visible || tc.offer.Buyable() != tc.buyable {
			t.Errorf("%+v: visible %v buyable %v, want %v %v", tc.offer, tc.offer.Visible(), tc.offer.Buyable(), tc.visible, tc.buyable)
		}
	}
}
