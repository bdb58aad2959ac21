package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// StaffCookie is the vendor console's own session cookie.
const StaffCookie = "entitle_staff"

const ctxStaff = "entitle.staff"

// SetCurrentStaff records the signed-in staff member for the request.
func SetCurrentStaff(c echo.Context, s store.StaffSession) { c.Set(ctxStaff, s) }

// CurrentStaff is the signed-in staff member, if any.
func CurrentStaff(c echo.Context) (store.StaffSession, bool) {
	s, ok := c.Get(ctxStaff).(store.StaffSession)
	return s, ok
}

// StaffToken reads the staff session token from its signed cookie.
func (h *Handler) StaffToken(c echo.Context) string {
	sess, err := h.Sessions.Get(c.Request(), StaffCookie)
	if err != nil {
		return ""
	}
	tok, _ := sess.Values[sessionToken].(string)
	return tok
}

// adminShell builds the console layout's data.
func (h *Handler) adminShell(c echo.Context, title, active string) views.AdminShell {
	s := views.AdminShell{Title: title, Active: active}
	s.CSRF, _ = c.Get(ctxCSRF).(string)
	if st, ok := CurrentStaff(c); ok {
		s.Staff = &views.Staff{Email: st.Email, Name: st.Name, Role: st.Role}
	}
	return s
}

// AdminLoginForm shows the console's sign-in page.
func (h *Handler) AdminLoginForm(c echo.Context) error {
	if _, ok := CurrentStaff(c); ok {
		return c.Redirect(http.StatusSeeOther, "/admin")
	}
	return render(c, http.StatusOK, views.AdminLoginPage(h.adminShell(c, "Staff sign in", ""), "", ""))
}

// AdminLogin signs a staff member in with a fresh session token.
func (h *Handler) AdminLogin(c echo.Context) error {
	email := strings.TrimSpace(c.FormValue("email"))
	staff, err := h.Store.AuthenticateStaff(c.Request().Context(), email, c.FormValue("password"), c.RealIP())
	var throttled *store.ThrottledError
	switch {
	case errors.As(err, &throttled):
		c.Response().Header().Set("Retry-After", fmt.Sprint(int(throttled.RetryAfter.Seconds())))
		return render(c, http.StatusTooManyRequests, views.AdminLoginPage(h.adminShell(c, "Staff sign in", ""), email,
			fmt.Sprintf("Too many failed sign-ins. Try again in %d minutes.", int(throttled.RetryAfter.Minutes()))))
	case errors.Is(err, store.ErrBadCredentials):
		return render(c, http.StatusUnauthorized, views.AdminLoginPage(h.adminShell(c, "Staff sign in", ""), email, "Wrong email or password."))
	case err != nil:
		return err
	}
	token, err := h.Store.CreateStaffSession(c.Request().Context(), staff.StaffID)
	if err != nil {
		return err
	}
	sess, _ := h.Sessions.New(c.Request(), StaffCookie)
	sess.Values = map[any]any{sessionToken: token}
	sess.Options.Path = "/"
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin")
}

// AdminLogout ends the staff session.
func (h *Handler) AdminLogout(c echo.Context) error {
	if tok := h.StaffToken(c); tok != "" {
		if err := h.Store.DeleteSession(c.Request().Context(), tok); err != nil {
			return err
		}
	}
	sess, _ := h.Sessions.New(c.Request(), StaffCookie)
	sess.Options.MaxAge = -1
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/login")
}

// AdminHome lists the accounts (the console's starting point).
func (h *Handler) AdminHome(c echo.Context) error {
	accounts, err := h.Store.ListAccounts(c.Request().Context())
	if err != nil {
		return err
	}
	rows := make([]views.AdminAccountRow, 0, len(accounts))
	for _, a := range accounts {
		rows = append(rows, views.AdminAccountRow{Slug: a.Slug, Name: a.Name, Plan: a.Plan.String, Status: a.Status.String, Members: a.Members})
	}
	return render(c, http.StatusOK, views.AdminHomePage(h.adminShell(c, "Accounts", "accounts"), rows))
}
