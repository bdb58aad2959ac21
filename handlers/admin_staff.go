package handlers

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/views"
)

// AdminStaff lists staff accounts for admins.
func (h *Handler) AdminStaff(c echo.Context) error {
	staff, err := h.Store.ListStaff(c.Request().Context())
	if err != nil {
		return err
	}
	me, _ := CurrentStaff(c)
	rows := make([]views.AdminStaffRow, 0, len(staff))
	for _, s := range staff {
		rows = append(rows, views.AdminStaffRow{Email: s.Email, Name: s.Name, Role: s.Role, DisabledAt: s.DisabledAt.Time,
			Sessions: s.Sessions, Impersonations: s.ActiveImpersonations, Self: s.ID == me.StaffID})
	}
	return render(c, http.StatusOK, views.AdminStaffPage(h.adminShell(c, "Staff", "staff"), rows))
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
