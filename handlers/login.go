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

// LoginForm shows the sign-in page.
func (h *Handler) LoginForm(c echo.Context) error {
	if _, ok := Current(c); ok {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return render(c, http.StatusOK, views.LoginPage(h.shell(c, "Sign in", ""), "", ""))
}

// Login checks the credentials, starts a fresh session (a new token, so a
// session fixed before sign-in is worthless) and lands on the overview.
func (h *Handler) Login(c echo.Context) error {
	email := strings.TrimSpace(c.FormValue("email"))
	password := c.FormValue("password")
	if email == "" || password == "" {
		return render(c, http.StatusUnprocessableEntity, views.LoginPage(h.shell(c, "Sign in", ""), email, "Enter your email and password."))
	}
	login, err := h.Store.Authenticate(c.Request().Context(), email, password, c.RealIP())
	var throttled *store.ThrottledError
	switch {
	case errors.As(err, &throttled):
		c.Response().Header().Set("Retry-After", fmt.Sprint(int(throttled.RetryAfter.Seconds())))
		return render(c, http.StatusTooManyRequests, views.LoginPage(h.shell(c, "Sign in", ""), email,
			fmt.Sprintf("Too many failed sign-ins. Try again in %d minutes.", int(throttled.RetryAfter.Minutes()))))
	case errors.Is(err, store.ErrBadCredentials):
		h.log(c).Info("sign-in failed")
		return render(c, http.StatusUnauthorized, views.LoginPage(h.shell(c, "Sign in", ""), email, "Wrong email or password."))
	case err != nil:
		return err
	}
	token, err := h.Store.CreateCustomerSession(c.Request().Context(), login)
	if err != nil {
		return err
	}
	sess, _ := h.Sessions.New(c.Request(), SessionCookie)
	sess.Values = map[any]any{sessionToken: token}
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

// Logout ends the session in the database and clears the cookie.
func (h *Handler) Logout(c echo.Context) error {
	if tok := h.SessionToken(c); tok != "" {
		if err := h.Store.DeleteSession(c.Request().Context(), tok); err != nil {
			return err
		}
	}
	sess, _ := h.Sessions.New(c.Request(), SessionCookie)
	sess.Options.MaxAge = -1
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}
