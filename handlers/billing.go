package handlers

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// buyer is the signed-in customer on /billing: owners and the billing role
// may buy; admins may look; members may not come in.
func buyer(c echo.Context) (store.Session, bool, error) {
	cur, _ := Current(c)
	switch cur.Role {
	case "owner", "billing":
		return cur, true, nil
	case "admin":
		return cur, false, nil
	}
	return cur, false, store.ErrForbidden
}

// mustBuy is buyer for the actions: looking is not enough.
func mustBuy(c echo.Context) (store.Session, error) {
	cur, canBuy, err := buyer(c)
	if err == nil && !canBuy {
		err = store.ErrForbidden
	}
	return cur, err
}

func csrfToken(c echo.Context) string { s, _ := c.Get(ctxCSRF).(string); return s }

// billingView turns the account's billing state into the page's model.
// since >= 0 is the event sequence an action started from: the page stays
// "pending" until an event has been applied past it and none is waiting.
func (h *Handler) billingView(c echo.Context, st store.BillingState, canBuy bool, since int64) views.BillingView {
	now := h.Clock.Now()
	v := views.BillingView{AccountName: st.Account.Name, ProductName: st.ProductName, CanBuy: canBuy,
		Simulated: h.Billing.Sim != nil, Features: st.Features, TrialDaysLeft: -1, CSRF: csrfToken(c), Since: since,
		Parked: st.Parked > 0}
	var seq int64
	rank := -1
	if sub := st.Subscription; sub != nil {
		seq, rank = sub.EventSeq, sub.PlanRank
		state := sub.State()
		v.HasSubscription, v.PlanKey, v.PlanName = true, sub.PlanKey, sub.PlanName
		v.Status = string(state.EffectiveStatus(now))
		v.SeatBased, v.Seats, v.SeatsAssigned = sub.SeatBased, sub.Seats, sub.SeatsAssigned
		v.PeriodEnd = sub.CurrentPeriodEnd.Time.UTC().Format("2 Jan 2006")
		if state.Status == licensing.Trialing && !state.TrialEndsAt.IsZero() {
			v.TrialDaysLeft = max(0, int(state.TrialEndsAt.Sub(now).Hours()+23)/24)
		}
		v.CancelAtPeriodEnd, v.CanCancel = sub.CancelAtPeriodEnd, billing.CanCancel(st)
		v.ScheduledPlanName = sub.ScheduledPlanName.String
		v.ScheduledSeats = int(sub.ScheduledSeats.Int64)
	}
	v.Pending = since >= 0 && !v.Parked && (st.Pending > 0 || seq <= since)
	for _, p := range st.Plans {
		pv := views.BillingPlanView{Key: p.PlanKey, Name: p.Name, SeatBased: p.SeatBased, TrialDays: p.TrialDays,
			Values: p.Values, Current: st.Subscription != nil && st.Subscription.PlanKey == p.PlanKey,
			Pilot: p.Visibility == string(licensing.Pilot)}
		pv.Retired = !p.Buyable && pv.Current && !pv.Pilot
		pv.RegionRestricted = !p.Available && !pv.Current
		if p.PriceID.Valid {
			pv.Price = views.PlanPrice(p.UnitAmount, p.Currency, p.SeatBased)
		}
		if p.PriceID.Valid && p.Buyable && !pv.RegionRestricted {
			switch {
			case st.Subscription == nil:
				pv.Action = "subscribe"
			case pv.Current:
			case p.Rank > rank:
				pv.Action = "upgrade"
			default:
				pv.Action = "downgrade"
			}
			pv.CanTrial = p.TrialDays > 0 && !st.TrialsUsed[p.PlanKey] && p.Rank > rank &&
				st.Subscription != nil && st.Subscription.Status == string(licensing.Active)
		}
		v.Plans = append(v.Plans, pv)
	}
	if since >= 0 {
		v.Done = c.QueryParam("did") // the change polled for; the view confirms only the ones it knows
	}
	h.fillStatement(c, st, &v)
	h.fillAddOns(c, st, &v)
	return v
}

// BillingPage shows /billing; with ?since=N (htmx polling after an action) it
// answers the body, pending or done.
func (h *Handler) BillingPage(c echo.Context) error {
	cur, canBuy, err := buyer(c)
	if err != nil {
		return err
	}
	since := int64(-1)
	if s := c.QueryParam("since"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			since = n
		}
	}
	st, err := h.Billing.State(c.Request().Context(), cur.AccountID)
	if err != nil {
		return err
	}
	v := h.billingView(c, st, canBuy, since)
	if reloadsBanners(c, v) {
		return redirect(c, "/billing?since="+strconv.FormatInt(since, 10)+"&did="+url.QueryEscape(v.Done))
	}
	if isHTMX(c) {
		return render(c, http.StatusOK, views.BillingBody(v))
	}
	return render(c, http.StatusOK, views.BillingPage(h.shell(c, "Billing", "billing"), v))
}

// reloadsBanners tells that a change htmx was waiting for has landed and
// may have ended a banner the layout shows outside #billing (a payment
// ends "past due", seats end "over-allocated"): the whole page reloads.
func reloadsBanners(c echo.Context, v views.BillingView) bool {
	return isHTMX(c) && !v.Pending && (v.Done == string(billing.ChangePay) || v.Done == string(billing.ChangeSeats))
}

func holders(hs []store.SeatHolder) []views.SeatHolderView {
	out := make([]views.SeatHolderView, 0, len(hs))
	for _, h := range hs {
		out = append(out, views.SeatHolderView{Email: h.Email, Name: h.Name})
	}
	return out
}

// BillingChangePreview shows what a plan change (or a trial, with
// trial=1) would do, with the button that confirms it.
func (h *Handler) BillingChangePreview(c echo.Context) error {
	cur, err := mustBuy(c)
	if err != nil {
		return err
	}
	ctx, plan := c.Request().Context(), c.QueryParam("plan")
	if c.QueryParam("trial") != "1" {
		return h.renderChangePreview(c, cur, plan, c.QueryParam("promotion_code"), nil)
	}
	p, err := h.Billing.PreviewTrial(ctx, cur.AccountID, plan)
	if err != nil {
		return err
	}
	cv, err := h.changeConfirmView(c, cur, p)
	if err != nil {
		return err
	}
	if isHTMX(c) {
		return render(c, http.StatusOK, views.ChangeConfirm(cv))
	}
	return h.billingPageWith(c, cur, func(v *views.BillingView) { v.ChangeConfirm = &cv })
}

// changeConfirmView is a plan change's preview as the confirmation shows it.
func (h *Handler) changeConfirmView(c echo.Context, cur store.Session, p billing.ChangePreview) (views.ChangeConfirmView, error) {
	cv := views.ChangeConfirmView{PlanKey: p.Plan.PlanKey, PlanName: p.Plan.Name, Direction: string(p.Direction),
		TrialDays: p.Plan.TrialDays, Changes: p.Changes, SeatsToFree: p.SeatsToFree, Holders: holders(p.Holders),
		FallbackPlanName: p.CurrentPlan, CSRF: csrfToken(c), Free: p.Plan.UnitAmount == 0}
	if p.Charge != nil {
		cv.Charge = views.FormatMoney(p.Charge.AmountDue, p.Charge.Currency)
	}
	if !p.EffectiveAt.IsZero() {
		cv.EffectiveAt = p.EffectiveAt.UTC().Format("2 Jan 2006")
	}
	if p.Direction == billing.Downgrade && p.Plan.SeatBased { // provisioning
		if err := h.previewWaitlist(c, cur.AccountID, p.Plan.ProductKey, p.Seats, &cv.Waitlisted, &cv.SeatsToFree); err != nil {
			return cv, err
		}
	}
	cv.Discount = discountView(p)
	return cv, nil
}

// BillingSeatsPreview shows what a seat change would do.
func (h *Handler) BillingSeatsPreview(c echo.Context) error {
	cur, err := mustBuy(c)
	if err != nil {
		return err
	}
	seats, err := strconv.Atoi(c.QueryParam("seats"))
	if err != nil {
		return store.Invalid("seats", "enter a whole number of seats")
	}
	p, err := h.Billing.PreviewSeats(c.Request().Context(), cur.AccountID, seats)
	if err != nil {
		return err
	}
	sv := views.SeatConfirmView{From: p.From, To: p.To, SeatsToFree: p.SeatsToFree, Holders: holders(p.Holders), CSRF: csrfToken(c)}
	if p.Charge != nil {
		sv.Charge = views.FormatMoney(p.Charge.AmountDue, p.Charge.Currency)
	} else {
		sv.EffectiveAt = p.EffectiveAt.UTC().Format("2 Jan 2006")
		st, err := h.Billing.State(c.Request().Context(), cur.AccountID) // provisioning
		if err != nil {
			return err
		}
		if err := h.previewWaitlist(c, cur.AccountID, st.ProductKey, p.To, &sv.Waitlisted, &sv.SeatsToFree); err != nil {
			return err
		}
	}
	if isHTMX(c) {
		return render(c, http.StatusOK, views.SeatConfirm(sv))
	}
	return h.billingPageWith(c, cur, func(v *views.BillingView) { v.SeatConfirm = &sv })
}

// billingPageWith renders the whole page with a confirmation filled in
// (the same flow without JavaScript).
func (h *Handler) billingPageWith(c echo.Context, cur store.Session, fill func(*views.BillingView)) error {
	st, err := h.Billing.State(c.Request().Context(), cur.AccountID)
	if err != nil {
		return err
	}
	v := h.billingView(c, st, true, -1)
	fill(&v)
	return render(c, http.StatusOK, views.BillingPage(h.shell(c, "Billing", "billing"), v))
}
