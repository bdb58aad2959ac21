package views

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

func TestChartAxesAndPointTitles(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 11, 6, 0, 0, 0, 0, time.UTC)
	c := ChartView{ID: "c", Title: "Usage"}
	used := SeriesView{Name: "Usage", Class: "s-usage"}
	for i := range 30 {
		c.Days = append(c.Days, day.AddDate(0, 0, i))
		used.Values = append(used.Values, int64(420*i))
	}
	c.Series = []SeriesView{used, {Name: "Pool", Values: make([]int64, 30), Reference: true}}
	p := c.plot()
	var values, dates []string
	for _, t := range p.YTicks {
		values = append(values, t.Label)
	}
	for _, t := range p.XTicks {
		dates = append(dates, t.Label)
	}
	if got := fmt.Sprint(values); got != "[0 5,000 10,000 15,000]" {
		t.Errorf("value axis %s, want grouped round steps up to the 12,180 at most", got)
	}
	if dates[0] != "6 Nov" || dates[len(dates)-1] != "5 Dec" || len(dates) > chartMaxXLabels+1 {
		t.Errorf("date axis %v", dates)
	}
	if len(p.Dots) != 30 || p.Dots[29].Title != "5 Dec 2026: Usage 12,180" {
		t.Errorf("%d points, the last titled %q", len(p.Dots), p.Dots[len(p.Dots)-1].Title)
	}
	if c.Range() != "6 Nov – 5 Dec 2026" {
		t.Errorf("range %q", c.Range())
	}
}

func TestNiceStepCountsInWholeRoundSteps(t *testing.T) {
	t.Parallel()
	for m, want := range map[int64]int64{0: 1, 3: 1, 10: 5, 7: 2, 840: 500, 50000: 20000, 12600: 5000} {
		if got := niceStep(m, chartYTicks); got != want {
			t.Errorf("niceStep(%d) = %d, want %d", m, got, want)
		}
	}
}

// ninetyDays is a chart of the insights page's longest range: 90 days of
// three series, one of them with a title that needs escaping.
func ninetyDays() ChartView {
	day := time.Date(2026, 9, 7, 0, 0, 0, 0, time.UTC)
	c := ChartView{ID: "chart-seats-dash", Title: "Dash <beta>: seats"}
	seats := SeriesView{Name: "Seats", Class: "s-purchased"}
	assigned := SeriesView{Name: "Assigned <now> & active", Class: "s-assigned"}
	active := SeriesView{Name: "Active", Class: "s-active"}
	for i := range 90 {
		c.Days = append(c.Days, day.AddDate(0, 0, i))
		seats.Values = append(seats.Values, 10000)
		assigned.Values = append(assigned.Values, int64(5000+i))
		active.Values = append(active.Values, int64(1600+3*i))
	}
	c.Series = []SeriesView{seats, assigned, active}
	return c
}

// TestAChartsPointsAndRowsAreItsNumbers reads the drawn chart as a browser
// would: a titled point per value of every series, a table row per day
// with each series' value, and the series' names escaped.
func TestAChartsPointsAndRowsAreItsNumbers(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := Chart(ninetyDays()).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	points := doc.Find(`circle[data-testid="chart-point"]`)
	if points.Length() != 270 {
		t.Fatalf("%d points, want 90 days of 3 series", points.Length())
	}
	last := points.Last()
	if got := last.Find("title").Text(); got != "5 Dec 2026: Active 1,867" {
		t.Errorf("the last point's title %q", got)
	}
	if class, _ := last.Attr("class"); class != "point s-active" {
		t.Errorf("the last point's class %q", class)
	}
	if cx, _ := last.Attr("cx"); cx != "624.0" {
		t.Errorf("the last point at x %q, want the plot's right edge", cx)
	}
	if got := points.Eq(90).Find("title").Text(); got != "7 Sep 2026: Assigned <now> & active 5,000" {
		t.Errorf("the second series' first title %q", got)
	}
	rows := doc.Find(`[data-testid="chart-row"]`)
	if rows.Length() != 90 {
		t.Fatalf("%d rows, want 90", rows.Length())
	}
	var cells []string
	rows.Last().Children().Each(func(_ int, s *goquery.Selection) { cells = append(cells, s.Text()) })
	if got := strings.Join(cells, "|"); got != "5 Dec 2026|10,000|5,089|1,867" {
		t.Errorf("the last row %q", got)
	}
	if th := rows.First().Children().First(); goquery.NodeName(th) != "th" || th.AttrOr("scope", "") != "row" {
		t.Errorf("a row starts with %s scope=%q, want its day as a row header", goquery.NodeName(th), th.AttrOr("scope", ""))
	}
}

func BenchmarkChart90Days(b *testing.B) {
	c := ninetyDays()
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := Chart(c).Render(context.Background(), &buf); err != nil {
			b.Fatal(err)
		}
	}
}
