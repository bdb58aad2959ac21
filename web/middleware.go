package web

import (
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/otel/trace"

	"github.com/entitle-dev/entitle/handlers"
	"github.com/entitle-dev/entitle/metrics"
	"github.com/entitle-dev/entitle/static"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/tracing"
)

// requestLog logs one structured line per request with its id. It builds
// no per-request logger: the access line is written with its attributes
// directly, and the error path makes a logger carrying the id only when it
// has something to say (requestLogger).
//
// An entitlement check that is answered is logged at debug, not info.
// Every running copy of a vendor's application checks, thousands of times
// a second in all, so their lines would be nearly the whole log, and
// writing them was a tenth of a check's CPU (pprof under the bench's
// load). The metrics count and time every check by status, and a check
// that is refused or fails is logged at info like any other request.
func requestLog(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			req := c.Request()
			tid := tracing.TraceID(req.Context())
			if tid != "" { // tracing on: the span is named by route
				trace.SpanFromContext(req.Context()).SetName(req.Method + " " + c.Path())
			}
			err := next(c)
			if err != nil {
				c.Error(err) // let the error handler write the response so that the status is known
			}
			ctx := c.Request().Context()
			level := slog.LevelInfo
			if c.Response().Status < 400 && metrics.IsCheckRoute(c.Path()) {
				level = slog.LevelDebug
			}
			if !logger.Enabled(ctx, level) {
				return nil
			}
			var buf [10]slog.Attr
			attrs := append(buf[:0], slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)))
			if tid != "" {
				attrs = append(attrs, slog.String("trace_id", tid))
			}
			attrs = append(attrs, slog.String("method", req.Method), slog.String("route", c.Path()),
				slog.Int("status", c.Response().Status), slog.Int64("duration_ms", time.Since(start).Milliseconds()))
			if s, ok := handlers.Current(c); ok {
				attrs = append(attrs, slog.Int64("account_id", s.AccountID), slog.Int64("user_id", s.UserID))
				if s.Impersonated() {
					attrs = append(attrs, slog.Any("impersonator", s.Impersonator), slog.Any("impersonation_id", s.ImpersonationID))
				}
			}
			logger.LogAttrs(ctx, level, "request", attrs...)
			return nil
		}
	}
}

// requestLogger is logger carrying the request's id (and trace id, when
// traced), for the lines written about one request.
func requestLogger(c echo.Context, logger *slog.Logger) *slog.Logger {
	l := logger.With("request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	if tid := tracing.TraceID(c.Request().Context()); tid != "" {
		l = l.With("trace_id", tid)
	}
	return l
}

// newRequestID is a request id: 128 random bits in hex, from the runtime's
// fast generator (an id must be unique, not secret).
func newRequestID() string {
	var raw [16]byte
	var out [32]byte
	binary.LittleEndian.PutUint64(raw[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(raw[8:], rand.Uint64())
	hex.Encode(out[:], raw[:])
	return string(out[:]) // one allocation: the string
}

// secureHeaders sets the headers every answer carries (no MIME sniffing,
// no framing, the referrer kept to this site, the browser's XSS auditor
// off), written into the header map under their canonical names without
// allocating: every response shares the values, each a slice whose
// capacity is its length, so an Add to one of them copies it (nothing
// writes into a header's value slice in place).
func secureHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h["X-Xss-Protection"] = secureHeaderValues[0:1:1]
		h["X-Content-Type-Options"] = secureHeaderValues[1:2:2]
		h["X-Frame-Options"] = secureHeaderValues[2:3:3]
		h["Referrer-Policy"] = secureHeaderValues[3:4:4]
		return next(c)
	}
}

var secureHeaderValues = []string{"0", "nosniff", "DENY", "same-origin"}

// csrf protects every state-changing request: forms carry the token in
// _csrf, htmx sends it in X-CSRF-Token (the layout sets hx-headers).
func csrf(secure bool) echo.MiddlewareFunc {
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "form:_csrf,header:X-CSRF-Token",
		CookieName:     "entitle_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   secure,
		CookieSameSite: http.SameSiteLaxMode,
		ErrorHandler: func(err error, c echo.Context) error {
			return echo.NewHTTPError(http.StatusForbidden, "This form has expired or did not come from this site. Reload the page and try again.")
		},
	})
}

// loadCustomer resolves the session cookie, if any, into the signed-in
// customer. The session row is re-read on every request, so a member
// removed a moment ago is signed out on their next click.
func loadCustomer(h *handlers.Handler) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if _, impersonating := handlers.Current(c); impersonating {
				return next(c) // set by the impersonation middleware
			}
			if tok := h.SessionToken(c); tok != "" {
				s, err := h.Store.CustomerSession(c.Request().Context(), tok)
				// Not signed out: "try again in a minute", or nobody waits.
				if store.IsUnavailable(err) || handlers.ClientGone(c, err) {
					return err
				}
				if err == nil {
					handlers.SetCurrent(c, s)
				}
			}
			return next(c)
		}
	}
}

// requireCustomer sends anyone not signed in to the login page (htmx
// requests get a full-page redirect through HX-Redirect).
func requireCustomer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := handlers.Current(c); ok {
			return next(c)
		}
		if c.Request().Header.Get("HX-Request") == "true" {
			c.Response().Header().Set("HX-Redirect", "/login")
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.Redirect(http.StatusSeeOther, "/login")
	}
}

// loadStaff resolves the console's own cookie into the signed-in staff
// member. A customer's session cookie means nothing here.
func loadStaff(h *handlers.Handler) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if tok := h.StaffToken(c); tok != "" {
				s, err := h.Store.StaffSessionByToken(c.Request().Context(), tok)
				if store.IsUnavailable(err) {
					return err
				}
				if err == nil {
					handlers.SetCurrentStaff(c, s)
				}
			}
			return next(c)
		}
	}
}

// requireStaff sends anyone without a staff session to the console login.
func requireStaff(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := handlers.CurrentStaff(c); ok {
			return next(c)
		}
		if c.Request().Header.Get("HX-Request") == "true" {
			c.Response().Header().Set("HX-Redirect", "/admin/login")
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.Redirect(http.StatusSeeOther, "/admin/login")
	}
}

// noStore keeps signed-in pages out of the browser's cache, so that Back
// after signing out shows nothing of the account.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

// favicon answers the browser's own request for /favicon.ico.
func favicon(c echo.Context) error {
	b, err := static.FS.ReadFile("favicon.svg")
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	return c.Blob(http.StatusOK, "image/svg+xml", b)
}

// fieldLimit is the longest value any form field of the portal or the
// console takes; a longer one is refused beside its field, never echoed.
const fieldLimit = 20000

// limitFields refuses a form whose fields are longer than anyone types.
func limitFields(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method != http.MethodPost {
			return next(c)
		}
		form, err := c.FormParams()
		if err != nil {
			return next(c) // not a form: the handler decides
		}
		for name, values := range form {
			for _, v := range values {
				if utf8.RuneCountInString(v) > fieldLimit {
					return store.Invalid(name, "this is too long: at most 20,000 characters")
				}
			}
		}
		return next(c)
	}
}
