package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
)

// saveSessionCookie writes a fresh signed cookie holding a session token.
// A new token at every sign-in means a session fixed before it is worthless.
// The request's own session object is reused (not a new one), so that a
// flash added later in the same request lands in the same cookie.
func (h *Handler) saveSessionCookie(c echo.Context, name, token string) error {
	sess, _ := h.Sessions.Get(c.Request(), name)
	sess.Values = map[any]any{sessionToken: token}
	return sess.Save(c.Request(), c.Response())
}

// endSession deletes the session row behind the cookie and clears it.
func (h *Handler) endSession(c echo.Context, name, token string) error {
	if token != "" {
		if err := h.Store.DeleteSession(c.Request().Context(), token); err != nil {
			return err
		}
	}
	sess, _ := h.Sessions.Get(c.Request(), name)
	sess.Values = map[any]any{} // signed out; a flash may still follow
	return sess.Save(c.Request(), c.Response())
}

// signInRefusal turns a failed sign-in into a status and the sentence the
// form shows. The same sentence answers a wrong password and an unknown
// email, so the form never tells whether an account exists. ok is false for
// unexpected errors, which the caller returns.
func signInRefusal(c echo.Context, err error) (status int, message string, ok bool) {
	var throttled *store.ThrottledError
	switch {
	case errors.As(err, &throttled):
		c.Response().Header().Set("Retry-After", fmt.Sprint(int(throttled.RetryAfter.Seconds())))
		return http.StatusTooManyRequests, fmt.Sprintf("Too many failed sign-ins. Try again in %d minutes.", int(throttled.RetryAfter.Minutes())), true
	case errors.Is(err, store.ErrBadCredentials):
		return http.StatusUnauthorized, "Wrong email or password.", true
	}
	return 0, "", false
}
