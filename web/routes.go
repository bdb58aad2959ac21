package web

import (
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/entitle-dev/entitle/handlers"
	"github.com/entitle-dev/entitle/static"
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

	// Billing (buyers: owner and billing roles; admins may look).
	signedIn.GET("/billing", h.BillingPage)
	signedIn.GET("/billing/change", h.BillingChangePreview)
	signedIn.POST("/billing/change", h.BillingChangePlan)
	signedIn.POST("/billing/trial", h.BillingStartTrial)
	signedIn.GET("/billing/seats", h.BillingSeatsPreview)
	signedIn.POST("/billing/seats", h.BillingChangeSeats)
	signedIn.POST("/billing/keep", h.BillingKeepPlan)
	signedIn.POST("/billing/cancel", h.BillingCancel)
	signedIn.POST("/billing/resume", h.BillingResume)
	signedIn.POST("/billing/portal", h.BillingPortal)
	signedIn.GET("/billing/simulator", h.BillingSimulatorPortal)
	signedIn.POST("/billing/simulator/card", h.BillingSimulatorAddCard)

	// The vendor console: its own login and cookie; customer sessions never
	// reach it.
	console := e.Group("/admin", csrf(opts.SecureCookies), loadStaff(h))
	console.GET("/login", h.AdminLoginForm)
	console.POST("/login", h.AdminLogin)
	console.POST("/logout", h.AdminLogout)

	staff := console.Group("", requireStaff)
	staff.GET("", h.AdminHome)

	// Billing in the console: the simulator's controls, failed webhook events.
	staff.GET("/billing", h.AdminBillingList)
	staff.GET("/accounts/:slug/billing", h.AdminAccountBilling)
	staff.POST("/accounts/:slug/billing/:action", h.AdminSimulate)
	staff.GET("/webhooks", h.AdminWebhooks)
	staff.POST("/webhooks/:id/retry", h.AdminWebhookRetry)

	// Stripe's webhook: signed by Stripe, so no session and no CSRF token.
	e.POST("/webhooks/stripe", h.StripeWebhook)

	e.RouteNotFound("/*", func(c echo.Context) error { return echo.ErrNotFound })
}
