package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/views"
)

// LoginForm shows the sign-in page.
func (h *Handler) LoginForm(c echo.Context) error {
	if _, ok := Current(c); ok {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return render(c, http.StatusOK, views.LoginPage(h.shell(c, "Sign in", ""), "", ""))
}

// Login checks the credentials, starts a fresh session and lands on the
// overview.
func (h *Handler) Login(c echo.Context) error {
	email := strings.TrimSpace(c.FormValue("email"))
	password := c.FormValue("password")
	step, err := h.passwordSignIn(c, email, password)
	if err != nil || step.answered {
		return err
	}
	if email == "" || password == "" {
		return render(c, http.StatusUnprocessableEntity, views.LoginPage(h.shell(c, "Sign in", ""), email, "Enter your email and password."))
	}
	login, err := h.Store.Authenticate(c.Request().Context(), email, password, c.RealIP())
	if err != nil {
		status, message, ok := signInRefusal(c, err)
		if !ok {
			return err
		}
		h.log(c).Info("sign-in refused", "status", status)
		return render(c, status, views.LoginPage(h.shell(c, "Sign in", ""), email, message))
	}
	if err := step.after(c.Request().Context(), login); err != nil {
		return err
	}
	return h.startSession(c, login)
}

// Logout ends the session in the database and clears the cookie.
func (h *Handler) Logout(c echo.Context) error {
	if err := h.endSession(c, SessionCookie, h.SessionToken(c)); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}
