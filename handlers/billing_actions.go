package handlers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// billingAction runs one journey for a buyer and answers "pending": htmx
// gets the body that polls until the webhook lands; a plain form is sent
// to /billing?since=N, which does the same. A provider error comes back
// as an error, shown in words; nothing changed locally.
func (h *Handler) billingAction(c echo.Context, run func(ctx context.Context, accountID int64) (billing.Pending, error)) error {
	cur, err := mustBuy(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	p, err := run(ctx, cur.AccountID)
	if err != nil {
		return err
	}
	if p.RedirectURL != "" {
		return redirect(c, p.RedirectURL)
	}
	if !isHTMX(c) {
		return c.Redirect(http.StatusSeeOther, "/billing?since="+strconv.FormatInt(p.Since, 10)+"&did="+url.QueryEscape(string(p.Change)))
	}
	st, err := h.Billing.State(ctx, cur.AccountID)
	if err != nil {
		return err
	}
	v := h.billingView(c, st, true, p.Since)
	v.Done = string(p.Change)
	if reloadsBanners(c, v) {
		return redirect(c, "/billing?since="+strconv.FormatInt(p.Since, 10)+"&did="+url.QueryEscape(v.Done))
	}
	return render(c, http.StatusOK, views.BillingBody(v))
}

// redirect leaves the portal (Stripe's pages) from a form or from htmx.
func redirect(c echo.Context, url string) error {
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", url)
		return c.NoContent(http.StatusOK)
	}
	return c.Redirect(http.StatusSeeOther, url)
}

// BillingChangePlan upgrades at once or schedules a downgrade, with the
// promotion code the preview accepted, audited as the person's request; a
// code refused by now comes back on the preview, beside its field, and
// nothing changes.
func (h *Handler) BillingChangePlan(c echo.Context) error {
	plan, code := c.FormValue("plan"), c.FormValue("promotion_code")
	err := h.billingAction(c, func(ctx context.Context, id int64) (billing.Pending, error) {
		return h.Billing.ChangePlanWithCode(ctx, actorFrom(c), id, plan, code, "/billing")
	})
	if problems := promotionProblems(err); problems != nil {
		cur, _ := Current(c)
		return h.renderChangePreview(c, cur, plan, code, problems)
	}
	return err
}

// BillingStartTrial starts a trial of a higher plan, audited as the
// person's request.
func (h *Handler) BillingStartTrial(c echo.Context) error {
	return h.billingAction(c, func(ctx context.Context, id int64) (billing.Pending, error) {
		return h.Billing.StartTrial(ctx, actorFrom(c), id, c.FormValue("plan"))
	})
}

// BillingChangeSeats buys or drops seats, audited as the person's request.
func (h *Handler) BillingChangeSeats(c echo.Context) error {
	return h.billingAction(c, func(ctx context.Context, id int64) (billing.Pending, error) {
		seats, err := strconv.Atoi(c.FormValue("seats"))
		if err != nil {
			return billing.Pending{}, store.Invalid("seats", "enter a whole number of seats")
		}
		return h.Billing.ChangeSeats(ctx, actorFrom(c), id, seats)
	})
}

// BillingKeepPlan drops a change waiting for period end, audited as the
// person's request.
func (h *Handler) BillingKeepPlan(c echo.Context) error {
	return h.billingAction(c, func(ctx context.Context, id int64) (billing.Pending, error) {
		return h.Billing.KeepCurrentPlan(ctx, actorFrom(c), id)
	})
}

// BillingCancel cancels at period end, audited as the person's request.
func (h *Handler) BillingCancel(c echo.Context) error {
	return h.billingAction(c, func(ctx context.Context, id int64) (billing.Pending, error) {
		return h.Billing.SetCancelAtPeriodEnd(ctx, actorFrom(c), id, true)
	})
}

// BillingResume takes back a cancellation before period end.
func (h *Handler) BillingResume(c echo.Context) error {
	return h.billingAction(c, func(ctx context.Context, id int64) (billing.Pending, error) {
		return h.Billing.SetCancelAtPeriodEnd(ctx, actorFrom(c), id, false)
	})
}

// BillingPortal sends the buyer to Stripe's billing portal (the
// simulator's own page in local mode).
func (h *Handler) BillingPortal(c echo.Context) error {
	cur, err := mustBuy(c)
	if err != nil {
		return err
	}
	url, err := h.Billing.PortalURL(c.Request().Context(), cur.AccountID, "/billing")
	if err != nil {
		return err
	}
	return redirect(c, url)
}

// BillingSimulatorPortal is the simulator's stand-in for Stripe's billing
// portal: the card on file and the invoices.
func (h *Handler) BillingSimulatorPortal(c echo.Context) error {
	cur, err := mustBuy(c)
	if err != nil {
		return err
	}
	if h.Billing.Sim == nil {
		return echo.ErrNotFound
	}
	sim, err := h.Billing.Sim.SimState(c.Request().Context(), cur.AccountID)
	if err != nil {
		return err
	}
	invoices := make([]views.InvoiceView, 0, len(sim.Invoices))
	for _, inv := range slices.Backward(sim.Invoices) {
		invoices = append(invoices, invoiceView(billing.SimInvoice(inv), false))
	}
	return render(c, http.StatusOK, views.SimPortalPage(h.shell(c, "Payment methods and invoices", "billing"), simView(sim, h.Billing.Sim), invoices))
}

// BillingSimulatorAddCard gives the simulated customer a working card.
func (h *Handler) BillingSimulatorAddCard(c echo.Context) error {
	cur, err := mustBuy(c)
	if err != nil {
		return err
	}
	if h.Billing.Sim == nil {
		return echo.ErrNotFound
	}
	if err := h.Billing.Sim.UpdatePaymentMethod(c.Request().Context(), actorFrom(c), cur.AccountID); err != nil {
		return err
	}
	return h.redirectWithFlash(c, billing.SimulatorPortalPath, "Test card •••• 4242 saved. Pay any invoice due from Billing.")
}

// StripeWebhook receives Stripe's deliveries: verify the signature, store
// the event once, answer at once; the worker applies it. A delivery that
// fails verification is logged and refused with 400, and nothing is kept.
func (h *Handler) StripeWebhook(c echo.Context) error {
	payload, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<20))
	if err != nil {
		return c.NoContent(http.StatusBadRequest)
	}
	id, fresh, err := h.Billing.Inbox.Receive(c.Request().Context(), payload, c.Request().Header.Get("Stripe-Signature"))
	if errors.Is(err, billing.ErrBadSignature) {
		h.Logger.Warn("stripe webhook refused", "err", err, "remote", c.RealIP(),
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		return c.JSON(http.StatusBadRequest, map[string]string{"error": "signature verification failed"})
	}
	if store.IsUnavailable(err) { // Stripe delivers again later
		c.Response().Header().Set("Retry-After", "60")
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"error": "database unreachable: deliver again later"})
	}
	if err != nil {
		return err // 500: Stripe delivers again later
	}
	return c.JSON(http.StatusOK, map[string]any{"received": id, "duplicate": !fresh})
}
