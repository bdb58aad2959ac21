package web

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/entitle-dev/entitle/checks"
	"github.com/entitle-dev/entitle/handlers"
	"github.com/entitle-dev/entitle/store"
)

// apiKeyAuth authenticates /api/v1/accounts/:account/... requests by their
// API key (Authorization: Bearer), applies the key's rate limit, and
// answers 404 for an account that is not the key's, exactly as for one that
// does not exist. A vendor key reaches every account; {account} is a slug
// or ext:<the vendor's external id>.
func apiKeyAuth(h *handlers.Handler, limits *apiLimits) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			auth := c.Request().Header.Get(echo.HeaderAuthorization)
			scheme, token, _ := strings.Cut(auth, " ")
			if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
				return handlers.ProblemUnauthorized("Send the account's API key as `Authorization: Bearer <key>`.")
			}
			key, err := h.Checks.Authenticate(c.Request().Context(), strings.TrimSpace(token))
			if errors.Is(err, checks.ErrUnknownAPIKey) {
				return handlers.ProblemUnauthorized("The API key is unknown or was revoked.")
			}
			if err != nil {
				return err
			}
			if wait := limits.wait(key.ID, h.Clock.Now()); wait > 0 {
				return handlers.ProblemRateLimited(wait)
			}
			ref := c.Param("account")
			switch {
			case ref == "": // /api/v1/accounts itself: the route's scope decides
			case key.Vendor:
				// A vendor key reaches every account, named by slug or
				// ext:<external id>; the handlers see it as that account's.
				acct, err := h.Checks.Account(c.Request().Context(), ref)
				if errors.Is(err, store.ErrNotFound) {
					return handlers.ProblemNotFound("No account has this slug or external id (ext:ID).")
				}
				if err != nil {
					return err
				}
				k := *key
				k.AccountID, k.AccountSlug = acct.ID, acct.Slug
				key = &k
			case ref != key.AccountSlug:
				if !strings.HasPrefix(ref, store.ExternalIDPrefix) {
					return handlers.ProblemNotFound("No such account for this API key.")
				}
				acct, err := h.Checks.Account(c.Request().Context(), ref)
				if err != nil || acct.ID != key.AccountID {
					return handlers.ProblemNotFound("No such account for this API key.")
				}
			}
			handlers.SetAPIKey(c, key)
			return next(c)
		}
	}
}

// requireScope refuses a key without scope.
func requireScope(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if k := handlers.APIKeyOf(c); k == nil || !k.HasScope(scope) {
				return handlers.ProblemScope(scope)
			}
			return next(c)
		}
	}
}

// apiLimits is the per-key request rate limit (a token bucket per key, in
// this process). With perSecond <= 0 there is no limit.
type apiLimits struct {
	perSecond rate.Limit
	burst     int
	byKey     sync.Map // key id → *rate.Limiter
}

func newAPILimits(perSecond float64, burst int) *apiLimits {
	return &apiLimits{perSecond: rate.Limit(perSecond), burst: max(burst, 1)}
}

// wait is zero when a request may go ahead now, else how long until it may.
func (l *apiLimits) wait(keyID int64, now time.Time) time.Duration {
	if l == nil || l.perSecond <= 0 {
		return 0
	}
	v, ok := l.byKey.Load(keyID)
	if !ok {
		v, _ = l.byKey.LoadOrStore(keyID, rate.NewLimiter(l.perSecond, l.burst))
	}
	lim := v.(*rate.Limiter)
	if lim.AllowN(now, 1) { // the common case, without allocating a reservation
		return 0
	}
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}
