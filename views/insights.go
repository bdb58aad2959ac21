package views

import (
	"strconv"
	"time"
)

// Insights: the customer's insights page and the vendor's view.

// InsightsView is the customer's insights page.
type InsightsView struct {
	Days       int // the trend window: 7, 30 or 90
	CanReclaim bool
	Live       InsightsLive
	Charts     []ChartView // the trend charts, sent apart from the live figures
	IdleDays   int
	AutoDays   int // 0: off
	Preview    *ReclaimView
}

// InsightsLive is the part of the page that live updates replace whole.
type InsightsLive struct {
	Status       string // compliant, over_allocated, past_due, drift_found
	StatusReason string
	StatusFixURL string
	UpdatedAt    string
	Products     []ProductInsightView
	IdleDays     int
}

// ProductInsightView is one product's figures.
type ProductInsightView struct {
	SubscriptionID int64
	Key, Name      string
	Status         string
	SeatBased      bool
	Purchased      int // bought; Granted adds the vendor's extra seats (as /seats shows them)
	Granted        int
	Assigned       int
	Active         int
	Idle           []IdleSeatView // the first of them
	IdleTotal      int
	Waiting        int
	Over           int
	Metered        []MeteredView
}

// IdleSeatView is a seat holder with no use for the account's idle days.
type IdleSeatView struct {
	MembershipID int64
	Email, Name  string
	LastActivity string
}

// MeteredView is one feature's usage against its limit.
type MeteredView struct {
	Name     string
	Used     int64
	Limit    *int64 // nil: unlimited
	Forecast int64
	Over     bool // the forecast passes the limit
	// PeriodEnd is the last day the forecast runs to (the billing period's
	// end, or the count's when it restarts first); zero for limits.
	PeriodEnd time.Time
}

// ReclaimView is the preview (or result) of a reclaim.
type ReclaimView struct {
	SubscriptionID int64
	ProductName    string
	Done           bool
	Rows           []ReclaimRowView
	Reclaimable    []int64
}

// ReclaimRowView is one holder's answer.
type ReclaimRowView struct {
	Email, LastActivity, Outcome string
}

func complianceLabel(status string) string {
	switch status {
	case "compliant":
		return "Compliant"
	case "over_allocated":
		return "Over-allocated"
	case "past_due":
		return "Past due"
	case "drift_found":
		return "Drift found"
	}
	return status
}

// reclaimOutcome is a holder's outcome: what would happen in a preview,
// what happened once confirmed.
func reclaimOutcome(o string, done bool) string {
	switch o {
	case "reclaimed":
		if !done {
			return "Would be reclaimed"
		}
		return "Reclaimed"
	case "not_idle":
		return "Not idle: keeps the seat"
	case "not_held":
		return "Holds no seat"
	}
	return o
}

// reclaimRule says what the idle form reclaims: the holders ticked, or
// with none ticked every idle seat of the product (store.ReclaimIdleSeats
// takes every holder of the pool that is idle), listed or not.
func reclaimRule(p ProductInsightView) string {
	all := "the " + formatCount(int64(p.IdleTotal)) + " listed"
	if more := p.IdleTotal - len(p.Idle); more > 0 {
		all = "all " + formatCount(int64(p.IdleTotal)) + ", including the " + formatCount(int64(more)) + " not listed"
	}
	return "Tick the people whose seats to reclaim, or tick none to reclaim every idle seat of " + p.Name +
		" (" + all + "). Nothing is reclaimed until you confirm."
}

// reclaimCardID and reclaimResultID name a product's ReclaimCard and the
// place under its button where a preview or result goes.
func reclaimCardID(subID int64) string   { return "reclaim-" + itoa64(subID) }
func reclaimResultID(subID int64) string { return "reclaim-result-" + itoa64(subID) }

// previewOf is the preview if it is of p's pool.
func previewOf(v *ReclaimView, p ProductInsightView) *ReclaimView {
	if v != nil && v.SubscriptionID == p.SubscriptionID {
		return v
	}
	return nil
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// FormatActivity is a last activity (licensing.LastActivity: the latest
// sign-in or seat use) as every page shows it: a date, or "Never".
func FormatActivity(t time.Time) string {
	if t.IsZero() {
		return "Never"
	}
	return t.UTC().Format("2 Jan 2006")
}

// VendorInsightsView is the console's view across all accounts.
type VendorInsightsView struct {
	Sold, Assigned, Active int
	Waste                  []VendorAccountRow // ranked by idle seats
	OverAllocated          []VendorAccountRow
	TrialsEnding           []VendorAccountRow
	PastDue                []VendorAccountRow
	DriftRepairs           int
	FailedEvents           int
}

// VendorAccountRow is one account in a vendor list.
type VendorAccountRow struct {
	Slug, Name, Detail string
	Number             int
}
