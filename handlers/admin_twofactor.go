package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// startStaffSession finishes a staff sign-in after the password: with
// two-factor on, the code comes first; without it, the session starts (and
// a role that needs two-factor is sent to enrol before anything else).
func (h *Handler) startStaffSession(c echo.Context, staff store.StaffSession) error {
	if staff.TwoFactor {
		if err := h.savePending(c, StaffCookie, staff.StaffID, 0, 0); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/admin/login/code")
	}
	return h.finishStaffSession(c, staff.StaffID)
}

func (h *Handler) finishStaffSession(c echo.Context, staffID int64) error {
	token, err := h.Store.CreateStaffSession(c.Request().Context(), staffID)
	if err != nil {
		return err
	}
	if err := h.saveSessionCookie(c, StaffCookie, token); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin")
}

func staffOwner(st store.StaffSession) store.TwoFactorOwner {
	return store.TwoFactorOwner{Staff: true, ID: st.StaffID, Email: st.Email}
}

// AdminCodeForm asks a staff member for their two-factor code.
func (h *Handler) AdminCodeForm(c echo.Context) error {
	if _, _, _, ok := h.pending(c, StaffCookie); !ok {
		return c.Redirect(http.StatusSeeOther, "/admin/login")
	}
	return render(c, http.StatusOK, views.AdminCodePage(h.adminShell(c, "Two-factor code", ""),
		views.CodeView{Action: "/admin/login/code", CSRF: csrfToken(c)}))
}

// AdminCode finishes a staff sign-in with the code.
func (h *Handler) AdminCode(c echo.Context) error {
	staffID, _, _, ok := h.pending(c, StaffCookie)
	if !ok {
		h.addConsoleFlash(c, "Your sign-in took too long: enter your password again.")
		return redirectAfterPost(c, "/admin/login")
	}
	problem, status, err := h.checkCode(c, store.TwoFactorOwner{Staff: true, ID: staffID}, c.FormValue("code"))
	if err != nil {
		return err
	}
	if problem != "" {
		return render(c, status, views.AdminCodePage(h.adminShell(c, "Two-factor code", ""),
			views.CodeView{Action: "/admin/login/code", Problem: problem, CSRF: csrfToken(c)}))
	}
	return h.finishStaffSession(c, staffID)
}

// AdminTwoFactor shows a staff member's enrolment (QR code), or that it
// is on.
func (h *Handler) AdminTwoFactor(c echo.Context) error {
	st, _ := CurrentStaff(c)
	if st.TwoFactor {
		return render(c, http.StatusOK, views.AdminEnrolPage(h.adminShell(c, "Two-factor sign-in", ""),
			views.EnrolView{Enabled: true, Back: "/admin"}))
	}
	e, err := h.enrolment(c, staffOwner(st))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.AdminEnrolPage(h.adminShell(c, "Two-factor sign-in", ""),
		views.EnrolView{Action: "/admin/two-factor", QR: e.QR, Secret: e.Secret, CSRF: csrfToken(c),
			Required: store.StaffNeedsTwoFactor(st.Role), Back: "/admin"}))
}

// EnableAdminTwoFactor confirms the staff member's first code.
func (h *Handler) EnableAdminTwoFactor(c echo.Context) error {
	st, _ := CurrentStaff(c)
	codes, problem, err := h.confirmEnrolment(c, staffOwner(st), c.FormValue("code"))
	if err != nil {
		return err
	}
	if problem != "" {
		e, err := h.enrolment(c, staffOwner(st))
		if err != nil {
			return err
		}
		return render(c, http.StatusUnprocessableEntity, views.AdminEnrolPage(h.adminShell(c, "Two-factor sign-in", ""),
			views.EnrolView{Action: "/admin/two-factor", QR: e.QR, Secret: e.Secret, Problem: problem, CSRF: csrfToken(c),
				Required: store.StaffNeedsTwoFactor(st.Role), Back: "/admin"}))
	}
	return render(c, http.StatusOK, views.AdminRecoveryCodesPage(h.adminShell(c, "Two-factor sign-in", ""), codes, "/admin"))
}

// StaffPasswordForm shows a staff member's set-password link.
func (h *Handler) StaffPasswordForm(c echo.Context) error {
	email, err := h.Store.StaffPasswordEmail(c.Request().Context(), c.Param("token"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.StaffPasswordPage(h.adminShell(c, "Choose your password", ""),
		views.ResetView{Token: c.Param("token"), Email: email, CSRF: csrfToken(c)}))
}

// SetStaffPassword uses the link once; the staff member then signs in.
func (h *Handler) SetStaffPassword(c echo.Context) error {
	ctx := c.Request().Context()
	err := h.Store.SetStaffPassword(ctx, c.Param("token"), c.FormValue("password"))
	if ve, ok := asValidation(err); ok {
		email, lerr := h.Store.StaffPasswordEmail(ctx, c.Param("token"))
		if lerr != nil {
			return lerr
		}
		return render(c, http.StatusUnprocessableEntity, views.StaffPasswordPage(h.adminShell(c, "Choose your password", ""),
			views.ResetView{Token: c.Param("token"), Email: email, Problems: ve.Fields, CSRF: csrfToken(c)}))
	}
	if err != nil {
		return err
	}
	h.addConsoleFlash(c, "Your password is set: sign in with it.")
	return redirectAfterPost(c, "/admin/login")
}
