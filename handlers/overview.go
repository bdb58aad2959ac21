package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/views"
)

// Overview shows the account's plan, seats and entitlement matrix, every
// figure decided by licensing.Evaluate over the account's state.
func (h *Handler) Overview(c echo.Context) error {
	cur, _ := Current(c)
	ctx := c.Request().Context()
	state, err := h.Store.AccountState(ctx, cur.AccountID)
	if err != nil {
		return err
	}
	subs, err := h.Store.Subscriptions(ctx, cur.AccountID)
	if err != nil {
		return err
	}
	mine, err := h.Store.MySeats(ctx, cur.AccountID, cur.MembershipID)
	if err != nil {
		return err
	}
	now := h.Clock.Now()
	// Members see their own licences: features decided for them, with
	// their seat; the others see the account as a whole.
	role := licensing.Role(cur.Role)
	o := views.Overview{AccountName: state.AccountName, ShowSeatFigures: licensing.Can(role, licensing.ViewSeats)}
	shell := h.shell(c, "Overview", "overview")
	for _, p := range state.Products {
		po := views.ProductOverview{Product: p.Product, ProductName: p.ProductName, Seats: p.Seats,
			SeatsGranted: p.EffectiveSeats(now) - p.Seats, SeatsAssigned: p.SeatsAssigned, TrialDaysLeft: -1, Features: p.Evaluate(now), HoldsSeat: mine[p.Product]}
		if !o.ShowSeatFigures {
			seat := licensing.SeatNotHeld
			if po.HoldsSeat {
				seat = licensing.SeatHeld
			}
			po.Features = p.EvaluateFor(seat, now)
		}
		if p.Plan != nil {
			po.PlanKey, po.PlanName, po.SeatBased = p.Plan.Key, p.Plan.Name, p.Plan.SeatBased
			po.Status = string(p.Subscription.EffectiveStatus(now))
			if p.Subscription.Status == licensing.Trialing && !p.Subscription.TrialEndsAt.IsZero() {
				po.TrialDaysLeft = max(0, int(p.Subscription.TrialEndsAt.Sub(now).Hours()+23)/24)
				po.TrialEnds = p.Subscription.TrialEndsAt.UTC().Format("2 Jan 2006")
			}
		}
		for _, sub := range subs {
			if sub.ProductKey == p.Product && sub.CurrentPeriodEnd.Valid {
				po.PeriodEnd = sub.CurrentPeriodEnd.Time.UTC().Format("2 Jan 2006")
				po.Ending = licensing.Status(sub.Status).Ending(sub.CancelAtPeriodEnd)
			}
		}
		o.Products = append(o.Products, po)
	}
	if len(subs) == 0 && h.Billing != nil {
		st, err := h.Billing.State(ctx, cur.AccountID)
		if err != nil {
			return err
		}
		o.Starting = st.Pending > 0
	}
	// Entitlement API: metered usage per period.
	if o.Usage, err = h.usageHistory(c, cur.AccountID); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.OverviewPage(shell, o))
}
