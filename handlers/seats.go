package handlers

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// holdersShown is how many holders a pool lists on the seats page.
const holdersShown = 200

// maxAddress is the longest email address there is (RFC 5321).
const maxAddress = 320

// maxSeatCSV is the largest file the CSV upload reads.
const maxSeatCSV = 2 << 20

// Seats shows every subscription's seat pool: purchased, assigned, free,
// who holds a seat, and (to admins) the forms to change that.
func (h *Handler) Seats(c echo.Context) error {
	return h.renderSeats(c, nil)
}

func (h *Handler) renderSeats(c echo.Context, results *views.SeatResultsView) error {
	if results == nil { // the rows of the last change, left by its redirect
		if n := h.takeNotice(c); strings.HasPrefix(n.Scope, "subscription:") {
			id, _ := strconv.ParseInt(strings.TrimPrefix(n.Scope, "subscription:"), 10, 64)
			results = &views.SeatResultsView{SubscriptionID: id}
			for _, row := range n.Rows {
				results.Rows = append(results.Rows, views.SeatResultRow{Input: row.Input, Outcome: row.Outcome, Message: row.Message})
			}
		}
	}
	v, err := h.seatsView(c, results)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.SeatsPage(h.shell(c, "Seats", "seats"), v))
}

func (h *Handler) seatsView(c echo.Context, results *views.SeatResultsView) (views.SeatsView, error) {
	cur, _ := Current(c)
	ctx := c.Request().Context()
	version, err := h.Store.SeatsVersion(ctx, cur.AccountID) // provisioning: read before the pools
	if err != nil {
		return views.SeatsView{}, err
	}
	pools, err := h.seatPools(c, cur.AccountID)
	if err != nil {
		return views.SeatsView{}, err
	}
	v := views.SeatsView{CanAssign: licensing.Can(licensing.Role(cur.Role), licensing.AssignSeats), Results: results,
		CanBuy:  licensing.Can(licensing.Role(cur.Role), licensing.ManageBilling),
		Version: version}
	for _, p := range pools {
		pv := views.SeatPoolView{ID: p.SubscriptionID, ProductKey: p.ProductKey, ProductName: p.ProductName,
			PlanName: p.PlanName, Status: p.Status, SeatBased: p.SeatBased, Purchased: p.Purchased, Granted: p.Granted(),
			Effective: p.Effective, Assigned: p.Assigned, Free: p.Free(), Over: p.Over(), AutoAssign: p.AutoAssign,
			HoldersTotal: p.Assigned, Ending: licensing.Status(p.Status).Ending(p.CancelAtPeriodEnd)}
		if p.SeatBased {
			holders, err := h.Store.SeatHolders(ctx, cur.AccountID, p.SubscriptionID, holdersShown)
			if err != nil {
				return views.SeatsView{}, err
			}
			for i, hd := range holders {
				pv.Holders = append(pv.Holders, views.SeatHolderView{MembershipID: hd.MembershipID, Name: hd.Name,
					Email: hd.Email, Status: hd.Status, LastActive: views.FormatActivity(hd.LastActivity()),
					AssignedAt: hd.AssignedAt.UTC().Format("2 Jan 2006"), Suggested: i < p.Over()})
			}
		}
		if p.SeatBased { // provisioning: where seats came from, who waits
			if err := h.provisioningPool(c, cur.AccountID, &pv); err != nil {
				return views.SeatsView{}, err
			}
		}
		v.Pools = append(v.Pools, pv)
	}
	return v, nil
}

// AssignSeats assigns seats of one subscription to the members selected
// (member_id, from the members page) or named by address (email, from the
// seats page). A single member refused for want of a seat is a 409.
func (h *Handler) AssignSeats(c echo.Context) error {
	cur, _ := Current(c)
	subID, err := parseID(c.FormValue("subscription"))
	if err != nil {
		return err
	}
	var results []store.SeatResult
	if ids, err := formIDs(c); err != nil {
		return err
	} else if len(ids) > 0 {
		results, err = h.Store.AssignSeats(c.Request().Context(), cur.Principal(), subID, ids)
		if err != nil {
			return err
		}
	} else {
		addresses := strings.FieldsFunc(c.FormValue("email"), func(r rune) bool {
			return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
		})
		if len(addresses) == 0 {
			return store.Invalid("email", "choose members or enter an address")
		}
		for _, a := range addresses {
			if len(a) > maxAddress {
				return store.Invalid("email", "an email address has at most 320 characters")
			}
		}
		results, err = h.Store.AssignSeatsByEmail(c.Request().Context(), cur.Principal(), subID, addresses)
		if err != nil {
			return err
		}
	}
	if len(results) == 1 && results[0].Outcome == store.SeatNoSeatLeft {
		return store.ErrNoSeatLeft
	}
	return h.seatResults(c, subID, results, false)
}

// UnassignSeats takes the seats of one subscription from the selected
// members.
func (h *Handler) UnassignSeats(c echo.Context) error {
	cur, _ := Current(c)
	subID, err := parseID(c.FormValue("subscription"))
	if err != nil {
		return err
	}
	ids, err := formIDs(c)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return store.Invalid("member_id", "choose the members whose seats to unassign")
	}
	results, err := h.Store.UnassignSeats(c.Request().Context(), cur.Principal(), subID, ids)
	if err != nil {
		return err
	}
	return h.seatResults(c, subID, results, false)
}

// PreviewSeatCSV checks an uploaded file of addresses and answers every row
// as assigning would; nothing changes until the admin confirms.
func (h *Handler) PreviewSeatCSV(c echo.Context) error {
	cur, _ := Current(c)
	subID, err := parseID(c.FormValue("subscription"))
	if err != nil {
		return err
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return store.Invalid("file", "choose a CSV file to upload")
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSeatCSV+1))
	if err != nil {
		return err
	}
	if len(data) > maxSeatCSV {
		return store.Invalid("file", "the file is larger than 2 MB")
	}
	results, err := h.Store.PreviewSeatCSV(c.Request().Context(), cur.Principal(), subID, data)
	if err != nil {
		return err
	}
	return h.seatResults(c, subID, results, true)
}

// ApplySeatCSV assigns the rows the admin confirmed after a preview.
func (h *Handler) ApplySeatCSV(c echo.Context) error {
	cur, _ := Current(c)
	subID, err := parseID(c.FormValue("subscription"))
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	if len(form["email"]) == 0 {
		return store.Invalid("email", "no row to apply")
	}
	results, err := h.Store.AssignSeatsByEmail(c.Request().Context(), cur.Principal(), subID, form["email"])
	if err != nil {
		return err
	}
	return h.seatResults(c, subID, results, false)
}

// SetAutoAssign turns auto-assign of a subscription on or off.
func (h *Handler) SetAutoAssign(c echo.Context) error {
	cur, _ := Current(c)
	subID, err := parseID(c.FormValue("subscription"))
	if err != nil {
		return err
	}
	on := c.FormValue("on") == "true"
	if err := h.Store.SetAutoAssign(c.Request().Context(), cur.Principal(), subID, on); err != nil {
		return err
	}
	if on {
		return h.done(c, "/seats", "New members now get a free seat as they join.")
	}
	return h.done(c, "/seats", "New members no longer get a seat automatically.")
}

// seatResults answers a seat change: htmx (the members page's selection)
// gets the results and the member table reloads; a form post gets the seats
// page with the results under their pool.
func (h *Handler) seatResults(c echo.Context, subID int64, results []store.SeatResult, preview bool) error {
	r := views.SeatResultsView{SubscriptionID: subID, Preview: preview}
	for _, res := range results {
		r.Rows = append(r.Rows, views.SeatResultRow{Line: res.Line, Input: res.Input, Outcome: res.Outcome,
			Message: views.SeatOutcomeLabel(res.Outcome, preview)})
		switch res.Outcome {
		case store.SeatAssigned:
			r.Applicable = append(r.Applicable, res.Email)
		case store.SeatUnknownMember:
			r.Unknown = append(r.Unknown, res.Email)
		}
	}
	if isHTMX(c) {
		c.Response().Header().Set("HX-Trigger", "members-changed")
		return render(c, http.StatusOK, views.SeatResults(h.lightShell(c), r))
	}
	if preview {
		return h.renderSeats(c, &r) // nothing changed: the page with the file's rows and the confirm button
	}
	// A change: back to the seats page (Post/Redirect/Get), which shows the
	// rows under their pool once.
	rows := make([]views.NoticeRow, 0, len(r.Rows))
	done := 0
	for _, row := range r.Rows {
		rows = append(rows, views.NoticeRow{Input: row.Input, Outcome: row.Outcome, Message: row.Message})
		if row.Outcome == store.SeatAssigned || row.Outcome == store.SeatUnassigned {
			done++
		}
	}
	h.setNotice(c, views.Notice{Message: views.SeatChangeSummary(done, len(rows)-done), Rows: rows, Scope: seatScope(subID)})
	return c.Redirect(http.StatusSeeOther, "/seats")
}

func seatScope(subID int64) string { return "subscription:" + strconv.FormatInt(subID, 10) }

// formIDs reads every member_id of the form; one that is not a number names
// nothing.
func formIDs(c echo.Context) ([]int64, error) {
	form, err := c.FormParams()
	if err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return nil, err
	}
	ids := make([]int64, 0, len(form["member_id"]))
	for _, raw := range form["member_id"] {
		id, err := parseID(raw)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// ctxSeatPools caches the account's seat pools for one request: the banners
// and the page both read them. Handlers read them only after their change.
const ctxSeatPools = "entitle.seatpools"

func (h *Handler) seatPools(c echo.Context, accountID int64) ([]store.SeatPool, error) {
	if pools, ok := c.Get(ctxSeatPools).([]store.SeatPool); ok {
		return pools, nil
	}
	pools, err := h.Store.SeatPools(c.Request().Context(), accountID)
	if err == nil {
		c.Set(ctxSeatPools, pools)
	}
	return pools, err
}
