package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// resetSent is the one answer to every accepted "forgot password" form,
// whether or not the address has a login.
const resetSent = "If that address has an Entitle login, a link to choose a new password is on its way. It works once, for 30 minutes."

// ForgotForm shows /password/forgot.
func (h *Handler) ForgotForm(c echo.Context) error {
	return render(c, http.StatusOK, views.ForgotPage(h.shell(c, "Forgot your password", ""), views.ForgotView{CSRF: csrfToken(c)}))
}

// Forgot mails a reset link when the address has a login; the answer is
// the same either way.
func (h *Handler) Forgot(c echo.Context) error {
	v := views.ForgotView{Email: strings.TrimSpace(c.FormValue("email")), CSRF: csrfToken(c)}
	err := h.Store.RequestPasswordReset(c.Request().Context(), v.Email, c.RealIP(), h.baseURL(c))
	var ve *store.ValidationError
	var throttled *store.ThrottledError
	switch {
	case errors.As(err, &ve):
		v.Problems = ve.Fields
		return render(c, http.StatusUnprocessableEntity, views.ForgotPage(h.shell(c, "Forgot your password", ""), v))
	case errors.As(err, &throttled):
		v.Problems = map[string]string{"email": "too many requests from here or for this address: try again in 15 minutes"}
		c.Response().Header().Set("Retry-After", "900")
		return render(c, http.StatusTooManyRequests, views.ForgotPage(h.shell(c, "Forgot your password", ""), v))
	case err != nil:
		return err
	}
	h.addFlash(c, SessionCookie, resetSent)
	return redirectAfterPost(c, "/password/forgot")
}

// ResetForm shows a reset link's page.
func (h *Handler) ResetForm(c echo.Context) error {
	email, err := h.Store.ResetEmail(c.Request().Context(), c.Param("token"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ResetPage(h.shell(c, "Choose a new password", ""),
		views.ResetView{Token: c.Param("token"), Email: email, CSRF: csrfToken(c)}))
}

// Reset uses the link once: the new password is set and every session of
// the person ends, this browser's included; they sign in again.
func (h *Handler) Reset(c echo.Context) error {
	ctx := c.Request().Context()
	_, err := h.Store.ResetPassword(ctx, c.Param("token"), c.FormValue("password"))
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		email, lerr := h.Store.ResetEmail(ctx, c.Param("token"))
		if lerr != nil {
			return lerr
		}
		return render(c, http.StatusUnprocessableEntity, views.ResetPage(h.shell(c, "Choose a new password", ""),
			views.ResetView{Token: c.Param("token"), Email: email, Problems: ve.Fields, CSRF: csrfToken(c)}))
	}
	if err != nil {
		return err
	}
	if err := h.endSession(c, SessionCookie, ""); err != nil {
		return err
	}
	h.addFlash(c, SessionCookie, "Your password is changed and every session of yours has ended. Sign in with the new password.")
	return redirectAfterPost(c, "/login")
}
