package licensing

// CatalogOf writes validated products back as a catalog file says them,
// so that validating the result gives the same products again: export then
// apply changes nothing. Values not in a plan are left out; public plans
// and rules that say "everywhere" are left out too.
func CatalogOf(products []Product) Catalog {
	c := Catalog{Products: make([]ProductSpec, 0, len(products))}
	for _, p := range products {
		ps := ProductSpec{Key: p.Key, Name: p.Name, Features: make([]Feature, 0, len(p.Features)), Plans: make([]PlanSpec, 0, len(p.Plans))}
		kinds := map[string]FeatureKind{}
		for _, f := range p.Features {
			ps.Features = append(ps.Features, f)
			kinds[f.Key] = f.Kind
		}
		for _, pl := range p.Plans {
			spec := PlanSpec{Key: pl.Key, Name: pl.Name, Rank: pl.Rank, SeatBased: pl.SeatBased, TrialDays: pl.TrialDays,
				Prices: append([]Price(nil), pl.Prices...), Features: map[string]any{}, Regions: pl.Regions}
			if pl.Visibility != Public {
				spec.Visibility = pl.Visibility
			}
			for key, v := range pl.Values {
				switch {
				case !v.Enabled:
				case kinds[key] == Boolean:
					spec.Features[key] = true
				case v.Limit == nil:
					spec.Features[key] = "unlimited"
				default:
					spec.Features[key] = *v.Limit
				}
			}
			ps.Plans = append(ps.Plans, spec)
		}
		for _, a := range p.AddOns {
			a.Plans = append([]string(nil), a.Plans...)
			ps.AddOns = append(ps.AddOns, a)
		}
		c.Products = append(c.Products, ps)
		c.ExportControls = append(c.ExportControls, p.ExportControls...)
		c.Promotions = append(c.Promotions, p.Promotions...)
	}
	return c
}
