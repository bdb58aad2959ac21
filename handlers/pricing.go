package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/views"
)

// Pricing is the public pricing page, generated from the catalog: plans
// side by side with their features, limits, prices and trials, and the way
// in for each.
func (h *Handler) Pricing(c echo.Context) error {
	st, err := h.Store.Pricing(c.Request().Context())
	if err != nil {
		return err
	}
	v := views.PricingView{ProductName: st.ProductName, Features: st.Features}
	for _, p := range st.Plans {
		pv := views.PricingPlan{Key: p.PlanKey, Name: p.Name, TrialDays: p.TrialDays, Values: p.Values}
		switch {
		case !p.PriceID.Valid:
			pv.Action = views.PricingContact
		case billing.Free(p):
			pv.Price, pv.Action = views.PlanPrice(p.UnitAmount, p.Currency, p.SeatBased), views.PricingStart
		case p.TrialDays > 0:
			pv.Price, pv.Action = views.PlanPrice(p.UnitAmount, p.Currency, p.SeatBased), views.PricingTrial
		default:
			pv.Price, pv.Action = views.PlanPrice(p.UnitAmount, p.Currency, p.SeatBased), views.PricingBuy
		}
		v.Plans = append(v.Plans, pv)
	}
	return render(c, http.StatusOK, views.PricingPage(h.shell(c, "Pricing", ""), v))
}
