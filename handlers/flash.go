package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// The one flash mechanism of the portal and the console: a plain form post
// answers with a redirect to its page (Post/Redirect/Get) and the outcome
// rides in a short-lived signed cookie until that page shows it, once.
const (
	flashCookie = "entitle_flash"
	flashValue  = "f"
	// A browser keeps cookies up to 4 KB: typed values are cut so that the
	// flash always fits.
	flashKeptValue  = 300
	flashKeptTotal  = 1500
	flashRowsKept   = 20
	ctxFlashOutcome = "entitle.flash.outcome"
)

// setNotice leaves f for the next page this browser opens.
func (h *Handler) setNotice(c echo.Context, f views.Notice) {
	if len(f.Rows) > flashRowsKept {
		f.Rows = f.Rows[:flashRowsKept]
	}
	for i := range f.Rows {
		f.Rows[i].Input = cutUTF8(f.Rows[i].Input, flashKeptValue)
		f.Rows[i].Message = cutUTF8(f.Rows[i].Message, flashKeptValue)
	}
	b, err := json.Marshal(f)
	if err != nil {
		return
	}
	sess, _ := h.Sessions.New(c.Request(), flashCookie)
	sess.Values = map[any]any{flashValue: string(b)}
	sess.Options.MaxAge = 300
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		h.Logger.Warn("save flash", "err", err)
	}
}

// takeNotice reads the flash left for this page (once: the cookie is
// cleared) together with a message set during this request.
func (h *Handler) takeNotice(c echo.Context) views.Notice {
	if f, ok := c.Get(ctxFlashOutcome).(views.Notice); ok {
		return f
	}
	var f views.Notice
	if ck, err := c.Cookie(flashCookie); err == nil && ck.Value != "" {
		if sess, err := h.Sessions.Get(c.Request(), flashCookie); err == nil {
			if raw, ok := sess.Values[flashValue].(string); ok {
				_ = json.Unmarshal([]byte(raw), &f)
			}
		}
		gone, _ := h.Sessions.New(c.Request(), flashCookie)
		gone.Options.MaxAge = -1
		_ = gone.Save(c.Request(), c.Response())
	}
	if msg, ok := c.Get(ctxFlash).(string); ok && msg != "" && f.Message == "" {
		f.Message = msg
	}
	c.Set(ctxFlashOutcome, f)
	return f
}

// addFlash leaves msg for the next page. Every flash rides in the one
// flash cookie, whatever cookie the caller names (the message survives the
// end of a session, such as after a password reset).
func (h *Handler) addFlash(c echo.Context, _ string, msg string) {
	h.setNotice(c, views.Notice{Message: msg})
}

// redirectWithFlash answers a plain form post: back to page, with msg shown
// once there.
func (h *Handler) redirectWithFlash(c echo.Context, page, msg string) error {
	return h.done(c, page, msg)
}

// showFlash puts the pending flash on this page (the layout shows it; this
// only reads it early, for handlers that render before the shell).
func (h *Handler) showFlash(c echo.Context) { h.takeNotice(c) }

// asValidation tells whether err is a ValidationError, for handlers that
// re-render their form with the messages beside the fields.
func asValidation(err error) (*store.ValidationError, bool) {
	var ve *store.ValidationError
	ok := errors.As(err, &ve)
	return ve, ok
}

// done answers a plain form post that worked: back to the page it came
// from, which shows msg once.
func (h *Handler) done(c echo.Context, page, msg string, rows ...views.NoticeRow) error {
	h.setNotice(c, views.Notice{Message: msg, Rows: rows})
	return c.Redirect(http.StatusSeeOther, page)
}

// FormRefused answers a plain form post that was refused (web/errors.go
// calls it): back to the page the form is on, with the message, the field
// messages and what was typed. ok is false when the post did not come from
// a page of this site, and the caller shows an error page instead.
func (h *Handler) FormRefused(c echo.Context, message string, fields map[string]string) bool {
	page, ok := sameSitePage(c)
	if !ok || c.Request().Method != http.MethodPost || isHTMX(c) {
		return false
	}
	form := &views.FormState{Action: c.Request().URL.Path, Fields: fields, Values: keptValues(c)}
	h.setNotice(c, views.Notice{Error: true, Message: message, Form: form})
	return c.Redirect(http.StatusSeeOther, page) == nil
}

// sameSitePage is the page a form was posted from (its Referer), when that
// is a page of this site other than the address posted to.
func sameSitePage(c echo.Context) (string, bool) {
	ref, err := url.Parse(c.Request().Referer())
	if err != nil || ref.Host != c.Request().Host || ref.Path == "" || ref.Path == c.Request().URL.Path {
		return "", false
	}
	return ref.RequestURI(), true
}

// keptValues is what the person typed into the form, without secrets and
// files, cut to fit a cookie.
func keptValues(c echo.Context) map[string]string {
	form, err := c.FormParams()
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(form))
	for name := range form {
		if name == "_csrf" || strings.Contains(strings.ToLower(name), "password") || strings.Contains(name, "token") {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	kept, total := map[string]string{}, 0
	for _, name := range names {
		v := strings.Join(form[name], "\n")
		v = cutUTF8(v, flashKeptValue)
		if total+len(v) > flashKeptTotal {
			break
		}
		total += len(v)
		kept[name] = v
	}
	return kept
}

func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// RefusalMessage is the sentence shown for a validation error: its field
// messages in plain words, never field names.
func RefusalMessage(ve *store.ValidationError) string {
	keys := make([]string, 0, len(ve.Fields))
	for k := range ve.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, sentence(ve.Fields[k]))
	}
	return strings.Join(parts, " ")
}

// sentence starts a message with a capital and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}
