package web

import (
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/entitle-dev/entitle/handlers"
	"github.com/entitle-dev/entitle/licensing"
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

	// Members and seats: invitations (public, the link is the credential),
	// members, seats and the audit log, each behind its permission.
	portal.GET("/invitations/:token", h.InvitationForm)
	portal.POST("/invitations/:token", h.AcceptInvitation)
	signedIn.GET("/members", h.Members, requires(licensing.ViewMembers))
	signedIn.POST("/members/invite", h.Invite, requires(licensing.InviteMembers))
	signedIn.POST("/members/domains", h.SetInviteDomains, requires(licensing.SetInviteDomains))
	signedIn.POST("/members/:id/role", h.ChangeRole, requires(licensing.ChangeRoles))
	signedIn.POST("/members/:id/remove", h.RemoveMember, requires(licensing.RemoveMembers))
	signedIn.GET("/seats", h.Seats, requires(licensing.ViewSeats))
	signedIn.POST("/seats/assign", h.AssignSeats, requires(licensing.AssignSeats))
	signedIn.POST("/seats/unassign", h.UnassignSeats, requires(licensing.AssignSeats))
	signedIn.POST("/seats/csv", h.PreviewSeatCSV, requires(licensing.AssignSeats))
	signedIn.POST("/seats/csv/apply", h.ApplySeatCSV, requires(licensing.AssignSeats))
	signedIn.POST("/seats/auto-assign", h.SetAutoAssign, requires(licensing.AssignSeats))
	signedIn.GET("/audit", h.Audit, requires(licensing.ViewAudit))
	signedIn.GET("/audit.csv", h.ExportAudit, requires(licensing.ViewAudit))

	e.RouteNotFound("/*", func(c echo.Context) error { return echo.ErrNotFound })
}
