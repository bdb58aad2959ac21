package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// SettingsHome sends /settings to the first settings page the signed-in
// person's role may open (their profile when it has none).
func (h *Handler) SettingsHome(c echo.Context) error {
	cur, _ := Current(c)
	return c.Redirect(http.StatusSeeOther, views.SettingsHome(cur.Role))
}

// Profile shows /profile: name, password, two-factor and sessions.
func (h *Handler) Profile(c echo.Context) error {
	return h.renderProfile(c, http.StatusOK, views.ProfileView{})
}

func (h *Handler) renderProfile(c echo.Context, status int, v views.ProfileView) error {
	cur, _ := Current(c)
	sessions, err := h.Store.PersonSessions(c.Request().Context(), cur.UserID, h.SessionToken(c))
	if err != nil {
		return err
	}
	if v.Name == "" && v.Problems["name"] == "" {
		v.Name = cur.Name
	}
	v.Email, v.CSRF = cur.Email, csrfToken(c)
	for _, s := range sessions {
		v.Sessions = append(v.Sessions, views.SessionRow{AccountName: s.AccountName, IP: s.IP, UserAgent: s.UserAgent,
			Started: s.CreatedAt, Current: s.Current})
	}
	v.TwoFactor, err = h.Store.PersonHasTOTP(c.Request().Context(), cur.UserID)
	if err != nil {
		return err
	}
	return render(c, status, views.ProfilePage(h.shell(c, "Your profile", "profile"), v))
}

// SetProfileName changes the person's name.
func (h *Handler) SetProfileName(c echo.Context) error {
	cur, _ := Current(c)
	err := h.Store.SetName(c.Request().Context(), cur.UserID, c.FormValue("name"))
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return h.renderProfile(c, http.StatusUnprocessableEntity, views.ProfileView{Name: c.FormValue("name"), Problems: ve.Fields})
	}
	if err != nil {
		return err
	}
	h.addFlash(c, SessionCookie, "Name saved.")
	return redirectAfterPost(c, "/profile")
}

// ChangePassword sets a new password after the current one; every other
// session ends.
func (h *Handler) ChangePassword(c echo.Context) error {
	cur, _ := Current(c)
	err := h.Store.ChangePassword(c.Request().Context(), cur.UserID, h.SessionToken(c),
		c.FormValue("current_password"), c.FormValue("new_password"))
	var ve *store.ValidationError
	var throttled *store.ThrottledError
	switch {
	case errors.As(err, &ve):
		return h.renderProfile(c, http.StatusUnprocessableEntity, views.ProfileView{Problems: ve.Fields})
	case errors.As(err, &throttled):
		return h.renderProfile(c, http.StatusTooManyRequests, views.ProfileView{Problems: map[string]string{
			"current_password": "too many wrong passwords: try again in 15 minutes"}})
	case err != nil:
		return err
	}
	h.addFlash(c, SessionCookie, "Password changed; your other sessions have ended.")
	return redirectAfterPost(c, "/profile")
}

// EndOtherSessions signs the person out everywhere but here.
func (h *Handler) EndOtherSessions(c echo.Context) error {
	cur, _ := Current(c)
	n, err := h.Store.EndOtherSessions(c.Request().Context(), cur.UserID, h.SessionToken(c))
	if err != nil {
		return err
	}
	h.addFlash(c, SessionCookie, fmt.Sprintf("Signed out of %d other %s.", n, plural(n, "session", "sessions")))
	return redirectAfterPost(c, "/profile")
}
