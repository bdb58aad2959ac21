package licensing

import (
	"strconv"
	"time"
)

// Insights: the rules behind the figures the customer's and the
// vendor's insights pages show. Pure: the store gathers the facts.

// DefaultIdleDays is how long a seat may go unused before it counts as idle,
// unless the account sets its own threshold.
const DefaultIdleDays = 30

// ActiveWindow is how far back "active" looks.
const ActiveWindow = 30 * 24 * time.Hour

// LastActivity is the latest of a seat holder's last use (through the
// entitlement API) and last portal sign-in; zero if neither happened.
func LastActivity(lastUse, lastSignIn time.Time) time.Time {
	if lastUse.After(lastSignIn) {
		return lastUse
	}
	return lastSignIn
}

// IsIdle reports whether a seat is idle at now: no activity for idleDays
// whole days. A seat that was never used counts from its assignment, so a
// seat given yesterday is not idle yet. Exactly idleDays days is idle.
func IsIdle(lastUse, lastSignIn, assignedAt, now time.Time, idleDays int) bool {
	since := LastActivity(lastUse, lastSignIn)
	if since.IsZero() {
		since = assignedAt
	}
	return !since.After(IdleCutoff(now, idleDays))
}

// IdleCutoff is the latest activity that still counts as idle at now: a
// seat whose last activity (or, never used, its assignment) is at or
// before it is idle. The store counts idle seats with it in SQL.
func IdleCutoff(now time.Time, idleDays int) time.Time {
	if idleDays <= 0 {
		idleDays = DefaultIdleDays
	}
	return now.Add(-time.Duration(idleDays) * 24 * time.Hour)
}

// IsActive reports whether a seat holder was active within ActiveWindow of
// now: their last activity is after ActiveCutoff.
func IsActive(lastUse, lastSignIn, now time.Time) bool {
	since := LastActivity(lastUse, lastSignIn)
	return !since.IsZero() && since.After(ActiveCutoff(now))
}

// ActiveCutoff is the time after which activity counts as active at now.
func ActiveCutoff(now time.Time) time.Time { return now.Add(-ActiveWindow) }

// ForecastEnd is when a metered feature's forecast stops: the end of the
// subscription's billing period (the date the customer pays and decides
// on), unless the feature's count restarts before it, since usage after
// the restart counts against the next period's limit. Without a billing
// period ahead of now it is the count's own period end.
func ForecastEnd(p Period, now, billingEnd time.Time) time.Time {
	end := PeriodEnd(p, now)
	if billingEnd.After(now) && billingEnd.Before(end) {
		return billingEnd
	}
	return end
}

// Forecast projects a period's usage to its end at the rate seen so far:
// used × (whole period ÷ elapsed). Before any time has elapsed it is used.
func Forecast(used int64, start, end, now time.Time) int64 {
	total := end.Sub(start)
	elapsed := now.Sub(start)
	if elapsed <= 0 || total <= 0 || used <= 0 {
		return max(used, 0)
	}
	if elapsed >= total {
		return used
	}
	f := float64(used) * float64(total) / float64(elapsed)
	if f > float64(1<<62) {
		return 1 << 62
	}
	return int64(f + 0.5)
}

// ComplianceKind is the account's one compliance status.
type ComplianceKind string

const (
	CompliantStatus     ComplianceKind = "compliant"
	OverAllocatedStatus ComplianceKind = "over_allocated"
	PastDueStatus       ComplianceKind = "past_due"
	DriftFoundStatus    ComplianceKind = "drift_found"
)

// ComplianceFacts is what the status is decided from.
type ComplianceFacts struct {
	PastDueProducts []string // products whose subscription is past due or suspended
	OverAllocated   []string // products with more seats assigned than the pool holds
	DriftCount      int      // seat assignments that disagree with the provisioning rules
}

// Compliance is the status with its reason and where it is fixed.
type Compliance struct {
	Kind   ComplianceKind
	Reason string
	FixURL string
}

// ComplianceStatus decides the account's status: a payment problem first
// (it can end access), then over-allocation (it blocks new seats), then
// drift from the provisioning rules; otherwise compliant.
func ComplianceStatus(f ComplianceFacts) Compliance {
	switch {
	case len(f.PastDueProducts) > 0:
		return Compliance{PastDueStatus, "Payment is past due for " + joinNames(f.PastDueProducts) + ".", "/billing"}
	case len(f.OverAllocated) > 0:
		return Compliance{OverAllocatedStatus, "More seats are assigned than purchased for " + joinNames(f.OverAllocated) + ".", "/seats"}
	case f.DriftCount > 0:
		return Compliance{DriftFoundStatus, strconv.Itoa(f.DriftCount) + " seat assignments disagreed with the provisioning rules in the last 24 hours (repaired).", "/settings/provisioning"}
	}
	return Compliance{CompliantStatus, "Every product is paid for and no pool is over-allocated.", ""}
}

func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		switch {
		case i == 0:
		case i == len(names)-1:
			out += " and "
		default:
			out += ", "
		}
		out += n
	}
	return out
}
