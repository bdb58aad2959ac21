package views

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/entitle-dev/entitle/licensing"
)

// BillingView is the /billing page's view model.
type BillingView struct {
	AccountName       string
	ProductName       string
	CanBuy            bool // owner and billing roles; admins only look
	Simulated         bool // the local billing simulator, not Stripe
	HasSubscription   bool
	PlanKey           string
	PlanName          string
	Status            string // effective status
	SeatBased         bool
	Seats             int
	SeatsAssigned     int
	PeriodEnd         string
	TrialDaysLeft     int // -1 when not trialing
	CancelAtPeriodEnd bool
	CanCancel         bool // the subscription may be set to end (not a free plan, not ending already)
	ScheduledPlanName string
	ScheduledSeats    int // 0: none
	Pending           bool
	Since             int64
	Parked            bool // an event failed to apply: the change is stuck until an operator acts
	Features          []licensing.Feature
	Plans             []BillingPlanView
	ChangeConfirm     *ChangeConfirmView
	SeatConfirm       *SeatConfirmView
	ConvertConfirm    *ConvertConfirmView
	AddOns            []AddOnView
	AddOnsMonthly     Money // what the add-ons held cost a month, within Statement.Monthly
	AddOnConfirm      *AddOnConfirmView
	CSRF              string
	// The money: what the account pays, owes and will be charged.
	Statement        StatementView
	ScheduledMonthly Money     // what the change waiting for period end will cost a month
	TrialEnds        time.Time // trialing: when the trial ends
	// ChangesLocked: past due or suspended, plan and seat changes wait
	// until the open invoice is paid; trialing, until the trial converts;
	// ending at period end, until it is resumed.
	ChangesLocked bool
	// Done names the change just applied (upgrade, seats, convert, pay…),
	// confirmed in words once its events have landed.
	Done string
}

// BillingPlanView is one column of the plan comparison.
type BillingPlanView struct {
	Key, Name string
	Price     string // per seat or per month
	SeatBased bool
	TrialDays int
	Current   bool
	Values    map[string]licensing.PlanValue
	Action    string // upgrade, downgrade, subscribe, or "" (current or not buyable)
	CanTrial  bool
	Pilot     bool // offered to this account as a pilot
	Retired   bool // the account's plan, no longer sold
	// RegionRestricted: the account's country may not have the plan, so it
	// is shown as "Not available in your region" instead of offered.
	RegionRestricted bool
}

// ChangeConfirmView is what the buyer reads before confirming a plan change.
type ChangeConfirmView struct {
	PlanKey, PlanName string
	Direction         string // upgrade, downgrade, trial, subscribe
	Charge            string // upgrades: charged now
	EffectiveAt       string // downgrades
	TrialDays         int
	FallbackPlanName  string
	Changes           []licensing.FeatureChange
	SeatsToFree       int
	Holders           []SeatHolderView
	CSRF              string
	Waitlisted        []SeatHolderView // provisioning: rule seats that move to the waiting list
	// PromotionCode is what the buyer typed (kept on a refusal); Discount
	// is the accepted code's effect; Problems holds the field's message.
	PromotionCode string
	Discount      *DiscountView
	Problems      map[string]string
	// Free: the plan costs nothing, so no code can apply; the code box is
	// shown only to answer a code that was typed anyway.
	Free bool
}

// DiscountView is a promotion code's effect on the amount it reaches.
type DiscountView struct {
	Code     string
	Terms    string // "20% off for 3 months"
	Subtotal Money  // before the discount
	Amount   Money  // taken off
	Total    Money
	// For names what the amount is: "amount charged now", "first month", "month from 5 Jan 2027".
	For string
}

// Off is the discount as a negative amount: "-$5.80".
func (d DiscountView) Off() string { return FormatMoney(-d.Amount.Amount, d.Amount.Currency) }

// TakesPromotion tells whether a code may be typed for this change (not
// for a trial, which costs nothing).
func (c ChangeConfirmView) TakesPromotion() bool {
	return c.Direction != "trial" && (!c.Free || c.PromotionCode != "")
}

// SeatConfirmView is what the buyer reads before changing the seat count.
type SeatConfirmView struct {
	From, To    int
	Charge      string
	EffectiveAt string
	SeatsToFree int
	Holders     []SeatHolderView
	CSRF        string
	Waitlisted  []SeatHolderView // provisioning: rule seats that move to the waiting list
}

// Lost lists the changes that take something away.
func (c ChangeConfirmView) Lost() []licensing.FeatureChange {
	var out []licensing.FeatureChange
	for _, ch := range c.Changes {
		if ch.Loses() {
			out = append(out, ch)
		}
	}
	return out
}

// Gained lists the changes that add something.
func (c ChangeConfirmView) Gained() []licensing.FeatureChange {
	var out []licensing.FeatureChange
	for _, ch := range c.Changes {
		if !ch.Loses() {
			out = append(out, ch)
		}
	}
	return out
}

// FormatMoney writes minor units as "$12.00" (other currencies by code).
func FormatMoney(amount int64, currency string) string {
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	major := formatCount(amount / 100)
	cents := fmt.Sprintf("%02d", amount%100)
	if strings.EqualFold(currency, "usd") || currency == "" {
		return sign + "$" + major + "." + cents
	}
	return sign + major + "." + cents + " " + strings.ToUpper(currency)
}

func planValueText(f licensing.Feature, v licensing.PlanValue) string {
	switch {
	case !v.Enabled:
		return "—"
	case f.Kind == licensing.Boolean:
		return "✓"
	case v.Limit == nil:
		return "Unlimited"
	}
	return formatCount(*v.Limit)
}

func changeText(c licensing.FeatureChange) string {
	switch c.Kind {
	case licensing.FeatureLost:
		return "switches off"
	case licensing.FeatureGained:
		return "switches on"
	}
	return planValueText(c.Feature, c.From) + " → " + planValueText(c.Feature, c.To)
}

func itoa(n int) string { return strconv.Itoa(n) }

func since(n int64) string { return strconv.FormatInt(n, 10) }

func directionTitle(c ChangeConfirmView) string {
	switch c.Direction {
	case "upgrade":
		return "Upgrade to " + c.PlanName
	case "downgrade":
		return "Downgrade to " + c.PlanName
	case "trial":
		return "Start a " + strconv.Itoa(c.TrialDays) + "-day trial of " + c.PlanName
	}
	return "Subscribe to " + c.PlanName
}

// cancelQuestion is what Cancel at period end asks before it is sent.
func cancelQuestion(v BillingView) string {
	return "Cancel " + v.PlanName + "? It ends on " + v.PeriodEnd + ": seats are released then and your data is kept. You can resume until then."
}

func boolText(b bool) string { return strconv.FormatBool(b) }

func actionLabel(action string) string {
	switch action {
	case "upgrade":
		return "Upgrade"
	case "downgrade":
		return "Downgrade"
	}
	return "Subscribe"
}

func confirmPath(direction string) string {
	if direction == "trial" {
		return "/billing/trial"
	}
	return "/billing/change"
}
