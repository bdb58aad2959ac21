package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// CheckoutPage is an account's first purchase: the plan, the seats, and
// the way to pay (Stripe Checkout, or the simulator's test card). Leaving
// it changes nothing: the account stays without a subscription.
func (h *Handler) CheckoutPage(c echo.Context) error {
	return h.renderCheckout(c, http.StatusOK, c.QueryParam("plan"), c.QueryParam("seats"), "", nil)
}

func (h *Handler) renderCheckout(c echo.Context, status int, planKey, seats, code string, problems map[string]string) error {
	cur, _ := Current(c)
	st, err := h.Billing.State(c.Request().Context(), cur.AccountID)
	if err != nil {
		return err
	}
	if st.Subscription != nil {
		return redirectAfterPost(c, "/billing")
	}
	plan, ok := st.Plan(planKey)
	if !ok || !plan.PriceID.Valid {
		return store.Invalid("plan", "choose a plan from the pricing page")
	}
	if seats == "" {
		seats = "1"
	}
	v := views.CheckoutView{PlanKey: plan.PlanKey, PlanName: plan.Name, SeatBased: plan.SeatBased, Seats: seats,
		UnitAmount: plan.UnitAmount, Currency: plan.Currency, Simulated: h.Billing.Sim != nil,
		Price: views.PlanPrice(plan.UnitAmount, plan.Currency, plan.SeatBased), Problems: problems, CSRF: csrfToken(c),
		PromotionCode: code, MaxSeats: billing.MaxCheckoutSeats}
	return render(c, status, views.CheckoutPage(h.shell(c, "Checkout", "billing"), v))
}

// Checkout starts the first subscription: Stripe Checkout sends the buyer
// to Stripe (checkout.session.completed then arrives through the inbox);
// the simulator completes the purchase at once with its test card.
func (h *Handler) Checkout(c echo.Context) error {
	cur, _ := Current(c)
	planKey, seatsText, code := c.FormValue("plan"), c.FormValue("seats"), c.FormValue("promotion_code")
	seats, err := strconv.Atoi(seatsText)
	if err != nil {
		seats = -1
	}
	pending, err := h.Billing.StartFirstPlan(c.Request().Context(), cur.AccountID,
		billing.FirstPlan{PlanKey: planKey, Seats: seats, ReturnURL: "/billing", PromotionCode: code, Actor: actorFrom(c)})
	var ve *store.ValidationError
	var pe *billing.ProviderError
	switch {
	case errors.As(err, &ve) && (ve.Fields["seats"] != "" || ve.Fields["promotion_code"] != ""):
		return h.renderCheckout(c, http.StatusUnprocessableEntity, planKey, seatsText, code, ve.Fields)
	case errors.As(err, &pe):
		return h.renderCheckout(c, http.StatusPaymentRequired, planKey, seatsText, code, map[string]string{"payment": pe.Message})
	case err != nil:
		return err
	}
	if pending.RedirectURL != "" {
		return c.Redirect(http.StatusSeeOther, pending.RedirectURL)
	}
	h.addFlash(c, SessionCookie, "Payment received: your subscription is starting.")
	return redirectAfterPost(c, "/")
}
