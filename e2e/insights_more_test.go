package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// grouped is a count as the pages write it: "12,600".
var grouped = regexp.MustCompile(`^\d{1,3}(,\d{3})*$`)

// chartTexts reads texts of a chart's elements in one step in the page.
func (s *session) chartTexts(chart, sel string) []string {
	s.t.Helper()
	return get(s, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-chart="`+chart+`"] `+sel+`')].map(e => e.textContent.trim())`))
}

// TestInsightsChartsHaveAxesAndTheirNumbers: the owner opens Insights, on
// a desktop and on a phone; each chart has dates and values on its axes, a
// title on every point, and beside it a table whose last day is the live
// figures the tiles show.
func TestInsightsChartsHaveAxesAndTheirNumbers(t *testing.T) {
	t.Parallel()
	atBothWidths(t, func(t *testing.T, width int64) {
		s := newSessionAt(t, width)
		s.signIn("owner@globex.test")
		s.run(chromedp.Navigate(s.base+"/insights"), waitVisible(`[data-chart="chart-seats-analytics"] svg[role="img"] polyline`))
		if got := s.textOf("insights-range"); got != "Last 30 days" {
			t.Errorf("the range marked is %q", got)
		}
		if got := get(s, attributeOf(tid("insights-range"), "aria-current")); got != "true" {
			t.Errorf("the chosen range is not marked for screen readers: aria-current %q", got)
		}

		const seats = "chart-seats-analytics"
		rows := s.chartTexts(seats, `[data-testid="chart-row"]:last-child > *`)
		tiles := []string{s.textOf("insight-purchased"), s.textOf("insight-assigned"), s.textOf("insight-active")}
		if len(rows) != 4 || rows[1] != tiles[0] || rows[2] != tiles[1] || rows[3] != tiles[2] {
			t.Errorf("the table's last day %v, the tiles (purchased, assigned, active) %v", rows, tiles)
		}
		if n := len(s.chartTexts(seats, `[data-testid="chart-row"]`)); n != 30 {
			t.Errorf("the seats table lists %d days, want 30", n)
		}
		// Values up the side, dates along the bottom: the last date is
		// the table's last day.
		values := s.chartTexts(seats, `[data-testid="chart-y-axis"] text`)
		if len(values) < 2 || values[0] != "0" {
			t.Errorf("value axis %v", values)
		}
		dates := s.chartTexts(seats, `[data-testid="chart-x-axis"] text`)
		if len(dates) < 2 || !strings.HasPrefix(rows[0], dates[len(dates)-1]+" ") {
			t.Errorf("date axis %v ends elsewhere than the table's last day %q", dates, rows[0])
		}
		// Hovering a point shows its date and value.
		titles := s.chartTexts(seats, `circle.s-assigned title`)
		if want := rows[0] + ": Assigned " + tiles[1]; len(titles) != 30 || titles[29] != want {
			t.Errorf("the last assigned point's title is %q, want %q", titles[len(titles)-1], want)
		}

		// The usage chart: grouped numbers on the axis and in the table.
		const usage = "chart-usage-analytics"
		for _, v := range append(s.chartTexts(usage, `[data-testid="chart-y-axis"] text`), s.chartTexts(usage, `[data-testid="chart-row"] td`)...) {
			if !grouped.MatchString(v) {
				t.Errorf("usage figure %q is not a grouped count", v)
				break
			}
		}
		if got := s.textOf("metered-used"); got != "4,200" {
			t.Errorf("API calls used %q", got)
		}
		// Floating licences: peak per day against the pool of 3.
		pool := s.chartTexts("chart-lease-desktop_floating", `[data-testid="chart-row"]:last-child > *`)
		if len(pool) != 4 || pool[3] != "3" {
			t.Errorf("the floating licence table's last day %v, want the pool of 3 beside it", pool)
		}
		s.screenshot("charts")
	})
}
