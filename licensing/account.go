package licensing

import "time"

// PlanRef names the plan version a subscription is on.
type PlanRef struct {
	Key       string `json:"key"`
	Name      string `json:"name"`
	Version   int    `json:"version"`
	Rank      int    `json:"rank"`
	SeatBased bool   `json:"seat_based"`
}

// ProductState is everything evaluation reads for one account and one
// product: a snapshot the store assembles, the API caches and the offline
// licence carries.
type ProductState struct {
	Product       string               `json:"product"`
	ProductName   string               `json:"product_name"`
	Plan          *PlanRef             `json:"plan"` // nil: no subscription
	Subscription  *SubscriptionState   `json:"subscription"`
	Seats         int                  `json:"seats"` // purchased, before grants
	SeatsAssigned int                  `json:"seats_assigned"`
	Features      []Feature            `json:"features"`
	Values        map[string]PlanValue `json:"values"`
	Grants        []Grant              `json:"grants"`
	// AddOns are the add-ons the subscription holds: an offline licence
	// carries them, so it grants what the server grants.
	AddOns []HeldAddOn      `json:"addons,omitempty"`
	Usage  map[string]int64 `json:"usage"` // per feature, current period
	// SeatHolders are the people holding a seat of the subscription, so that
	// a check naming a user (online or from an offline licence) can tell
	// whether they hold one. Added by the entitlement API.
	SeatHolders []SeatHolder `json:"seat_holders,omitempty"`
	// Country is the account's (ISO 3166-1 alpha-2, "" unknown) and Regions
	// the plan's and export controls' rules: an offline licence carries
	// both, so it refuses what the server refuses in that country.
	Country string      `json:"country,omitempty"`
	Regions RegionRules `json:"regions,omitempty"`
}

// FeatureDecision is one row of the entitlement matrix.
type FeatureDecision struct {
	Feature  Feature
	Decision Decision
	// GrantedUntil is set when an active vendor grant touches the feature
	// (zero time inside a non-nil pointer: granted with no expiry).
	GrantedUntil *time.Time
	// PlanLimit is the plan's own limit (nil: none or unlimited) and
	// AddOns the held add-ons raising it or switching the feature on, so
	// the portal can say where a limit comes from.
	PlanLimit *int64
	AddOns    []AddOnSource
}

// Feature finds a feature of the product by key.
func (p ProductState) Feature(key string) (Feature, bool) {
	for _, f := range p.Features {
		if f.Key == key {
			return f, true
		}
	}
	return Feature{}, false
}

// Check evaluates one feature of the product. ok is false when the product
// has no such feature.
func (p ProductState) Check(featureKey string, seat SeatCheck, now time.Time) (d Decision, ok bool) {
	f, ok := p.Feature(featureKey)
	if !ok {
		return Decision{}, false
	}
	return Evaluate(p.input(f, seat, now)), true
}

// Evaluate decides every feature of the product at account level (no user
// named, so seats are not considered), in catalog order.
func (p ProductState) Evaluate(now time.Time) []FeatureDecision {
	return p.EvaluateFor(SeatNotChecked, now)
}

// EvaluateFor decides every feature of the product for one person, whose
// seat is seat (SeatNotChecked for the account as a whole), in catalog order.
func (p ProductState) EvaluateFor(seat SeatCheck, now time.Time) []FeatureDecision {
	out := make([]FeatureDecision, 0, len(p.Features))
	for _, f := range p.Features {
		fd := FeatureDecision{Feature: f, Decision: Evaluate(p.input(f, seat, now)), AddOns: addOnSources(f.Key, p.AddOns)}
		if v, ok := p.Values[f.Key]; ok && v.Enabled && v.Limit != nil {
			fd.PlanLimit = ptr(*v.Limit)
		}
		for _, g := range p.Grants {
			if g.FeatureKey == f.Key && g.Active(now) {
				until := g.ExpiresAt
				if fd.GrantedUntil == nil || until.IsZero() || (!fd.GrantedUntil.IsZero() && until.After(*fd.GrantedUntil)) {
					fd.GrantedUntil = &until
				}
			}
		}
		out = append(out, fd)
	}
	return out
}

// EffectiveSeats is the seat pool including active vendor grants.
func (p ProductState) EffectiveSeats(now time.Time) int {
	return EffectiveSeats(p.Seats, p.Grants, now)
}

func (p ProductState) input(f Feature, seat SeatCheck, now time.Time) Input {
	in := Input{Feature: f, AddOns: p.AddOns, Grants: p.Grants, Subscription: p.Subscription, Seat: seat, Used: p.Usage[f.Key], Now: now,
		Country: p.Country, Regions: p.Regions}
	if v, ok := p.Values[f.Key]; ok {
		in.Plan = &v
	}
	return in
}

// AccountState is an account's evaluated inputs across its products.
type AccountState struct {
	Account     string         `json:"account"`
	AccountName string         `json:"account_name"`
	Country     string         `json:"country,omitempty"`
	Products    []ProductState `json:"products"`
}

// FindFeature finds the product that has a feature with this key.
func (a AccountState) FindFeature(key string) (ProductState, Feature, bool) {
	for _, p := range a.Products {
		if f, ok := p.Feature(key); ok {
			return p, f, true
		}
	}
	return ProductState{}, Feature{}, false
}
