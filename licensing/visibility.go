package licensing

// Visibility says who may be offered a plan.
type Visibility string

const (
	// Public plans are offered to everyone (the default).
	Public Visibility = "public"
	// Pilot plans are offered only to the accounts an operator listed; to
	// everyone else they do not exist, on every page and every form.
	Pilot Visibility = "pilot"
	// Retired plans take no new subscribers; those on them keep them.
	Retired Visibility = "retired"
)

// PlanOffer is what deciding whether to offer a plan to an account reads.
type PlanOffer struct {
	Visibility Visibility
	Listed     bool // the account is on the plan's pilot list
	Current    bool // the account is on the plan now
}

// Visible reports whether the account sees the plan at all: public plans,
// pilots it is listed for, and whatever plan it is on now.
func (o PlanOffer) Visible() bool {
	return o.Current || o.Buyable()
}

// Buyable reports whether the account may move onto the plan: public ones
// and pilots it is listed for. A retired plan is sold to nobody.
func (o PlanOffer) Buyable() bool {
	switch o.Visibility {
	case Public, "":
		return true
	case Pilot:
		return o.Listed
	}
	return false
}
