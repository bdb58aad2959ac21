package licensing

// FeatureChangeKind says what moving to another plan does to one feature.
type FeatureChangeKind string

const (
	FeatureLost   FeatureChangeKind = "lost"       // on now, off after
	FeatureGained FeatureChangeKind = "gained"     // off now, on after
	LimitDown     FeatureChangeKind = "limit_down" // a smaller limit after (unlimited → a number counts)
	LimitUp       FeatureChangeKind = "limit_up"   // a larger limit after (a number → unlimited counts)
)

// FeatureChange is one feature whose value differs between two plans.
type FeatureChange struct {
	Feature Feature
	Kind    FeatureChangeKind
	From    PlanValue
	To      PlanValue
}

// Loses reports whether the change takes something away from the buyer.
func (c FeatureChange) Loses() bool { return c.Kind == FeatureLost || c.Kind == LimitDown }

// DiffPlans lists, in feature order, every feature whose value differs
// between the plan values from and to (a feature missing from a map is not
// in that plan). The billing page shows the losing ones before a downgrade
// is confirmed, so the buyer sees exactly what will switch off or shrink.
func DiffPlans(features []Feature, from, to map[string]PlanValue) []FeatureChange {
	var out []FeatureChange
	for _, f := range features {
		a, b := from[f.Key], to[f.Key]
		c := FeatureChange{Feature: f, From: a, To: b}
		switch {
		case a.Enabled && !b.Enabled:
			c.Kind = FeatureLost
		case !a.Enabled && b.Enabled:
			c.Kind = FeatureGained
		case !a.Enabled || f.Kind == Boolean:
			continue
		case limitLess(b.Limit, a.Limit):
			c.Kind = LimitDown
		case limitLess(a.Limit, b.Limit):
			c.Kind = LimitUp
		default:
			continue
		}
		out = append(out, c)
	}
	return out
}

// limitLess reports x < y where nil means unlimited.
func limitLess(x, y *int64) bool {
	switch {
	case x == nil:
		return false
	case y == nil:
		return true
	}
	return *x < *y
}

// SeatsToFree is how many assigned seats exceed a new purchased count.
func SeatsToFree(assigned, newSeats int) int { return max(assigned-newSeats, 0) }
