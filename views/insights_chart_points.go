package views

import (
	"context"
	"io"

	"github.com/a-h/templ"
)

// A 90-day chart has 270 points and 90 table rows: over a thousand values.
// templ formats each expression with fmt and each class list through its
// CSS class builder, which made the points and the rows most of the
// insights page's time; these two write the same markup directly, every
// text escaped as templ escapes it.

// chartPoints draws each point as a circle titled with its day and value.
func chartPoints(dots []chartDot) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		b := make([]byte, 0, len(dots)*128)
		for _, d := range dots {
			b = append(b, `<circle cx="`...)
			b = append(b, templ.EscapeString(d.X)...)
			b = append(b, `" cy="`...)
			b = append(b, templ.EscapeString(d.Y)...)
			b = append(b, `" r="3" class="point `...)
			b = append(b, templ.EscapeString(d.Class)...)
			b = append(b, `" data-testid="chart-point"><title>`...)
			b = append(b, templ.EscapeString(d.Title)...)
			b = append(b, `</title></circle>`...)
		}
		_, err := w.Write(b)
		return err
	})
}

// chartRows lists the chart's numbers: a row per day (days: their labels,
// as plot made them), a cell per series.
func chartRows(c ChartView, days []string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		b := make([]byte, 0, len(days)*(48+24*len(c.Series)))
		for i, day := range days {
			b = append(b, `<tr data-testid="chart-row"><th scope="row">`...)
			b = append(b, templ.EscapeString(day)...)
			b = append(b, `</th>`...)
			for _, s := range c.Series {
				b = append(b, `<td>`...)
				b = append(b, templ.EscapeString(s.Value(i))...)
				b = append(b, `</td>`...)
			}
			b = append(b, `</tr>`...)
		}
		_, err := w.Write(b)
		return err
	})
}
