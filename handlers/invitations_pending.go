package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// PendingInvitations answers the members page's card of invitations
// waiting for an answer (it reloads itself after new invitations): the
// latest few, or every one after "Show all".
func (h *Handler) PendingInvitations(c echo.Context) error {
	cur, _ := Current(c)
	card, err := h.pendingCard(c, cur.AccountID, showAllPending(c.QueryParam("invitations")))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.PendingInvitations(h.lightShell(c), card))
}

// showAllPending reads the card's "invitations=all", carried by the "Show
// all" link and by the card's own forms so an action keeps the long list.
func showAllPending(v string) bool { return v == "all" }

func (h *Handler) pendingCard(c echo.Context, accountID int64, all bool) (views.PendingCard, error) {
	pending, total, err := h.Store.PendingInvitations(c.Request().Context(), accountID, all)
	if err != nil {
		return views.PendingCard{}, err
	}
	card := views.PendingCard{Rows: make([]views.PendingRow, 0, len(pending)), Total: total, All: all}
	for _, p := range pending {
		card.Rows = append(card.Rows, views.PendingRow{ID: p.MembershipID, Email: p.Email, Role: p.Role, SentAt: p.SentAt, ExpiresAt: p.ExpiresAt})
	}
	return card, nil
}

// ResendInvitations sends the selected invitations again: new links, the
// old ones dead.
func (h *Handler) ResendInvitations(c echo.Context) error {
	return h.actOnInvitations(c, "resent", func(p store.Principal, ids []int64) ([]string, error) {
		return h.Store.ResendInvitations(c.Request().Context(), p, ids, h.baseURL(c))
	}, views.PendingResentMessage)
}

// RevokeInvitations withdraws the selected invitations.
func (h *Handler) RevokeInvitations(c echo.Context) error {
	return h.actOnInvitations(c, "revoked", func(p store.Principal, ids []int64) ([]string, error) {
		return h.Store.RevokeInvitations(c.Request().Context(), p, ids)
	}, views.PendingRevokedMessage)
}

// actOnInvitations runs one action on the selected invitations (all or
// none) and answers: htmx gets the card with each outcome beside its row
// (a revoked row stays, marked, until the next reload); a plain post goes
// back to the members page with one line per person.
func (h *Handler) actOnInvitations(c echo.Context, outcome string, act func(store.Principal, []int64) ([]string, error), message func(string) string) error {
	cur, _ := Current(c)
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	var ids []int64
	for _, raw := range form["invitation"] {
		id, err := parseID(raw)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return store.Invalid("invitation", "select at least one invitation")
	}
	all := showAllPending(c.FormValue("invitations"))
	before, err := h.pendingCard(c, cur.AccountID, all)
	if err != nil {
		return err
	}
	emails, err := act(cur.Principal(), ids)
	if err != nil {
		return err
	}
	if !isHTMX(c) {
		rows := make([]views.NoticeRow, 0, len(emails))
		for _, e := range emails {
			rows = append(rows, views.NoticeRow{Input: e, Outcome: outcome, Message: message(e)})
		}
		return h.done(c, "/members", views.PendingSummary(outcome, len(emails)), rows...)
	}
	after, err := h.pendingCard(c, cur.AccountID, all)
	if err != nil {
		return err
	}
	acted := map[int64]bool{}
	for _, id := range ids {
		acted[id] = true
	}
	after.Rows = mergePending(before.Rows, after.Rows)
	for i := range after.Rows {
		if acted[after.Rows[i].ID] {
			after.Rows[i].Outcome, after.Rows[i].Message = outcome, message(after.Rows[i].Email)
		}
	}
	// The member table shows statuses: it reloads itself.
	c.Response().Header().Set("HX-Trigger", "members-changed")
	return render(c, http.StatusOK, views.PendingInvitations(h.lightShell(c), after))
}

// mergePending keeps the rows in their place: those still pending take
// their new dates, those gone (revoked) stay marked, new ones follow.
func mergePending(before, after []views.PendingRow) []views.PendingRow {
	now := map[int64]views.PendingRow{}
	for _, r := range after {
		now[r.ID] = r
	}
	out := make([]views.PendingRow, 0, len(before)+len(after))
	seen := map[int64]bool{}
	for _, r := range before {
		if n, ok := now[r.ID]; ok {
			r = n
		} else {
			r.Outcome = "revoked"
		}
		seen[r.ID] = true
		out = append(out, r)
	}
	for _, r := range after {
		if !seen[r.ID] {
			out = append(out, r)
		}
	}
	return out
}
