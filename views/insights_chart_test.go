package views

import (
	"fmt"
	"testing"
	"time"
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
