package handlers

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// AdminStaff lists staff accounts for admins.
func (h *Handler) AdminStaff(c echo.Context) error {
	staff, err := h.Store.ListStaff(c.Request().Context())
	if err != nil {
		return err
	}
	return h.renderStaff(c, http.StatusOK, staff, views.StaffInviteForm{})
}

func (h *Handler) renderStaff(c echo.Context, status int, staff []store.StaffMember, form views.StaffInviteForm) error {
	me, _ := CurrentStaff(c)
	rows := make([]views.AdminStaffRow, 0, len(staff))
	for _, s := range staff {
		rows = append(rows, views.AdminStaffRow{Email: s.Email, Name: s.Name, Role: s.Role, DisabledAt: s.DisabledAt.Time,
			Sessions: s.Sessions, Impersonations: s.ActiveImpersonations, Self: s.ID == me.StaffID})
	}
	form.Roles = store.StaffRoles
	return render(c, status, views.AdminStaffPage(h.adminShell(c, "Staff", "staff"), rows, form))
}

// InviteStaff creates a staff member; the set-password link goes to them
// through the outbox.
func (h *Handler) InviteStaff(c echo.Context) error {
	ctx := c.Request().Context()
	form := views.StaffInviteForm{Email: c.FormValue("email"), Name: c.FormValue("name"), Role: c.FormValue("role")}
	_, err := h.Store.CreateStaff(ctx, actorFrom(c), store.NewStaff{Email: form.Email, Name: form.Name, Role: form.Role,
		BaseURL: h.baseURL(c)})
	if ve, ok := asValidation(err); ok {
		staff, lerr := h.Store.ListStaff(ctx)
		if lerr != nil {
			return lerr
		}
		form.Problems = ve.Fields
		return h.renderStaff(c, http.StatusUnprocessableEntity, staff, form)
	}
	if err != nil {
		return err
	}
	h.addConsoleFlash(c, fmt.Sprintf("%s is invited as %s: their link to choose a password is in the outbox.",
		strings.TrimSpace(form.Email), form.Role))
	return redirectAfterPost(c, "/admin/staff")
}

// ChangeStaffRole gives a staff member another role.
func (h *Handler) ChangeStaffRole(c echo.Context) error {
	if err := h.Store.ChangeStaffRole(c.Request().Context(), actorFrom(c), c.FormValue("email"), c.FormValue("role")); err != nil {
		return err
	}
	h.addConsoleFlash(c, fmt.Sprintf("%s is now %s.", c.FormValue("email"), c.FormValue("role")))
	return redirectAfterPost(c, "/admin/staff")
}

// DisableStaff disables a staff account: its sessions and support
// sessions end at once.
func (h *Handler) DisableStaff(c echo.Context) error {
	res, err := h.Store.DisableStaff(c.Request().Context(), actorFrom(c), c.FormValue("email"))
	if err != nil {
		return err
	}
	h.addConsoleFlash(c, fmt.Sprintf("%s is disabled: %d %s and %d support %s ended.", res.Email,
		res.Sessions, consolePlural(res.Sessions, "session", "sessions"),
		res.Impersonations, consolePlural(res.Impersonations, "session", "sessions")))
	return redirectAfterPost(c, "/admin/staff")
}
