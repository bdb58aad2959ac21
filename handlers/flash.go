package handlers

import (
	"errors"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
)

// Flash messages ride in a signed cookie from a form post to the page it
// redirects to (Post/Redirect/Get): the portal's cookie, signed in or not,
// or the console's.
func (h *Handler) addFlash(c echo.Context, msg string) { h.addFlashIn(c, SessionCookie, msg) }

func (h *Handler) takeFlash(c echo.Context) string { return h.takeFlashIn(c, SessionCookie) }

func (h *Handler) addConsoleFlash(c echo.Context, msg string) { h.addFlashIn(c, StaffCookie, msg) }

func (h *Handler) takeConsoleFlash(c echo.Context) string { return h.takeFlashIn(c, StaffCookie) }

func (h *Handler) addFlashIn(c echo.Context, cookie, msg string) {
	sess, err := h.Sessions.Get(c.Request(), cookie)
	if err != nil {
		return
	}
	sess.AddFlash(msg)
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		h.Logger.Warn("save flash", "err", err)
	}
}

// takeFlashIn reads and clears the flash left by the previous request.
func (h *Handler) takeFlashIn(c echo.Context, cookie string) string {
	sess, err := h.Sessions.Get(c.Request(), cookie)
	if err != nil {
		return ""
	}
	flashes := sess.Flashes()
	if len(flashes) == 0 {
		return ""
	}
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		h.Logger.Warn("clear flash", "err", err)
	}
	msgs := make([]string, 0, len(flashes))
	for _, f := range flashes {
		if m, ok := f.(string); ok {
			msgs = append(msgs, m)
		}
	}
	return strings.Join(msgs, " ")
}

// asValidation tells whether err is a ValidationError, for handlers that
// re-render their form with the messages beside the fields.
func asValidation(err error) (*store.ValidationError, bool) {
	var ve *store.ValidationError
	ok := errors.As(err, &ve)
	return ve, ok
}
