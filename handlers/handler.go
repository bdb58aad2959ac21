// Package handlers holds Entitle's thin HTTP handlers: each parses input,
// calls one store (or billing) method and renders a view or an htmx partial.
// Rules belong in licensing or store, never here.
package handlers

import (
	"bytes"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/a-h/templ"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/checks"
	"github.com/entitle-dev/entitle/insightscache"
	"github.com/entitle-dev/entitle/leases"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/membertotals"
	"github.com/entitle-dev/entitle/outbound"
	"github.com/entitle-dev/entitle/sso"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// Handler carries every dependency a handler uses; web.New builds it once.
type Handler struct {
	Store    *store.Store
	Sessions sessions.Store
	Clock    licensing.Clock
	Logger   *slog.Logger
	// PublicURL is where users reach the portal, for links in mail (empty:
	// taken from the request, as in tests).
	PublicURL string
	Billing   *billing.Billing // billing: provider, inbox, worker and the buyer's journeys
	// Provisioning: allocates seats right after SCIM writes.
	Reconciler *store.Reconciler

	// Entitlement API: the in-process cache checks are answered
	// from, and how offline licences are issued.
	Checks   *checks.Cache
	Licences store.LicenceOptions
	// Leases batches floating licence heartbeats (nil: one statement each).
	Leases *leases.Heartbeats

	// Insights: the change feed for live pages, and each account's
	// figures kept between changes.
	Hub     *store.Hub
	Figures *insightscache.Cache
	// MemberTotals keeps the members list's totals between changes (nil:
	// counted on every page).
	MemberTotals *membertotals.Totals

	// SSO is the OpenID Connect relying party of every account.
	SSO *sso.Service
	// Webhooks is the address policy endpoints are registered under.
	Webhooks outbound.Guard
}

// Cookie and context names shared with web's middleware.
const (
	SessionCookie = "entitle_session"
	sessionToken  = "token"
	ctxSession    = "entitle.session"
	ctxCSRF       = "csrf"
	ctxFlash      = "entitle.flash"
)

// SetCurrent records the signed-in customer for the rest of the request.
func SetCurrent(c echo.Context, s store.Session) { c.Set(ctxSession, s) }

// Current is the signed-in customer; ok is false on public pages.
func Current(c echo.Context) (store.Session, bool) {
	s, ok := c.Get(ctxSession).(store.Session)
	return s, ok
}

// SessionToken reads the session token from the signed cookie.
func (h *Handler) SessionToken(c echo.Context) string {
	sess, err := h.Sessions.Get(c.Request(), SessionCookie)
	if err != nil {
		return ""
	}
	tok, _ := sess.Values[sessionToken].(string)
	return tok
}

// shell builds the layout's data for the current request.
func (h *Handler) shell(c echo.Context, title, active string) views.Shell {
	s := views.Shell{Title: title, Active: active}
	s.CSRF, _ = c.Get(ctxCSRF).(string)
	if cur, ok := Current(c); ok {
		s.User = &views.User{Email: cur.Email, Name: cur.Name, Role: cur.Role, AccountName: cur.AccountName, AccountSlug: cur.AccountSlug}
		s.Banners = h.accountBanners(c, cur.AccountID)
		if cur.Impersonated() {
			s.Impersonation = impersonationBanner(cur, h.Clock.Now())
		} else {
			s.User.Accounts = h.accountChoices(c, cur)
		}
	}
	s.Notice = h.takeNotice(c)
	return s
}

// log is the handler's logger with the request's id (and the account and
// user when signed in), so every line of a request can be found together.
// A part of a page that failed because its client went away (ClientGone)
// is logged at debug, not as the error it would otherwise be.
func (h *Handler) log(c echo.Context) *slog.Logger {
	l := slog.New(goneClientHandler{h.Logger.Handler(), c}).With("request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	if cur, ok := Current(c); ok {
		l = l.With("account_id", cur.AccountID, "user_id", cur.UserID)
	}
	return l
}

// isHTMX tells whether htmx made the request, so that it gets a partial.
func isHTMX(c echo.Context) bool { return c.Request().Header.Get("HX-Request") == "true" }

// render writes a templ component with a status. The page is rendered
// whole into a buffer first and sent in one write with its length: a large
// page (a members list with its pending invitations) otherwise goes out in
// a hundred 4 KB writes, and an error half way through would leave half a
// page behind a 200.
func render(c echo.Context, status int, component templ.Component) error {
	buf := renderBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledRender {
			renderBuffers.Put(buf)
		}
	}()
	if err := component.Render(c.Request().Context(), buf); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	h.Set(echo.HeaderContentLength, strconv.Itoa(buf.Len()))
	c.Response().WriteHeader(status)
	_, err := c.Response().Write(buf.Bytes())
	return err
}

// renderBuffers keeps rendering buffers between requests; one grown past
// maxPooledRender by a rare huge page is left to the collector.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledRender = 1 << 20

// RenderError shows an error to a person: a fragment for htmx (with the
// field messages, which static/app.js puts beside the fields), a page
// otherwise. web/errors.go decides status and message, and sends a refused
// plain form post back to its page first (FormRefused).
func (h *Handler) RenderError(c echo.Context, status int, message string, fields map[string]string) error {
	if isHTMX(c) {
		c.Response().Header().Set("HX-Retarget", "#errors")
		c.Response().Header().Set("HX-Reswap", "innerHTML")
		return render(c, status, views.ErrorFragment(message, fields))
	}
	if inConsole(c) {
		return render(c, status, views.AdminErrorPage(h.adminShell(c, "Error", ""), status, message))
	}
	return render(c, status, views.ErrorPage(h.shell(c, "Error", ""), status, message))
}

// Health answers /healthz: the process is alive.
func (h *Handler) Health(c echo.Context) error {
	return c.String(http.StatusOK, "ok")
}

// Ready answers /readyz: the database is reachable.
func (h *Handler) Ready(c echo.Context) error {
	if c.QueryParam("scope") == "checks" {
		// For a load balancer in front of the check API: ready while checks
		// can be answered, from memory if need be.
		if !h.Checks.Ready() {
			return c.String(http.StatusServiceUnavailable, "checks cannot be answered: state not loaded, or stale for too long")
		}
		return c.String(http.StatusOK, "ready for checks")
	}
	if err := h.Store.Ping(c.Request().Context()); err != nil {
		h.log(c).Warn("readiness check failed", "err", err)
		return c.String(http.StatusServiceUnavailable, "database unreachable")
	}
	return c.String(http.StatusOK, "ready")
}
