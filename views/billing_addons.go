package views

import (
	"strings"

	"github.com/entitle-dev/entitle/licensing"
)

// AddOnView is one add-on on /billing: what it gives, its price, the units
// held, and whether the current plan may buy more.
type AddOnView struct {
	Key, Name   string
	FeatureName string
	FeatureKind licensing.FeatureKind
	Period      licensing.Period
	Quantity    int64 // per unit; 0: switches the feature on
	Price       Money // per unit and interval
	Interval    string
	Units       int
	MaxUnits    int
	// Offered: the plan may buy it; Available: the account's country may
	// have its feature; Retired: no longer sold, listed while held.
	Offered, Available, Retired bool
}

// AddOnConfirmView is what the buyer reads before confirming an add-on
// bought, changed or removed.
type AddOnConfirmView struct {
	Key, Name   string
	FeatureName string
	From, To    int
	Charge      string // more units: charged now
	LimitNow    string // the feature's limit now and after ("" when not counted)
	LimitAfter  string
	CSRF        string
}

// addOnGives reads "+10,000 API calls a month per unit" or "CSV and PDF
// exports".
func addOnGives(a AddOnView) string {
	if a.Quantity == 0 {
		return a.FeatureName
	}
	s := "+" + formatCount(a.Quantity) + " " + a.FeatureName
	if a.FeatureKind == licensing.Metered && a.Period != "" {
		s += " a " + string(a.Period)
	}
	if a.MaxUnits > 1 {
		s += " per unit"
	}
	return s
}

func addOnPrice(a AddOnView) string {
	s := a.Price.String() + " / " + a.Interval
	if a.MaxUnits > 1 {
		s += " per unit"
	}
	return s
}

// addOnTitle names the change: add, change units, remove.
func addOnTitle(c AddOnConfirmView) string {
	switch {
	case c.To == 0:
		return "Remove " + c.Name
	case c.From == 0 && c.To == 1:
		return "Add " + c.Name
	case c.From == 0:
		return "Add " + itoa(c.To) + " × " + c.Name
	}
	return "Change " + c.Name + " from " + itoa(c.From) + " to " + itoa(c.To) + " " + plural(c.To, "unit", "units")
}

// canChangeAddOns: add-ons change on an active subscription, by a buyer.
func canChangeAddOns(v BillingView) bool {
	return v.CanBuy && v.Status == string(licensing.Active) && !v.ChangesLocked && !v.CancelAtPeriodEnd
}

// addOnsLocked says why a buyer cannot change add-ons now, in the place
// of the controls ("" when they can, or when the reader may only look).
func addOnsLocked(v BillingView) string {
	switch {
	case !v.CanBuy:
		return ""
	case v.Status == string(licensing.Canceled):
		return "The subscription has ended."
	case v.CancelAtPeriodEnd:
		return "The subscription ends on " + v.PeriodEnd + ": resume it to change add-ons."
	case v.Status == string(licensing.Trialing):
		return "Add-ons can be bought once the trial is converted to a paid subscription (Convert now, above)."
	case v.ChangesLocked:
		return "Add-ons change again once the invoice due is paid."
	}
	return ""
}

// limitSource says where a raised limit comes from: "50,000 plan +
// 20,000 from Extra API calls (2 units)", or that an add-on switches the
// feature on.
func limitSource(f licensing.FeatureDecision) string {
	if len(f.AddOns) == 0 {
		return ""
	}
	var parts []string
	if f.PlanLimit != nil {
		parts = append(parts, formatCount(*f.PlanLimit)+" plan")
	}
	for _, a := range f.AddOns {
		units := ""
		if a.Units > 1 {
			units = " (" + itoa(a.Units) + " units)"
		}
		if a.Extra == 0 {
			parts = append(parts, "from add-on "+a.Name+units)
			continue
		}
		parts = append(parts, formatCount(a.Extra)+" from "+a.Name+units)
	}
	return strings.Join(parts, " + ")
}

// FormatCount writes a count as the portal shows counts ("12,600"), for
// handlers that pass a count into a confirmation.
func FormatCount(n int64) string { return formatCount(n) }

// heldText reads "Held" or "3 held".
func heldText(a AddOnView) string {
	if a.MaxUnits == 1 {
		return "Held"
	}
	return itoa(a.Units) + " held"
}
