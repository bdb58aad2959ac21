package handlers

import (
	"bytes"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// The vendor's insights across all accounts.

func (h *Handler) vendorInsights(c echo.Context) (views.VendorInsightsView, error) {
	in, err := h.Store.VendorInsights(c.Request().Context())
	if err != nil {
		return views.VendorInsightsView{}, err
	}
	rows := func(list []store.VendorAccount, detail func(store.VendorAccount) string) []views.VendorAccountRow {
		out := make([]views.VendorAccountRow, 0, len(list))
		for _, a := range list {
			out = append(out, views.VendorAccountRow{Slug: a.Slug, Name: a.Name, Number: a.Number, Detail: detail(a)})
		}
		return out
	}
	date := func(a store.VendorAccount) string { return a.At.UTC().Format("2 Jan 2006") }
	return views.VendorInsightsView{Sold: in.Sold, Assigned: in.Assigned, Active: in.Active,
		Waste:         rows(in.Waste, func(a store.VendorAccount) string { return "" }),
		OverAllocated: rows(in.OverAllocated, func(a store.VendorAccount) string { return views.StatusLabel(a.Status) }),
		TrialsEnding:  rows(in.TrialsEnding, date),
		PastDue:       rows(in.PastDue, func(a store.VendorAccount) string { return views.StatusLabel(a.Status) + " since " + date(a) }),
		DriftRepairs:  in.DriftRepairs, FailedEvents: in.FailedEvents}, nil
}

// AdminInsights shows the vendor's insights page.
func (h *Handler) AdminInsights(c echo.Context) error {
	v, err := h.vendorInsights(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.AdminInsightsPage(h.adminShell(c, "Insights", "insights"), v))
}

// AdminInsightsStream pushes the vendor's figures after every change to any
// account.
func (h *Handler) AdminInsightsStream(c echo.Context) error {
	wake, stop := h.Hub.Subscribe(0)
	defer stop()
	return h.stream(c, wake, func() ([]byte, error) {
		v, err := h.vendorInsights(c)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := views.AdminInsightsLive(v).Render(c.Request().Context(), &buf); err != nil {
			return nil, err
		}
		return sseEvent("insights", buf.Bytes()), nil
	})
}
