package handlers

import (
	"time"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// insightsLiveView turns the store's figures into the live fragment's view
// model.
func insightsLiveView(in store.AccountInsights) views.InsightsLive {
	v := views.InsightsLive{Status: string(in.Compliance.Kind), StatusReason: in.Compliance.Reason,
		StatusFixURL: in.Compliance.FixURL, UpdatedAt: in.At.Format("2 Jan 2006 15:04:05 UTC"),
		IdleDays: in.Settings.IdleDays}
	for _, p := range in.Products {
		pv := views.ProductInsightView{SubscriptionID: p.Pool.SubscriptionID, Key: p.Pool.ProductKey, Name: p.Pool.ProductName,
			Status: p.Pool.Status, SeatBased: p.Pool.SeatBased, Purchased: p.Pool.Purchased, Granted: p.Pool.Granted(), Assigned: p.Pool.Assigned,
			Active: p.Active, Waiting: p.Waiting, Over: p.Pool.Over()}
		pv.IdleTotal = p.IdleCount
		for _, a := range p.Idle {
			pv.Idle = append(pv.Idle, views.IdleSeatView{MembershipID: a.MembershipID, Email: a.Email, Name: a.Name,
				LastActivity: views.FormatActivity(a.LastActivity())})
		}
		for _, m := range p.Metered {
			mv := views.MeteredView{Name: m.Name, Used: m.Used, Forecast: m.Forecast, Limit: m.Limit}
			if m.Limit != nil {
				mv.Over = m.Forecast > *m.Limit
			}
			if !m.PeriodEnd.IsZero() {
				mv.PeriodEnd = m.PeriodEnd.Add(-time.Second) // the exclusive end's last day
			}
			pv.Metered = append(pv.Metered, mv)
		}
		v.Products = append(v.Products, pv)
	}
	return v
}

// insightsChartsView draws each product's trend (its last point the live
// figures) and each floating licence pool offered or in use.
func insightsChartsView(in store.AccountInsights, history []store.InsightsDay, leases []store.LeasePoolUsage) []views.ChartView {
	var out []views.ChartView
	for _, p := range in.Products {
		out = append(out, charts(p.Pool.ProductKey, p.Pool.ProductName, p.Trend(history, in.At))...)
	}
	for _, l := range leases {
		if !l.Offered && l.InUse == 0 {
			continue
		}
		out = append(out, leaseChart(l))
	}
	return out
}

// charts draws a product's seats and usage over its trend days.
func charts(key, name string, trend []store.InsightsDay) []views.ChartView {
	seats := views.ChartView{ID: "chart-seats-" + key, Title: name + ": seats, assigned and active",
		Note: "Seats: the pool, purchased plus any granted by the vendor."}
	usage := views.ChartView{ID: "chart-usage-" + key, Title: name + ": metered usage per day",
		Note: "Each day's use; today's so far."}
	purchased := views.SeriesView{Name: "Seats", Class: "s-purchased"}
	assigned := views.SeriesView{Name: "Assigned", Class: "s-assigned"}
	active := views.SeriesView{Name: "Active", Class: "s-active"}
	used := views.SeriesView{Name: "Usage", Class: "s-usage"}
	for _, d := range trend {
		seats.Days, usage.Days = append(seats.Days, d.Day), append(usage.Days, d.Day)
		purchased.Values = append(purchased.Values, int64(d.Purchased))
		assigned.Values = append(assigned.Values, int64(d.Assigned))
		active.Values = append(active.Values, int64(d.Active))
		used.Values = append(used.Values, d.Usage)
	}
	seats.Series = []views.SeriesView{purchased, assigned, active}
	usage.Series = []views.SeriesView{used}
	return []views.ChartView{seats, usage}
}

// leaseChart draws a floating licence pool's peak use per day against
// the pool, and the checkouts turned away because it was full.
func leaseChart(l store.LeasePoolUsage) views.ChartView {
	c := views.ChartView{ID: "chart-lease-" + l.Feature, Title: l.Name + ": peak in use per day",
		Note: "The most licences in use at the same moment each day, against the pool: the figure to size the pool by. Turned away: checkouts refused because every licence was in use."}
	peak := views.SeriesView{Name: "Peak in use", Class: "s-peak"}
	denied := views.SeriesView{Name: "Turned away", Class: "s-denied"}
	pool := views.SeriesView{Name: "Pool", Class: "s-pool", Reference: true}
	for _, d := range l.Days {
		c.Days = append(c.Days, d.Day)
		peak.Values = append(peak.Values, int64(d.Peak))
		denied.Values = append(denied.Values, int64(d.Denials))
		if l.Pool != nil {
			pool.Values = append(pool.Values, *l.Pool)
		}
	}
	c.Series = []views.SeriesView{peak, denied}
	if l.Pool != nil {
		c.Series = append(c.Series, pool)
	}
	return c
}
