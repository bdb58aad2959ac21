package handlers

import (
	"errors"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
)

// addFlash keeps a one-time message in the signed cookie name (the staff
// or the customer session) until the next page shows it: the "flash" of
// Post/Redirect/Get.
func (h *Handler) addFlash(c echo.Context, cookie, msg string) {
	sess, err := h.Sessions.Get(c.Request(), cookie)
	if err != nil {
		return
	}
	sess.AddFlash(msg)
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		h.Logger.Warn("save flash", "cookie", cookie, "err", err)
	}
}

// takeFlash reads and clears the messages addFlash kept.
func (h *Handler) takeFlash(c echo.Context, cookie string) string {
	sess, err := h.Sessions.Get(c.Request(), cookie)
	if err != nil {
		return ""
	}
	flashes := sess.Flashes()
	if len(flashes) == 0 {
		return ""
	}
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		h.Logger.Warn("clear flash", "cookie", cookie, "err", err)
	}
	msgs := make([]string, 0, len(flashes))
	for _, f := range flashes {
		if m, ok := f.(string); ok {
			msgs = append(msgs, m)
		}
	}
	return strings.Join(msgs, " ")
}

// redirectWithFlash answers a plain form post: back to page, with msg shown
// once there (the page's handler calls showFlash).
func (h *Handler) redirectWithFlash(c echo.Context, page, msg string) error {
	h.addFlash(c, SessionCookie, msg)
	return c.Redirect(303, page)
}

// showFlash puts the customer's pending flash message on this page.
func (h *Handler) showFlash(c echo.Context) {
	if msg := h.takeFlash(c, SessionCookie); msg != "" {
		c.Set(ctxFlash, msg)
	}
}

// asValidation tells whether err is a ValidationError, for handlers that
// re-render their form with the messages beside the fields.
func asValidation(err error) (*store.ValidationError, bool) {
	var ve *store.ValidationError
	ok := errors.As(err, &ve)
	return ve, ok
}
