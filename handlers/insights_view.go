package handlers

import (
	"strconv"
	"time"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// insightsLiveView turns the store's figures and snapshots into the live
// fragment's view model.
func insightsLiveView(in store.AccountInsights, history []store.InsightsDay, canReclaim bool, csrf string) views.InsightsLive {
	v := views.InsightsLive{Status: string(in.Compliance.Kind), StatusReason: in.Compliance.Reason,
		StatusFixURL: in.Compliance.FixURL, UpdatedAt: in.At.Format("2 Jan 2006 15:04:05 UTC"),
		CanReclaim: canReclaim, CSRF: csrf, IdleDays: in.Settings.IdleDays}
	for _, p := range in.Products {
		pv := views.ProductInsightView{SubscriptionID: p.Pool.SubscriptionID, Key: p.Pool.ProductKey, Name: p.Pool.ProductName,
			Status: p.Pool.Status, SeatBased: p.Pool.SeatBased, Purchased: p.Pool.Effective, Assigned: p.Pool.Assigned,
			Active: p.Active, Waiting: p.Waiting, Over: p.Pool.Over()}
		pv.IdleTotal = p.IdleCount
		for _, a := range p.Idle {
			pv.Idle = append(pv.Idle, views.IdleSeatView{MembershipID: a.MembershipID, Email: a.Email, Name: a.Name,
				LastActivity: views.FormatActivity(a.LastActivity())})
		}
		for _, m := range p.Metered {
			mv := views.MeteredView{Name: m.Name, Used: m.Used, Forecast: m.Forecast, Limit: "unlimited"}
			if m.Limit != nil {
				mv.Limit = strconv.FormatInt(*m.Limit, 10)
				mv.Over = m.Forecast > *m.Limit
			}
			if !m.PeriodEnd.IsZero() {
				mv.PeriodEnd = m.PeriodEnd.Add(-time.Second).Format("2 Jan 2006")
			}
			pv.Metered = append(pv.Metered, mv)
		}
		v.Products = append(v.Products, pv)
		v.Charts = append(v.Charts, charts(p.Pool.ProductKey, p.Pool.ProductName, history)...)
	}
	return v
}

// charts draws a product's seats and usage over the snapshot days.
func charts(key, name string, history []store.InsightsDay) []views.ChartView {
	seats := views.ChartView{ID: "chart-seats-" + key, Title: name + ": seats purchased, assigned and active"}
	usage := views.ChartView{ID: "chart-usage-" + key, Title: name + ": metered usage per day"}
	purchased := views.SeriesView{Name: "Purchased", Class: "s-purchased"}
	assigned := views.SeriesView{Name: "Assigned", Class: "s-assigned"}
	active := views.SeriesView{Name: "Active", Class: "s-active"}
	used := views.SeriesView{Name: "Usage", Class: "s-usage"}
	for _, d := range history {
		if d.ProductKey != key {
			continue
		}
		day := d.Day.Format("2 Jan")
		seats.Days, usage.Days = append(seats.Days, day), append(usage.Days, day)
		purchased.Values = append(purchased.Values, int64(d.Purchased))
		assigned.Values = append(assigned.Values, int64(d.Assigned))
		active.Values = append(active.Values, int64(d.Active))
		used.Values = append(used.Values, d.Usage)
		seats.Max = max(seats.Max, int64(d.Purchased), int64(d.Assigned))
		usage.Max = max(usage.Max, d.Usage)
	}
	seats.Series = []views.SeriesView{purchased, assigned, active}
	usage.Series = []views.SeriesView{used}
	return []views.ChartView{seats, usage}
}
