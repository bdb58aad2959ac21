package views

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ChartView is one trend chart: series over days, drawn as SVG with its
// axes and listed beside it in a table with the same numbers.
type ChartView struct {
	ID, Title string
	Days      []time.Time // UTC days, oldest first
	Series    []SeriesView
	Note      string // a sentence under the title, optional
}

// SeriesView is one line of a chart.
type SeriesView struct {
	Name, Class string
	Values      []int64
	Reference   bool // a level to compare with (a pool's size): drawn dashed, without points
}

// Chart geometry, in viewBox units: the plot sits inside the margins that
// hold the value labels (left) and the date labels (below).
const (
	chartW, chartH               = 640, 240
	chartLeft, chartRight        = 72, 16
	chartTop, chartBottom        = 12, 40
	chartPlotW, chartPlotH       = chartW - chartLeft - chartRight, chartH - chartTop - chartBottom
	chartYTicks, chartMaxXLabels = 4, 6
)

// chartPlot is a chart ready to draw: every coordinate and label computed.
type chartPlot struct {
	YTicks []chartTick
	XTicks []chartTick
	Lines  []chartLine
	Dots   []chartDot
	Days   []string // each day's label, for the points' titles and the table's rows
}

type chartTick struct {
	X, Y, Label, Anchor string
	Minor               bool // a date label that narrow screens leave out
}

type chartLine struct {
	Class, Points string
	Reference     bool
}

type chartDot struct {
	X, Y, Class, Title string
}

// top is the value axis' upper end: a round number at or above every value,
// with the step between its ticks.
func (c ChartView) top() (top, step int64) {
	var m int64
	for _, s := range c.Series {
		for _, v := range s.Values {
			m = max(m, v)
		}
	}
	step = niceStep(m, chartYTicks)
	return max(step*int64(math.Ceil(float64(m)/float64(step))), step), step
}

// niceStep is the smallest step of 1, 2 or 5 times a power of ten that
// reaches m in at most n steps (at least 1: the values are counts).
func niceStep(m int64, n int) int64 {
	if m <= int64(n) {
		return 1
	}
	rough := float64(m) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(rough)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*mag >= rough {
			return int64(f * mag)
		}
	}
	return int64(10 * mag)
}

func (c ChartView) x(i int) float64 {
	if len(c.Days) <= 1 {
		return chartLeft + chartPlotW/2
	}
	return chartLeft + float64(i)*chartPlotW/float64(len(c.Days)-1)
}

func chartY(v, top int64) float64 {
	return chartTop + chartPlotH - float64(v)*chartPlotH/float64(top)
}

func coord(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// plot lays the chart out.
func (c ChartView) plot() chartPlot {
	var p chartPlot
	top, step := c.top()
	for v := int64(0); v <= top; v += step {
		p.YTicks = append(p.YTicks, chartTick{X: coord(chartLeft - 6), Y: coord(chartY(v, top)), Label: formatCount(v), Anchor: "end"})
	}
	n := len(c.Days)
	every := max(1, int(math.Ceil(float64(n)/float64(chartMaxXLabels))))
	for i := 0; i < n; i += every {
		if i > 0 && n-1-i < every/2 {
			break // too close to the last day's label
		}
		p.XTicks = append(p.XTicks, c.xTick(i))
	}
	if n > 1 {
		p.XTicks = append(p.XTicks, c.xTick(n-1))
	}
	// On a phone only the first, the middle and the last date fit.
	for i := 1; i < len(p.XTicks)-1; i++ {
		p.XTicks[i].Minor = i != len(p.XTicks)/2
	}
	p.Days = make([]string, n)
	for i, d := range c.Days {
		p.Days[i] = chartDayLabel(d)
	}
	for _, s := range c.Series {
		var pts strings.Builder
		for i, v := range s.Values {
			if i >= n {
				break
			}
			x, y := coord(c.x(i)), coord(chartY(v, top))
			pts.WriteString(x)
			pts.WriteByte(',')
			pts.WriteString(y)
			pts.WriteByte(' ')
			if !s.Reference {
				p.Dots = append(p.Dots, chartDot{X: x, Y: y, Class: s.Class,
					Title: p.Days[i] + ": " + s.Name + " " + formatCount(v)})
			}
		}
		p.Lines = append(p.Lines, chartLine{Class: s.Class, Points: strings.TrimSpace(pts.String()), Reference: s.Reference})
	}
	return p
}

func (c ChartView) xTick(i int) chartTick {
	anchor := "middle"
	switch {
	case len(c.Days) == 1:
	case i == 0:
		anchor = "start"
	case i == len(c.Days)-1:
		anchor = "end"
	}
	return chartTick{X: coord(c.x(i)), Y: coord(chartTop + chartPlotH + 20), Label: c.Days[i].UTC().Format("2 Jan"), Anchor: anchor}
}

// chartDayLabel is a day as the points' titles and the table show it.
func chartDayLabel(t time.Time) string { return t.UTC().Format("2 Jan 2006") }

// Range is the chart's days as words: "6 Nov – 5 Dec 2026".
func (c ChartView) Range() string {
	if len(c.Days) == 0 {
		return "no days yet"
	}
	first, last := c.Days[0].UTC(), c.Days[len(c.Days)-1].UTC()
	switch {
	case first.Equal(last):
		return chartDayLabel(last)
	case first.Year() == last.Year():
		return first.Format("2 Jan") + " – " + chartDayLabel(last)
	}
	return chartDayLabel(first) + " – " + chartDayLabel(last)
}

// Value is a series' value on day i, grouped ("12,600").
func (s SeriesView) Value(i int) string {
	if i < len(s.Values) {
		return formatCount(s.Values[i])
	}
	return ""
}

func chartViewBox() string { return fmt.Sprintf("0 0 %d %d", chartW, chartH) }

// chartFrame is the plot's axes: the value axis and the date axis.
func chartFrame() (left, top, bottom, right string) {
	return coord(chartLeft), coord(chartTop), coord(chartTop + chartPlotH), coord(chartLeft + chartPlotW)
}

// Summary is the chart's text alternative: its range and the last day.
func (c ChartView) Summary() string {
	if len(c.Days) == 0 {
		return c.Title + ": no history yet"
	}
	parts := make([]string, 0, len(c.Series))
	for _, s := range c.Series {
		parts = append(parts, s.Name+" "+s.Value(len(s.Values)-1))
	}
	return fmt.Sprintf("%s, %s; on %s: %s", c.Title, c.Range(), chartDayLabel(c.Days[len(c.Days)-1]), strings.Join(parts, ", "))
}
