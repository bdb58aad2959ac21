package licensing

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// StoredPlan is what the database holds of a plan's newest version: what
// applying a catalog compares a plan with.
type StoredPlan struct {
	Version        int
	Fingerprint    string
	HasSubscribers bool // subscribed to, or scheduled to move onto
}

// CatalogSubscriber is one account's subscription, for "who is affected".
type CatalogSubscriber struct {
	Account string // slug
	Name    string
	Country string
	Product string
	Plan    string
	Version int
}

// StoredCatalog is the catalog as the database holds it now.
type StoredCatalog struct {
	Products    []Product             // the newest version of every plan, as an export writes them
	Plans       map[string]StoredPlan // by "product/plan"
	Subscribers []CatalogSubscriber
	// AddOnHolders are the accounts (slugs) holding each add-on, by
	// "product/addon".
	AddOnHolders map[string][]string
}

// DiffKind names one kind of catalog change. Kinds ending in _not_in_file
// are notes: applying leaves those entries as they are.
type DiffKind string

const (
	DiffProductAdded     DiffKind = "product_added"
	DiffProductChanged   DiffKind = "product_changed" // Field: name
	DiffFeatureAdded     DiffKind = "feature_added"
	DiffFeatureChanged   DiffKind = "feature_changed" // Field: name, kind, period, regions
	DiffPlanAdded        DiffKind = "plan_added"
	DiffPlanChanged      DiffKind = "plan_changed" // Field: name, rank, seat_based, trial_days, visibility, regions
	DiffPlanRetired      DiffKind = "plan_retired"
	DiffFeatureGained    DiffKind = "feature_gained"
	DiffFeatureLost      DiffKind = "feature_lost"
	DiffLimitRaised      DiffKind = "limit_raised"
	DiffLimitLowered     DiffKind = "limit_lowered"
	DiffPriceAdded       DiffKind = "price_added"
	DiffPriceRemoved     DiffKind = "price_removed"
	DiffPriceChanged     DiffKind = "price_changed"
	DiffExportControls   DiffKind = "export_controls_changed"
	DiffAddOnAdded       DiffKind = "addon_added"
	DiffAddOnChanged     DiffKind = "addon_changed"     // Field: name, feature, quantity, max_units, price, plans
	DiffAddOnRemoved     DiffKind = "addon_removed"     // no longer sold; holders keep it until they remove it
	DiffPromotionAdded   DiffKind = "promotion_added"   // Field: the code
	DiffPromotionChanged DiffKind = "promotion_changed" // Field: the code
	DiffPromotionRemoved DiffKind = "promotion_removed" // Field: the code; no longer accepted
	DiffProductNotInFile DiffKind = "product_not_in_file"
	DiffFeatureNotInFile DiffKind = "feature_not_in_file"
	DiffPlanNotInFile    DiffKind = "plan_not_in_file"
)

// IsNote reports whether the kind only informs: applying changes nothing
// for it.
func (k DiffKind) IsNote() bool { return strings.HasSuffix(string(k), "_not_in_file") }

// CatalogDiffChange is one difference between the stored catalog and a file.
type CatalogDiffChange struct {
	Product string   `json:"product"`
	Plan    string   `json:"plan,omitempty"`
	Feature string   `json:"feature,omitempty"`
	Kind    DiffKind `json:"kind"`
	Field   string   `json:"field,omitempty"`
	From    string   `json:"from,omitempty"`
	To      string   `json:"to,omitempty"`
	// Affected lists the subscribers (account slugs) whose access changes
	// the moment the catalog is applied: regional and export rules are not
	// versioned, so they reach existing subscribers at once.
	Affected      []string `json:"affected,omitempty"`
	AffectedCount int      `json:"affected_count,omitempty"`
}

// PlanApply is what applying does to a plan's content.
type PlanApply string

const (
	ApplyCreated    PlanApply = "created"
	ApplyNewVersion PlanApply = "new_version" // subscribers keep theirs until moved
	ApplyInPlace    PlanApply = "updated_in_place"
	ApplyUnchanged  PlanApply = "unchanged"
	ApplyNotInFile  PlanApply = "not_in_file" // left as it is
)

// VersionSubscribers counts (and names) the accounts on one version.
type VersionSubscribers struct {
	Version  int      `json:"version"`
	Count    int      `json:"count"`
	Accounts []string `json:"accounts,omitempty"`
}

// PlanOutcome is one plan's fate under apply, with who is on it now.
type PlanOutcome struct {
	Product     string               `json:"product"`
	Plan        string               `json:"plan"`
	Apply       PlanApply            `json:"apply"`
	Version     int                  `json:"version,omitempty"`     // newest stored version (0: none yet)
	NewVersion  int                  `json:"new_version,omitempty"` // the version apply writes
	Subscribers []VersionSubscribers `json:"subscribers,omitempty"`
}

// CatalogDiff is everything applying a catalog file would do.
type CatalogDiff struct {
	Plans   []PlanOutcome       `json:"plans"`
	Changes []CatalogDiffChange `json:"changes"`
}

// Changed reports whether applying would change anything.
func (d CatalogDiff) Changed() bool {
	for _, c := range d.Changes {
		if !c.Kind.IsNote() {
			return true
		}
	}
	return false
}

// DiffCatalog compares the stored catalog with a validated file: per
// product and plan, features gained and lost, limits raised or lowered,
// prices added, removed or changed, plans added or retired, whether each
// plan gets a new version or is updated in place (the same rule
// ApplyCatalog follows), and who is on each plan. The result follows the
// file's order, with notes for what the file omits after the entries of
// their kind.
func DiffCatalog(cur StoredCatalog, next []Product) CatalogDiff {
	d := CatalogDiff{Plans: []PlanOutcome{}, Changes: []CatalogDiffChange{}}
	subs := subscribersByPlan(cur.Subscribers)
	inFile := map[string]bool{}
	for _, np := range next {
		inFile[np.Key] = true
		cp, had := findProduct(cur.Products, np.Key)
		d.diffPromotions(np.Key, cp.Promotions, np.Promotions)
		if !had {
			d.add(CatalogDiffChange{Product: np.Key, Kind: DiffProductAdded, To: np.Name})
			d.diffAddOns(cur, Product{Key: np.Key}, np)
			for _, pl := range np.Plans {
				d.add(CatalogDiffChange{Product: np.Key, Plan: pl.Key, Kind: DiffPlanAdded, To: pl.Name})
				d.Plans = append(d.Plans, PlanOutcome{Product: np.Key, Plan: pl.Key, Apply: ApplyCreated, NewVersion: 1})
			}
			continue
		}
		d.diffProduct(cur, cp, np, subs)
	}
	for _, cp := range cur.Products {
		if !inFile[cp.Key] {
			d.add(CatalogDiffChange{Product: cp.Key, Kind: DiffProductNotInFile})
		}
	}
	return d
}

func (d *CatalogDiff) add(c CatalogDiffChange) {
	c.AffectedCount = len(c.Affected)
	d.Changes = append(d.Changes, c)
}

func (d *CatalogDiff) diffProduct(cur StoredCatalog, cp, np Product, subs map[string][]CatalogSubscriber) {
	at := CatalogDiffChange{Product: np.Key}
	if cp.Name != np.Name {
		d.add(with(at, DiffProductChanged, "name", cp.Name, np.Name))
	}
	productSubs := []CatalogSubscriber{}
	for _, s := range cur.Subscribers {
		if s.Product == np.Key {
			productSubs = append(productSubs, s)
		}
	}
	planRegions := func(products Product, plan string) *Regions {
		if p, ok := findPlan(products.Plans, plan); ok {
			return p.Regions
		}
		if p, ok := findPlan(cp.Plans, plan); ok { // not in the file: kept
			return p.Regions
		}
		return nil
	}
	// affected lists the product's subscribers for whom feature f's
	// permission differs between the before and after rules.
	affected := func(before, after func(s CatalogSubscriber) bool) []string {
		var out []string
		for _, s := range productSubs {
			if before(s) != after(s) {
				out = append(out, s.Account)
			}
		}
		return out
	}

	features := slices.Clone(np.Features)
	for _, nf := range np.Features {
		fat := at
		fat.Feature = nf.Key
		cf, ok := findFeature(cp.Features, nf.Key)
		if !ok {
			d.add(with(fat, DiffFeatureAdded, "", "", nf.Name))
			continue
		}
		if cf.Name != nf.Name {
			d.add(with(fat, DiffFeatureChanged, "name", cf.Name, nf.Name))
		}
		if cf.Kind != nf.Kind {
			d.add(with(fat, DiffFeatureChanged, "kind", string(cf.Kind), string(nf.Kind)))
		}
		if cf.Period != nf.Period {
			d.add(with(fat, DiffFeatureChanged, "period", string(cf.Period), string(nf.Period)))
		}
		if !cf.Regions.Equal(nf.Regions) {
			c := with(fat, DiffFeatureChanged, "regions", cf.Regions.String(), nf.Regions.String())
			c.Affected = affected(
				func(s CatalogSubscriber) bool {
					return RegionRules{Plan: planRegions(cp, s.Plan), ExportControls: cp.ExportControls}.FeaturePermitted(s.Country, cf)
				},
				func(s CatalogSubscriber) bool {
					return RegionRules{Plan: planRegions(cp, s.Plan), ExportControls: cp.ExportControls}.FeaturePermitted(s.Country, nf)
				})
			d.add(c)
		}
	}
	for _, cf := range cp.Features {
		if _, ok := findFeature(np.Features, cf.Key); !ok {
			d.add(with(CatalogDiffChange{Product: np.Key, Feature: cf.Key}, DiffFeatureNotInFile, "", cf.Name, ""))
			features = append(features, cf)
		}
	}
	if !exportControlsEqual(cp.ExportControls, np.ExportControls) {
		c := with(at, DiffExportControls, "", describeControls(cp.ExportControls), describeControls(np.ExportControls))
		permittedAll := func(controls []ExportControl, s CatalogSubscriber) string {
			var b strings.Builder
			for _, f := range np.Features {
				b.WriteString(strconv.FormatBool(RegionRules{Plan: planRegions(cp, s.Plan), ExportControls: controls}.FeaturePermitted(s.Country, f)))
			}
			return b.String()
		}
		for _, s := range productSubs {
			if permittedAll(cp.ExportControls, s) != permittedAll(np.ExportControls, s) {
				c.Affected = append(c.Affected, s.Account)
			}
		}
		d.add(c)
	}

	d.diffAddOns(cur, cp, np)

	for _, npl := range np.Plans {
		key := np.Key + "/" + npl.Key
		pat := at
		pat.Plan = npl.Key
		cpl, ok := findPlan(cp.Plans, npl.Key)
		if !ok {
			d.add(with(pat, DiffPlanAdded, "", "", npl.Name))
			d.Plans = append(d.Plans, PlanOutcome{Product: np.Key, Plan: npl.Key, Apply: ApplyCreated, NewVersion: 1})
			continue
		}
		stored := cur.Plans[key]
		out := PlanOutcome{Product: np.Key, Plan: npl.Key, Version: stored.Version, Subscribers: versionCounts(subs[key])}
		switch {
		case stored.Fingerprint == npl.Fingerprint():
			out.Apply, out.NewVersion = ApplyUnchanged, stored.Version
		case stored.HasSubscribers:
			out.Apply, out.NewVersion = ApplyNewVersion, stored.Version+1
		default:
			out.Apply, out.NewVersion = ApplyInPlace, stored.Version
		}
		d.Plans = append(d.Plans, out)
		d.diffPlan(pat, features, cpl, npl)
		if cpl.Visibility != npl.Visibility {
			kind := DiffPlanChanged
			if npl.Visibility == Retired {
				kind = DiffPlanRetired
			}
			d.add(with(pat, kind, "visibility", string(cpl.Visibility), string(npl.Visibility)))
		}
		if !cpl.Regions.Equal(npl.Regions) {
			c := with(pat, DiffPlanChanged, "regions", cpl.Regions.String(), npl.Regions.String())
			for _, s := range subs[key] {
				if PlanAvailable(s.Country, cpl.Regions, nil) != PlanAvailable(s.Country, npl.Regions, nil) {
					c.Affected = append(c.Affected, s.Account)
				}
			}
			d.add(c)
		}
	}
	for _, cpl := range cp.Plans {
		if _, ok := findPlan(np.Plans, cpl.Key); !ok {
			key := np.Key + "/" + cpl.Key
			d.add(with(CatalogDiffChange{Product: np.Key, Plan: cpl.Key}, DiffPlanNotInFile, "", cpl.Name, ""))
			d.Plans = append(d.Plans, PlanOutcome{Product: np.Key, Plan: cpl.Key, Apply: ApplyNotInFile,
				Version: cur.Plans[key].Version, NewVersion: cur.Plans[key].Version, Subscribers: versionCounts(subs[key])})
		}
	}
}

// diffPlan lists a plan's content changes: its own fields, feature values
// (licensing.DiffPlans, the billing page's rule) and prices.
func (d *CatalogDiff) diffPlan(at CatalogDiffChange, features []Feature, cur, next Plan) {
	if cur.Name != next.Name {
		d.add(with(at, DiffPlanChanged, "name", cur.Name, next.Name))
	}
	if cur.Rank != next.Rank {
		d.add(with(at, DiffPlanChanged, "rank", strconv.Itoa(cur.Rank), strconv.Itoa(next.Rank)))
	}
	if cur.SeatBased != next.SeatBased {
		d.add(with(at, DiffPlanChanged, "seat_based", strconv.FormatBool(cur.SeatBased), strconv.FormatBool(next.SeatBased)))
	}
	if cur.TrialDays != next.TrialDays {
		d.add(with(at, DiffPlanChanged, "trial_days", strconv.Itoa(cur.TrialDays), strconv.Itoa(next.TrialDays)))
	}
	kinds := map[FeatureChangeKind]DiffKind{FeatureGained: DiffFeatureGained, FeatureLost: DiffFeatureLost,
		LimitUp: DiffLimitRaised, LimitDown: DiffLimitLowered}
	for _, fc := range DiffPlans(features, cur.Values, next.Values) {
		c := with(at, kinds[fc.Kind], "", DescribeValue(fc.Feature, fc.From), DescribeValue(fc.Feature, fc.To))
		c.Feature = fc.Feature.Key
		d.add(c)
	}
	priceKey := func(p Price) string { return p.Interval + " " + p.Currency }
	for _, np := range next.Prices {
		cp, ok := findPrice(cur.Prices, priceKey(np), priceKey)
		switch {
		case !ok:
			d.add(with(at, DiffPriceAdded, priceKey(np), "", describePrice(np)))
		case cp != np:
			d.add(with(at, DiffPriceChanged, priceKey(np), describePrice(cp), describePrice(np)))
		}
	}
	for _, cp := range cur.Prices {
		if _, ok := findPrice(next.Prices, priceKey(cp), priceKey); !ok {
			d.add(with(at, DiffPriceRemoved, priceKey(cp), describePrice(cp), ""))
		}
	}
}

func with(at CatalogDiffChange, kind DiffKind, field, from, to string) CatalogDiffChange {
	at.Kind, at.Field, at.From, at.To = kind, field, from, to
	return at
}

func findProduct(ps []Product, key string) (Product, bool) {
	for _, p := range ps {
		if p.Key == key {
			return p, true
		}
	}
	return Product{}, false
}

func findPlan(ps []Plan, key string) (Plan, bool) {
	for _, p := range ps {
		if p.Key == key {
			return p, true
		}
	}
	return Plan{}, false
}

func findPrice(ps []Price, key string, keyOf func(Price) string) (Price, bool) {
	for _, p := range ps {
		if keyOf(p) == key {
			return p, true
		}
	}
	return Price{}, false
}

func subscribersByPlan(subs []CatalogSubscriber) map[string][]CatalogSubscriber {
	out := map[string][]CatalogSubscriber{}
	for _, s := range subs {
		key := s.Product + "/" + s.Plan
		out[key] = append(out[key], s)
	}
	return out
}

// versionCounts groups a plan's subscribers by version, oldest first, each
// version's accounts by slug.
func versionCounts(subs []CatalogSubscriber) []VersionSubscribers {
	var out []VersionSubscribers
	for _, s := range subs {
		i := slices.IndexFunc(out, func(v VersionSubscribers) bool { return v.Version == s.Version })
		if i < 0 {
			out = append(out, VersionSubscribers{Version: s.Version})
			i = len(out) - 1
		}
		out[i].Count++
		out[i].Accounts = append(out[i].Accounts, s.Account)
	}
	slices.SortFunc(out, func(a, b VersionSubscribers) int { return a.Version - b.Version })
	for i := range out {
		slices.Sort(out[i].Accounts)
	}
	return out
}

func exportControlsEqual(a, b []ExportControl) bool {
	return slices.EqualFunc(a, b, func(x, y ExportControl) bool {
		return x.Product == y.Product && slices.Equal(x.Countries, y.Countries) && slices.Equal(x.Features, y.Features)
	})
}

func describeControls(cs []ExportControl) string {
	if len(cs) == 0 {
		return "none"
	}
	var parts []string
	for _, c := range cs {
		what := "everything"
		if len(c.Features) > 0 {
			what = strings.Join(c.Features, ", ")
		}
		parts = append(parts, fmt.Sprintf("%s denied in %s", what, strings.Join(c.Countries, ", ")))
	}
	return strings.Join(parts, "; ")
}

// DescribeValue writes a plan's value for f as the catalog tools print it:
// on, off, a number or unlimited.
func DescribeValue(f Feature, v PlanValue) string {
	switch {
	case !v.Enabled:
		return "off"
	case f.Kind == Boolean:
		return "on"
	case v.Limit == nil:
		return "unlimited"
	}
	return strconv.FormatInt(*v.Limit, 10)
}

func describePrice(p Price) string {
	return fmt.Sprintf("%d %s per %s (%s)", p.UnitAmount, p.Currency, p.Interval, p.StripePriceID)
}
