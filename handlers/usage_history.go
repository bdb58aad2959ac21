package handlers

import (
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/views"
)

// usagePeriodsShown is how many periods of each metered feature the
// overview lists.
const usagePeriodsShown = 6

// usageHistory is the overview's "usage per period" table.
func (h *Handler) usageHistory(c echo.Context, accountID int64) ([]views.UsagePeriodRow, error) {
	rows, err := h.Store.UsageHistory(c.Request().Context(), accountID, usagePeriodsShown)
	if err != nil {
		return nil, err
	}
	now := h.Clock.Now()
	out := make([]views.UsagePeriodRow, 0, len(rows))
	for _, r := range rows {
		p := licensing.Period(r.Period)
		out = append(out, views.UsagePeriodRow{Feature: r.Feature, FeatureName: r.FeatureName, Period: periodLabel(p, r.Start),
			Used: formatCount(r.Used), Current: r.Start.Equal(licensing.PeriodStart(p, now))})
	}
	return out, nil
}

func periodLabel(p licensing.Period, start time.Time) string {
	switch p {
	case licensing.Daily:
		return start.Format("2 Jan 2006")
	case licensing.Yearly:
		return start.Format("2006")
	}
	return start.Format("January 2006")
}

// formatCount writes 12345 as "12,345" (usage is never negative).
func formatCount(n int64) string {
	digits := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}
