package handlers

import (
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/views"
)

// accountBanners are the notices every page of an account carries: a
// payment past due (with the end of the grace period), a suspension, a seat
// pool over-allocated. A failure to load them is logged, never shown.
func (h *Handler) accountBanners(c echo.Context, accountID int64) []views.Banner {
	// One read serves every banner (and the page, when it shows pools):
	// each pool is a subscription with its state and its seat figures,
	// counting vendor grants (EffectiveSeats).
	pools, err := h.seatPools(c, accountID)
	if err != nil {
		h.log(c).Error("load banners", "err", err)
		return nil
	}
	now := h.Clock.Now()
	var out []views.Banner
	for _, pool := range pools {
		st := pool.State()
		switch st.EffectiveStatus(now) {
		case licensing.PastDue:
			grace := st.PastDueSince.Add(licensing.DefaultGracePeriod)
			out = append(out, views.Banner{Kind: "warn", TestID: "banner-past-due", Message: fmt.Sprintf(
				"Payment for %s is past due. Access continues until %s; pay the open invoice or update your payment method.",
				pool.ProductName, grace.UTC().Format("2 Jan 2006 15:04 MST")), Link: "/billing", LinkLabel: "Go to Billing"})
		case licensing.Suspended:
			out = append(out, views.Banner{Kind: "danger", TestID: "banner-suspended", Message: fmt.Sprintf(
				"%s is suspended because payment failed. Your data is kept; pay the open invoice to restore access.",
				pool.ProductName), Link: "/billing", LinkLabel: "Go to Billing"})
		}
	}
	for _, p := range pools {
		if p.Over() > 0 {
			out = append(out, views.Banner{Kind: "warn", TestID: "banner-over-allocated", Message: fmt.Sprintf(
				"%s has %d seats assigned but only %d in its pool. Unassign %d on the Seats page or buy more seats; new assignments are paused.",
				p.ProductName, p.Assigned, p.Effective, p.Over()), Link: "/seats", LinkLabel: "Go to Seats"})
		}
	}
	// A link the member's role may not open is no help.
	cur, _ := Current(c)
	for i, b := range out {
		if (b.Link == "/billing" && !licensing.Can(licensing.Role(cur.Role), licensing.ViewBilling)) ||
			(b.Link == "/seats" && !licensing.Can(licensing.Role(cur.Role), licensing.ViewSeats)) {
			out[i].Link = ""
		}
	}
	return out
}
