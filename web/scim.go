package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/handlers"
	"github.com/entitle-dev/entitle/store"
)

// scimAuth authenticates /scim/v2 with a bearer token made in
// the portal: a missing, wrong or revoked token is a 401 (a SCIM error
// document, like every answer there), and the token's account is the only
// one the request sees. No session, no CSRF token: identity providers are
// not browsers.
func scimAuth(h *handlers.Handler) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			scheme, token, _ := strings.Cut(strings.TrimSpace(c.Request().Header.Get(echo.HeaderAuthorization)), " ")
			token = strings.TrimSpace(token)
			if !strings.EqualFold(scheme, "Bearer") || token == "" {
				return echo.NewHTTPError(http.StatusUnauthorized,
					"Send a SCIM token made under Settings, Provisioning as Authorization: Bearer <token>.")
			}
			tok, err := h.Store.AuthenticateSCIM(c.Request().Context(), token)
			if errors.Is(err, store.ErrNotFound) {
				return echo.NewHTTPError(http.StatusUnauthorized, "The token is unknown or has been revoked.")
			}
			if err != nil {
				return err
			}
			handlers.SetSCIMToken(c, tok)
			return next(c)
		}
	}
}

// isSCIM tells the error handler to answer with a SCIM error document.
func isSCIM(path string) bool { return path == "/scim/v2" || strings.HasPrefix(path, "/scim/") }
