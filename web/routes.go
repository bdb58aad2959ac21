package web

import (
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/entitle-dev/entitle/handlers"
	"github.com/entitle-dev/entitle/static"
	"github.com/entitle-dev/entitle/store"
)

// routes is the site map: group, middleware, path, handler.
func routes(e *echo.Echo, h *handlers.Handler, opts Options) {
	e.Use(middleware.Recover())
	e.Use(middleware.RequestID())
	e.Use(requestLog(opts.Logger))
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
		ReferrerPolicy: "same-origin",
	}))
	e.Use(middleware.BodyLimit("10M"))

	// Probes and static files: no session, no CSRF.
	e.GET("/healthz", h.Health)
	e.GET("/readyz", h.Ready)
	e.StaticFS("/static", static.FS)

	// The customer portal.
	portal := e.Group("", csrf(opts.SecureCookies), loadCustomer(h))
	portal.GET("/login", h.LoginForm)
	portal.POST("/login", h.Login)
	portal.POST("/logout", h.Logout)

	signedIn := portal.Group("", requireCustomer)
	signedIn.GET("/", h.Overview)

	// Entitlement API for vendors' applications (issue #6): API keys, not
	// sessions, so no CSRF; errors are RFC 9457 problem documents
	// (web/errors.go); every route is in handlers/openapi.json.
	e.GET("/api/v1/openapi.json", h.OpenAPI)
	e.GET("/api/v1/keys", h.APIPublicKeys)
	api := e.Group("/api/v1/accounts/:account", apiKeyAuth(h, newAPILimits(opts.APIRateLimit, opts.APIRateBurst)))
	api.GET("/entitlements", h.APIEntitlements, requireScope(store.ScopeCheck))
	api.GET("/entitlements/:feature", h.APIEntitlement, requireScope(store.ScopeCheck))
	api.POST("/usage", h.APIRecordUsage, requireScope(store.ScopeUsage))
	api.GET("/license", h.APILicence, requireScope(store.ScopeLicense))
	// The portal's side of it: API keys and the offline licence (owner/admin).
	signedIn.GET("/settings/api-keys", h.APIKeysPage)
	signedIn.POST("/settings/api-keys", h.CreateAPIKey)
	signedIn.POST("/settings/api-keys/:id/revoke", h.RevokeAPIKey)
	signedIn.GET("/settings/licence", h.DownloadLicence)
	signedIn.GET("/settings/licence/keys.json", h.DownloadPublicKeys)

	e.RouteNotFound("/*", func(c echo.Context) error { return echo.ErrNotFound })
}
