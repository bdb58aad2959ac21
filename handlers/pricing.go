package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/views"
)

// Pricing is the public pricing page, generated from the catalog: plans
// side by side with their features, limits, prices and trials, and the way
// in for each.
func (h *Handler) Pricing(c echo.Context) error {
	var accountID int64 // a signed-in pilot account also sees its pilots
	if cur, ok := Current(c); ok {
		accountID = cur.AccountID
	}
	st, err := h.Store.PricingFor(c.Request().Context(), accountID)
	if err != nil {
		return err
	}
	v := views.PricingView{ProductName: st.ProductName, Features: st.Features}
	for _, p := range st.Plans {
		pv := views.PricingPlan{Key: p.PlanKey, Name: p.Name, TrialDays: p.TrialDays, Values: p.Values,
			Pilot: p.Visibility == string(licensing.Pilot)}
		switch {
		case pv.Pilot && p.PriceID.Valid:
			pv.Price, pv.Action = views.PlanPrice(p.UnitAmount, p.Currency, p.SeatBased), views.PricingPilot
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
