package handlers

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// fillAddOns lists the add-ons on /billing and adds the held ones to what
// the account pays a month.
func (h *Handler) fillAddOns(c echo.Context, st store.BillingState, v *views.BillingView) {
	if st.Subscription == nil {
		return
	}
	offers, err := h.Billing.AddOns(c.Request().Context(), st)
	if err != nil {
		h.log(c).Error("load add-ons", "err", err)
		return
	}
	periods := map[string]licensing.Period{}
	for _, f := range st.Features {
		periods[f.Key] = f.Period
	}
	for _, a := range offers {
		v.AddOns = append(v.AddOns, views.AddOnView{Key: a.Key, Name: a.Name, FeatureName: a.FeatureName,
			FeatureKind: a.FeatureKind, Period: periods[a.Feature], Quantity: a.Quantity,
			Price:    views.Money{Amount: a.Price.UnitAmount, Currency: a.Price.Currency},
			Interval: a.Price.Interval, Units: a.Units, MaxUnits: a.MaxUnits,
			Offered: a.Offered, Available: a.Available, Retired: a.Retired})
		if a.Units > 0 && a.Price.Interval == "month" && a.Price.Currency == v.Statement.Monthly.Currency {
			v.Statement.Monthly.Amount += a.Price.UnitAmount * int64(a.Units)
			v.AddOnsMonthly.Amount += a.Price.UnitAmount * int64(a.Units)
			v.AddOnsMonthly.Currency = a.Price.Currency
		}
	}
}

// addOnUnits reads the units asked for: a whole number (0 removes).
func addOnUnits(raw string) (int, error) {
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, store.Invalid("units", "enter a whole number of units (0 removes the add-on)")
	}
	return n, nil
}

// BillingAddOnPreview shows what buying, changing or removing an add-on
// would do, with the button that confirms it.
func (h *Handler) BillingAddOnPreview(c echo.Context) error {
	cur, err := mustBuy(c)
	if err != nil {
		return err
	}
	units, err := addOnUnits(c.QueryParam("units"))
	if err != nil {
		return err
	}
	p, err := h.Billing.PreviewAddOn(c.Request().Context(), cur.AccountID, c.QueryParam("addon"), units)
	if err != nil {
		return err
	}
	cv := views.AddOnConfirmView{Key: p.AddOn.Key, Name: p.AddOn.Name, FeatureName: p.AddOn.FeatureName,
		From: p.From, To: p.To, CSRF: csrfToken(c)}
	if p.Charge != nil {
		cv.Charge = views.FormatMoney(p.Charge.AmountDue, p.Charge.Currency)
	}
	if p.LimitNow != nil && p.LimitAfter != nil {
		cv.LimitNow, cv.LimitAfter = views.FormatCount(*p.LimitNow), views.FormatCount(*p.LimitAfter)
	}
	if isHTMX(c) {
		return render(c, http.StatusOK, views.AddOnConfirm(cv))
	}
	return h.billingPageWith(c, cur, func(v *views.BillingView) { v.AddOnConfirm = &cv })
}

// BillingSetAddOn buys, changes or removes an add-on, audited as the
// person's request; the account holds it once the provider's event is
// applied.
func (h *Handler) BillingSetAddOn(c echo.Context) error {
	return h.billingAction(c, func(ctx context.Context, id int64) (billing.Pending, error) {
		units, err := addOnUnits(c.FormValue("units"))
		if err != nil {
			return billing.Pending{}, err
		}
		return h.Billing.SetAddOn(ctx, actorFrom(c), id, c.FormValue("addon"), units)
	})
}
