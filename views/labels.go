package views

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/entitle-dev/entitle/licensing"
)

func statusTitle(status int) string {
	if status == http.StatusNotFound {
		return "Not found"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Error"
}

// StatusLabel is a subscription's (or an invoice's, a delivery's) state in
// words, for text handlers compose: "past_due" reads "Past due".
func StatusLabel(status string) string { return statusLabel(status) }

func statusLabel(status string) string {
	switch status {
	case "trialing":
		return "Trial"
	case "active":
		return "Active"
	case "past_due":
		return "Past due"
	case "suspended":
		return "Suspended"
	case "canceled":
		return "Canceled"
	case "":
		return ""
	}
	// Any other state (an invoice's, a delivery's) in words: "payment_failed"
	// reads "Payment failed".
	words := strings.ReplaceAll(status, "_", " ")
	return strings.ToUpper(words[:1]) + words[1:]
}

var reasonLabels = map[licensing.Reason]string{
	licensing.ReasonOK:           "Included",
	licensing.ReasonNotInPlan:    "Not in your plan",
	licensing.ReasonNoSeat:       "Needs a seat",
	licensing.ReasonLimitReached: "Limit reached",
	licensing.ReasonTrialExpired: "Trial expired",
	licensing.ReasonPastDueGrace: "payment past due, grace period",
	licensing.ReasonSuspended:    "Suspended",
	licensing.ReasonCanceled:     "Canceled",
	// Not offered for sale either: billing refuses what a region cannot have.
	licensing.ReasonRegionRestricted: "Not available in your region",
}

func reasonLabel(r licensing.Reason) string {
	if l, ok := reasonLabels[r]; ok {
		return l
	}
	return string(r)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func limitText(f licensing.FeatureDecision) string {
	if f.Feature.Kind == licensing.Boolean {
		return "—"
	}
	if f.Decision.Limit == nil {
		if f.Decision.HasAccess || f.Decision.Used > 0 {
			return "Unlimited"
		}
		return "—"
	}
	return formatCount(*f.Decision.Limit)
}

func usedText(f licensing.FeatureDecision) string {
	if f.Feature.Kind == licensing.Boolean {
		return "—"
	}
	return formatCount(f.Decision.Used)
}

func remainingText(f licensing.FeatureDecision) string {
	if f.Feature.Kind == licensing.Boolean || f.Decision.Remaining == nil {
		return "—"
	}
	return formatCount(*f.Decision.Remaining)
}

func grantUntil(t time.Time) string {
	if t.IsZero() {
		return "with no end date"
	}
	return "until " + formatDate(t)
}

// formatCount writes 12345 as "12,345".
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

// whoCan names the roles the permission matrix lets take action, for the
// sentence that tells a person who cannot who can: "the Owner or Billing
// role".
func whoCan(action licensing.Action) string {
	var names []string
	for _, r := range licensing.Roles {
		if licensing.Can(r, action) {
			names = append(names, roleLabel(string(r)))
		}
	}
	switch len(names) {
	case 0:
		return "no role"
	case 1:
		return "the " + names[0] + " role"
	}
	return "the " + strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1] + " role"
}
