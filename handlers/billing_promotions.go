package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// promotionProblems is the field message of a refused promotion code, or
// nil for any other outcome.
func promotionProblems(err error) map[string]string {
	var ve *store.ValidationError
	if errors.As(err, &ve) && ve.Fields["promotion_code"] != "" {
		return map[string]string{"promotion_code": ve.Fields["promotion_code"]}
	}
	return nil
}

// renderChangePreview shows a plan change's preview with the promotion
// code typed: its discount, or, refused (by the preview or at confirm,
// in problems), the message beside the field, the code kept and no
// discount (422). htmx gets the fragment its form targets: the
// confirmation, or the billing body when the confirm button posted.
func (h *Handler) renderChangePreview(c echo.Context, cur store.Session, plan, code string, problems map[string]string) error {
	p, err := h.Billing.PreviewChangeWithCode(c.Request().Context(), cur.AccountID, plan, code)
	if refusal := promotionProblems(err); refusal != nil {
		problems, err = refusal, nil
	}
	if err != nil {
		return err
	}
	cv, err := h.changeConfirmView(c, cur, p)
	if err != nil {
		return err
	}
	cv.PromotionCode, cv.Problems = code, problems
	status := http.StatusOK
	if problems != nil {
		status, cv.Discount = http.StatusUnprocessableEntity, nil
	}
	switch {
	case isHTMX(c) && c.Request().Header.Get("HX-Target") == "billing":
		st, err := h.Billing.State(c.Request().Context(), cur.AccountID)
		if err != nil {
			return err
		}
		v := h.billingView(c, st, true, -1)
		v.ChangeConfirm = &cv
		return render(c, status, views.BillingBody(v))
	case isHTMX(c):
		return render(c, status, views.ChangeConfirm(cv))
	}
	st, err := h.Billing.State(c.Request().Context(), cur.AccountID)
	if err != nil {
		return err
	}
	v := h.billingView(c, st, true, -1)
	v.ChangeConfirm = &cv
	return render(c, status, views.BillingPage(h.shell(c, "Billing", "billing"), v))
}

// discountView is the preview's discount in the buyer's words, or nil.
func discountView(p billing.ChangePreview) *views.DiscountView {
	d := p.Discount
	if d == nil || d.Amount == 0 && p.Promotion == nil {
		return nil
	}
	money := func(n int64) views.Money { return views.Money{Amount: n, Currency: d.Currency} }
	v := &views.DiscountView{Code: d.Code, Subtotal: money(d.Subtotal), Amount: money(d.Amount), Total: money(d.Total)}
	v.Terms = "the subscription's discount"
	if p.Promotion != nil {
		v.Terms = p.Promotion.Terms(views.FormatMoney)
	}
	switch p.Direction {
	case billing.Upgrade:
		v.For = "amount charged now"
	case billing.Downgrade:
		v.For = "month from " + p.EffectiveAt.UTC().Format("2 Jan 2006")
	default:
		v.For = "first month"
	}
	return v
}
