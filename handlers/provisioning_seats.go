package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// waitingShown is how many people a pool's waiting list shows.
const waitingShown = 200

// provisioningPool adds to a pool of the seats page where each holder's
// seat came from (by hand, a rule's group, pinned) and its waiting list.
func (h *Handler) provisioningPool(c echo.Context, accountID int64, pv *views.SeatPoolView) error {
	ctx := c.Request().Context()
	ids := make([]int64, 0, len(pv.Holders))
	for _, hd := range pv.Holders {
		ids = append(ids, hd.MembershipID)
	}
	origins, err := h.Store.SeatOrigins(ctx, accountID, pv.ID, ids)
	if err != nil {
		return err
	}
	for i := range pv.Holders {
		o := origins[pv.Holders[i].MembershipID]
		pv.Holders[i].Origin, pv.Holders[i].Pinned, pv.Holders[i].Managed = "by hand", o.Pinned, o.Managed
		if o.Source == "rule" {
			pv.Holders[i].Origin = "by rule"
			if o.GroupName != "" {
				pv.Holders[i].Origin = "by rule: " + o.GroupName
			}
		}
	}
	waiting, total, err := h.Store.WaitingList(ctx, accountID, pv.ID, waitingShown)
	if err != nil {
		return err
	}
	pv.WaitingTotal = total
	for _, w := range waiting {
		pv.Waiting = append(pv.Waiting, views.WaitingView{MembershipID: w.MembershipID, Position: w.Position, Name: w.Name,
			Email: w.Email, Group: w.GroupName, Since: lastActive(w.Since), Reason: w.Reason})
	}
	return nil
}

// SeatsLive answers the seats page's poll: 204 when nothing changed since
// the version it shows, else its pools afresh.
func (h *Handler) SeatsLive(c echo.Context) error {
	cur, _ := Current(c)
	version, err := h.Store.SeatsVersion(c.Request().Context(), cur.AccountID)
	if err != nil {
		return err
	}
	if version == c.QueryParam("v") {
		return c.NoContent(http.StatusNoContent)
	}
	v, err := h.seatsView(c, nil)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.SeatPools(h.lightShell(c), v))
}

// PinSeat pins or unpins a holder's seat (pin=<member id>:true|false): the
// rules never take a pinned seat.
func (h *Handler) PinSeat(c echo.Context) error {
	cur, _ := Current(c)
	subID, err := parseID(c.FormValue("subscription"))
	if err != nil {
		return err
	}
	idText, on, _ := strings.Cut(c.FormValue("pin"), ":")
	id, err := parseID(idText)
	if err != nil {
		return err
	}
	pinned, err := strconv.ParseBool(on)
	if err != nil {
		return store.Invalid("pin", "pin or unpin")
	}
	if err := h.Store.PinSeat(c.Request().Context(), cur.Principal(), subID, id, pinned); err != nil {
		return err
	}
	if pinned {
		return h.done(c, "/seats", "Seat pinned: the provisioning rules will not take it.")
	}
	return h.done(c, "/seats", "Seat unpinned: the provisioning rules decide it again.")
}
