package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

func simView(a store.SimAccount, sim *billing.Simulator) views.SimView {
	v := views.SimView{CustomerID: a.Customer.ID, HasCard: a.Customer.HasPaymentMethod, PaymentsFail: a.Customer.PaymentsFail,
		Now: sim.SimNow(a.Customer).Format("2 Jan 2006 15:04 MST"), AheadBy: aheadBy(a.Customer.ClockOffset)}
	date := func(t time.Time) string { return t.UTC().Format("2 Jan 2006") }
	for _, s := range a.Subscriptions {
		sv := views.SimSubscriptionView{ID: s.ID, Status: s.Status, PriceID: s.PriceID, Quantity: s.Quantity,
			PeriodEnd: date(s.CurrentPeriodEnd), CancelAtPeriodEnd: s.CancelAtPeriodEnd, Scheduled: s.ScheduledPriceID}
		if s.TrialEnd.Valid && s.Status == "trialing" {
			sv.TrialEnd = date(s.TrialEnd.Time)
		}
		v.Subscriptions = append(v.Subscriptions, sv)
	}
	for i := len(a.Invoices) - 1; i >= 0; i-- {
		inv := a.Invoices[i]
		v.Invoices = append(v.Invoices, views.SimInvoiceView{ID: inv.ID, Amount: views.FormatMoney(inv.AmountDue, inv.Currency),
			Status: inv.Status, Reason: inv.BillingReason, Created: date(inv.CreatedAt), Attempts: inv.Attempts})
	}
	return v
}

// AdminBillingList lists accounts with links to their billing pages.
func (h *Handler) AdminBillingList(c echo.Context) error {
	accounts, err := h.Store.ListAccounts(c.Request().Context())
	if err != nil {
		return err
	}
	rows := make([]views.AdminBillingAccount, 0, len(accounts))
	for _, a := range accounts {
		rows = append(rows, views.AdminBillingAccount{Slug: a.Slug, Name: a.Name, Plan: a.Plan.String, Status: a.Status.String})
	}
	return render(c, http.StatusOK, views.AdminBillingListPage(h.adminShell(c, "Billing", "billing"), rows))
}

// AdminAccountBilling shows an account's billing: what Entitle holds, and
// in local mode the simulated Stripe state with the simulator's controls.
func (h *Handler) AdminAccountBilling(c echo.Context) error {
	ctx := c.Request().Context()
	acct, err := h.Store.AccountBySlug(ctx, c.Param("slug"))
	if err != nil {
		return err
	}
	st, err := h.Billing.State(ctx, acct.ID)
	if err != nil {
		return err
	}
	staff, _ := CurrentStaff(c)
	v := views.AdminBillingView{Slug: acct.Slug, Name: acct.Name, Pending: st.Pending, Parked: st.Parked,
		Simulated: h.Billing.Sim != nil, CanControl: staff.Can(store.CanSimulateBilling), CSRF: csrfToken(c)}
	if sub := st.Subscription; sub != nil {
		v.Plan, v.Status = sub.PlanName, string(sub.State().EffectiveStatus(h.Clock.Now()))
	}
	if h.Billing.Sim != nil {
		sim, err := h.Billing.Sim.SimState(ctx, acct.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err == nil {
			v.Sim = simView(sim, h.Billing.Sim)
		}
	}
	return render(c, http.StatusOK, views.AdminBillingPage(h.adminShell(c, acct.Name+" billing", "billing"), v))
}

// AdminSimulate drives the simulator for an account: payments fail from
// now on, payments succeed (retrying open invoices), or the simulated
// clock jumps to the end of the period.
func (h *Handler) AdminSimulate(c echo.Context) error {
	staff, _ := CurrentStaff(c) // the route requires store.CanSimulateBilling
	if h.Billing.Sim == nil {
		return echo.ErrNotFound
	}
	ctx := c.Request().Context()
	acct, err := h.Store.AccountBySlug(ctx, c.Param("slug"))
	if err != nil {
		return err
	}
	switch c.Param("action") {
	case "fail":
		err = h.Billing.Sim.SetPaymentsFail(ctx, acct.ID, true)
	case "succeed":
		err = h.Billing.Sim.SetPaymentsFail(ctx, acct.ID, false)
	case "advance":
		err = h.Billing.Sim.AdvanceToPeriodEnd(ctx, acct.ID)
	default:
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	h.Logger.Info("billing simulator", "action", c.Param("action"), "account_id", acct.ID, "staff", staff.Email)
	return c.Redirect(http.StatusSeeOther, "/admin/accounts/"+acct.Slug+"/billing")
}

// aheadBy says how far the simulated clock runs ahead, in days.
func aheadBy(seconds int64) string {
	return strconv.FormatFloat(float64(seconds)/86400, 'f', 1, 64) + " days"
}
