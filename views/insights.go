package views

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Insights (issue #9): the customer's insights page and the vendor's view.

// InsightsView is the customer's insights page.
type InsightsView struct {
	Days       int // the trend window: 7, 30 or 90
	CanReclaim bool
	Live       InsightsLive
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
	Charts       []ChartView
	CanReclaim   bool
	CSRF         string
	IdleDays     int
}

// ProductInsightView is one product's figures.
type ProductInsightView struct {
	SubscriptionID int64
	Key, Name      string
	Status         string
	SeatBased      bool
	Purchased      int
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
	Name      string
	Used      int64
	Limit     string // "unlimited" when none
	Forecast  int64
	Over      bool // the forecast passes the limit
	PeriodEnd string
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

// ChartView is one trend chart: series over days, drawn as SVG and listed
// in a table with the same numbers.
type ChartView struct {
	ID, Title string
	Days      []string
	Series    []SeriesView
	Max       int64
}

// SeriesView is one line of a chart.
type SeriesView struct {
	Name, Class string
	Values      []int64
}

// Chart geometry (viewBox units).
const (
	chartW, chartH = 600, 200
	chartPad       = 30
)

// Points is the series as an SVG polyline's points.
func (c ChartView) Points(s SeriesView) string {
	if len(s.Values) == 0 {
		return ""
	}
	var b strings.Builder
	maxV := max(c.Max, 1)
	n := len(s.Values)
	for i, v := range s.Values {
		x := float64(chartPad)
		if n > 1 {
			x += float64(i) * float64(chartW-2*chartPad) / float64(n-1)
		}
		y := float64(chartH-chartPad) - float64(v)*float64(chartH-2*chartPad)/float64(maxV)
		fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
	}
	return strings.TrimSpace(b.String())
}

// Value is a series' value on day i, as text.
func (s SeriesView) Value(i int) string {
	if i < len(s.Values) {
		return strconv.FormatInt(s.Values[i], 10)
	}
	return ""
}

func chartViewBox() string { return fmt.Sprintf("0 0 %d %d", chartW, chartH) }

func chartAxis() (x1, y1, x2, y2 string) {
	return strconv.Itoa(chartPad), strconv.Itoa(chartH - chartPad), strconv.Itoa(chartW - chartPad), strconv.Itoa(chartH - chartPad)
}

func chartMaxLabel(c ChartView) string { return strconv.FormatInt(c.Max, 10) }

// ChartSummary is the chart's text alternative.
func (c ChartView) Summary() string {
	if len(c.Days) == 0 {
		return c.Title + ": no history yet"
	}
	parts := make([]string, 0, len(c.Series))
	for _, s := range c.Series {
		parts = append(parts, s.Name+" "+s.Value(len(s.Values)-1))
	}
	return fmt.Sprintf("%s from %s to %s; on the last day %s", c.Title, c.Days[0], c.Days[len(c.Days)-1], strings.Join(parts, ", "))
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

func reclaimOutcome(o string) string {
	switch o {
	case "reclaimed":
		return "Reclaimed"
	case "not_idle":
		return "Not idle: keeps the seat"
	case "not_held":
		return "Holds no seat"
	}
	return o
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// FormatActivity is a last activity for people: a date, or "never".
func FormatActivity(t time.Time) string {
	if t.IsZero() {
		return "never"
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
