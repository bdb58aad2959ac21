package handlers

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// Members lists the account's members with search, filters and keyset
// pages; htmx requests (typing in the search box, paging) get the table.
func (h *Handler) Members(c echo.Context) error {
	v, err := h.membersView(c)
	if err != nil {
		return err
	}
	if isHTMX(c) {
		// The address bar shows the search and filters, without empty ones.
		c.Response().Header().Set("HX-Push-Url", v.URL())
		return render(c, http.StatusOK, views.MemberTable(h.lightShell(c), v))
	}
	return render(c, http.StatusOK, views.MembersPage(h.shell(c, "Members", "members"), v))
}

// lightShell carries what a partial needs (the CSRF token, who acts) without
// loading the banners.
func (h *Handler) lightShell(c echo.Context) views.Shell {
	s := views.Shell{}
	s.CSRF, _ = c.Get(ctxCSRF).(string)
	if cur, ok := Current(c); ok {
		// The role and the support session decide which controls work.
		s.User = &views.User{Email: cur.Email, Role: cur.Role}
		if cur.Impersonated() {
			s.Impersonation = impersonationBanner(cur, h.Clock.Now())
		}
	}
	return s
}

func (h *Handler) membersView(c echo.Context) (views.MembersView, error) {
	cur, _ := Current(c)
	ctx := c.Request().Context()
	role := licensing.Role(cur.Role)
	f := views.MemberFilter{Query: c.QueryParam("q"), Role: c.QueryParam("role"), Status: c.QueryParam("status"), Seat: c.QueryParam("seat")}
	page, err := h.MemberTotals.Members(ctx, h.Store, cur.AccountID, store.MemberFilter{Query: f.Query, Role: f.Role, Status: f.Status,
		Seat: f.Seat, After: c.QueryParam("after"), Before: c.QueryParam("before")})
	if err != nil {
		return views.MembersView{}, err
	}
	v := views.MembersView{Filter: f, Total: page.Total, Next: page.Next, Prev: page.Prev,
		CanManage: licensing.Can(role, licensing.InviteMembers), IsOwner: role == licensing.Owner,
		CanAssign: licensing.Can(role, licensing.AssignSeats)}
	if a := c.QueryParam("after"); a != "" {
		v.Page = "after=" + a
	} else if b := c.QueryParam("before"); b != "" {
		v.Page = "before=" + b
	}
	for _, r := range page.Rows {
		v.Rows = append(v.Rows, views.MemberRow{ID: r.MembershipID, Name: r.Name, Email: r.Email, Role: r.Role,
			Status: r.Status, Products: r.Products, LastActive: views.FormatActivity(r.LastActivity()), Self: r.MembershipID == cur.MembershipID,
			Managed: r.Source == "scim"})
	}
	if v.CanAssign {
		pools, err := h.seatPools(c, cur.AccountID)
		if err != nil {
			return views.MembersView{}, err
		}
		for _, p := range pools {
			if p.SeatBased && p.Status != string(licensing.Canceled) {
				v.Pools = append(v.Pools, views.PoolOption{ID: p.SubscriptionID, Name: p.ProductName + " (" + p.PlanName + ")"})
			}
		}
	}
	if v.CanManage && !isHTMX(c) {
		domains, err := h.Store.InviteDomains(ctx, cur.AccountID)
		if err != nil {
			return views.MembersView{}, err
		}
		v.Domains = strings.Join(domains, ", ")
		if v.Pending, err = h.pendingCard(c, cur.AccountID, showAllPending(c.QueryParam("invitations"))); err != nil {
			return views.MembersView{}, err
		}
	}
	return v, nil
}

func lastActive(t time.Time) string {
	if t.IsZero() {
		return "Never"
	}
	return t.UTC().Format("2 Jan 2006 15:04")
}

// Invite invites one or many addresses and answers per address.
func (h *Handler) Invite(c echo.Context) error {
	cur, _ := Current(c)
	ctx := c.Request().Context()
	results, err := h.Store.Invite(ctx, cur.Principal(), store.InviteRequest{Addresses: c.FormValue("emails"),
		Role: licensing.Role(c.FormValue("role")), BaseURL: h.baseURL(c)})
	if err != nil {
		return err
	}
	domains, err := h.Store.InviteDomains(ctx, cur.AccountID)
	if err != nil {
		return err
	}
	answers := make([]views.InviteAnswer, 0, len(results))
	sent := 0
	for _, r := range results {
		answers = append(answers, views.InviteAnswer{Input: r.Input, Outcome: r.Outcome,
			Message: views.InviteOutcomeLabel(r.Outcome, strings.Join(domains, ", "))})
		if r.Outcome == store.InviteSent || r.Outcome == store.InviteResent {
			sent++
		}
	}
	if isHTMX(c) {
		c.Response().Header().Set("HX-Trigger", "members-changed, invitations-changed")
		return render(c, http.StatusOK, views.InviteResults(answers))
	}
	rows := make([]views.NoticeRow, 0, len(answers))
	for _, a := range answers {
		rows = append(rows, views.NoticeRow{Input: a.Input, Outcome: a.Outcome, Message: a.Message})
	}
	return h.done(c, "/members", strconv.Itoa(sent)+" "+plural(sent, "invitation", "invitations")+" sent.", rows...)
}

// membersAfterChange answers a change made from the members page: htmx gets
// the message (and the table reloads itself on members-changed); a plain
// form post goes back to the page, which shows the message once.
func (h *Handler) membersAfterChange(c echo.Context, msg string) error {
	if isHTMX(c) {
		c.Response().Header().Set("HX-Trigger", "members-changed")
		return render(c, http.StatusOK, views.Flash(msg))
	}
	return h.done(c, "/members", msg)
}

// ChangeRole gives a member another role.
func (h *Handler) ChangeRole(c echo.Context) error {
	cur, _ := Current(c)
	id, err := pathID(c)
	if err != nil {
		return err
	}
	role := licensing.Role(c.FormValue("role"))
	if err := h.Store.ChangeRole(c.Request().Context(), cur.Principal(), id, role); err != nil {
		return err
	}
	if id == cur.MembershipID {
		return h.reloadSelf(c) // one's own role changed: the page's permissions did too
	}
	email, err := h.Store.MemberEmail(c.Request().Context(), cur.AccountID, id)
	if err != nil {
		return err
	}
	return h.membersAfterChange(c, email+" is now "+views.RoleLabel(string(role))+".")
}

// RemoveMember removes a member: their seats are freed and their sessions
// end at once.
func (h *Handler) RemoveMember(c echo.Context) error {
	cur, _ := Current(c)
	id, err := pathID(c)
	if err != nil {
		return err
	}
	email, err := h.Store.MemberEmail(c.Request().Context(), cur.AccountID, id)
	if err != nil {
		return err
	}
	if err := h.Store.RemoveMember(c.Request().Context(), cur.Principal(), id); err != nil {
		return err
	}
	if id == cur.MembershipID {
		return h.reloadSelf(c)
	}
	return h.membersAfterChange(c, email+" removed: their seats are free and they are signed out.")
}

// reloadSelf sends the browser to a fresh page after a change to the
// signed-in member's own membership (the login page if it ended).
func (h *Handler) reloadSelf(c echo.Context) error {
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", "/")
		return c.NoContent(http.StatusOK)
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

// SetInviteDomains saves the account's invitation domain rules.
func (h *Handler) SetInviteDomains(c echo.Context) error {
	cur, _ := Current(c)
	if err := h.Store.SetInviteDomains(c.Request().Context(), cur.Principal(), c.FormValue("domains")); err != nil {
		return err
	}
	return h.membersAfterChange(c, "Invitation rules saved.")
}

// pathID reads the :id of the URL; one that is not a number names nothing.
func pathID(c echo.Context) (int64, error) {
	return parseID(c.Param("id"))
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id <= 0 {
		return 0, store.ErrNotFound
	}
	return id, nil
}

// baseURL is where users reach the portal, for links in mail.
func (h *Handler) baseURL(c echo.Context) string {
	if h.PublicURL != "" {
		return h.PublicURL
	}
	return c.Scheme() + "://" + c.Request().Host
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
