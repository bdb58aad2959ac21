package web

import (
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/entitle-dev/entitle/handlers"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/static"
	"github.com/entitle-dev/entitle/store"
)

// routes is the site map: group, middleware, path, handler.
func routes(e *echo.Echo, h *handlers.Handler, opts Options) {
	e.Use(middleware.Recover())
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: newRequestID}))
	e.Use(requestLog(opts.Logger))
	e.Use(secureHeaders)
	e.Use(middleware.BodyLimit("10M"))
	// Support sessions: a staff member impersonating an account acts as it
	// on every route outside /admin, audited, read-only enforced.
	e.Use(impersonation(h))

	// Probes, static files and the icon: no session, no CSRF.
	e.GET("/healthz", h.Health)
	e.GET("/readyz", h.Ready)
	e.StaticFS("/static", static.FS)
	e.GET("/favicon.ico", favicon)

	// The customer portal: every page is sent uncached (no-store), every
	// form is CSRF-checked and length-limited.
	portal := e.Group("", noStore, csrf(opts.SecureCookies), limitFields, loadCustomer(h))
	portal.GET("/login", h.LoginForm)
	portal.POST("/login", h.Login)
	portal.POST("/logout", h.Logout)
	portal.GET("/login/sso", h.SSOCheck)
	portal.GET("/sso/callback", h.SSOCallback)

	signedIn := portal.Group("", requireCustomer)
	signedIn.GET("/", h.Overview)

	// The front door: pricing, sign-up and password reset are public (links
	// are single use; the store throttles per address and per IP); the
	// second factor of a sign-in; each person's own profile and accounts.
	portal.GET("/pricing", h.Pricing)
	portal.GET("/signup", h.SignupForm)
	portal.POST("/signup", h.Signup)
	portal.GET("/signup/sent", h.SignupSent)
	portal.GET("/signup/verify/:token", h.VerifyForm)
	portal.POST("/signup/verify/:token", h.Verify)
	portal.GET("/password/forgot", h.ForgotForm)
	portal.POST("/password/forgot", h.Forgot)
	portal.GET("/password/reset/:token", h.ResetForm)
	portal.POST("/password/reset/:token", h.Reset)
	portal.GET("/login/code", h.LoginCodeForm)
	portal.POST("/login/code", h.LoginCode)
	person := signedIn.Group("", personOnly)
	person.GET("/profile", h.Profile)
	person.POST("/profile/name", h.SetProfileName)
	person.POST("/profile/password", h.ChangePassword)
	person.POST("/profile/sessions/end-others", h.EndOtherSessions)
	person.GET("/profile/two-factor", h.ProfileTwoFactor)
	person.POST("/profile/two-factor", h.EnableProfileTwoFactor)
	person.POST("/profile/two-factor/disable", h.DisableProfileTwoFactor)
	person.GET("/accounts", h.ChooseAccount)
	person.POST("/accounts/switch", h.SwitchAccount)

	// Members and seats: invitations (public, the link is the credential),
	// members, seats and the audit log, each behind its permission.
	portal.GET("/invitations/:token", h.InvitationForm)
	portal.POST("/invitations/:token", h.AcceptInvitation)
	signedIn.GET("/members", h.Members, requires(licensing.ViewMembers))
	signedIn.POST("/members/invite", h.Invite, requires(licensing.InviteMembers))
	signedIn.POST("/members/domains", h.SetInviteDomains, requires(licensing.SetInviteDomains))
	signedIn.GET("/members/invitations", h.PendingInvitations, requires(licensing.InviteMembers))
	signedIn.POST("/members/invitations/resend", h.ResendInvitations, requires(licensing.InviteMembers))
	signedIn.POST("/members/invitations/revoke", h.RevokeInvitations, requires(licensing.InviteMembers))
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
	// Alerts before anyone hits a wall: each person's switch.
	signedIn.GET("/settings/alerts", h.AlertSettings, requires(licensing.ReceiveAlerts))
	signedIn.POST("/settings/alerts", h.SetAlertSettings, requires(licensing.ReceiveAlerts))

	// /settings, typed or guessed, leads to the first settings page the
	// person's role may open.
	signedIn.GET("/settings", h.SettingsHome)

	// Settings: the customer's view of support sessions and their consent
	// to write-mode impersonation.
	signedIn.GET("/settings/support", h.SupportAccess, requires(licensing.ViewSupport))
	signedIn.POST("/settings/support", h.SetSupportAccess, requires(licensing.ConsentSupport))

	// Billing: buyers (owner, billing) change the subscription; admins may
	// look. The portal never writes subscription state: webhooks do.
	signedIn.GET("/billing", h.BillingPage, requires(licensing.ViewBilling))
	signedIn.GET("/billing/change", h.BillingChangePreview, requires(licensing.ManageBilling))
	signedIn.POST("/billing/change", h.BillingChangePlan, requires(licensing.ManageBilling))
	signedIn.POST("/billing/trial", h.BillingStartTrial, requires(licensing.ManageBilling))
	signedIn.GET("/billing/seats", h.BillingSeatsPreview, requires(licensing.ManageBilling))
	signedIn.POST("/billing/seats", h.BillingChangeSeats, requires(licensing.ManageBilling))
	signedIn.GET("/billing/addons", h.BillingAddOnPreview, requires(licensing.ManageBilling))
	signedIn.POST("/billing/addons", h.BillingSetAddOn, requires(licensing.ManageBilling))
	signedIn.POST("/billing/keep", h.BillingKeepPlan, requires(licensing.ManageBilling))
	signedIn.POST("/billing/cancel", h.BillingCancel, requires(licensing.ManageBilling))
	signedIn.POST("/billing/resume", h.BillingResume, requires(licensing.ManageBilling))
	signedIn.POST("/billing/convert", h.BillingConvert, requires(licensing.ManageBilling))
	signedIn.GET("/billing/convert", h.BillingConvertPreview, requires(licensing.ManageBilling))
	signedIn.POST("/billing/pay", h.BillingPay, requires(licensing.ManageBilling))
	signedIn.GET("/billing/invoices/:number", h.BillingInvoice, requires(licensing.ViewBilling))
	signedIn.POST("/billing/portal", h.BillingPortal, requires(licensing.ManageBilling))
	signedIn.GET("/billing/simulator", h.BillingSimulatorPortal, requires(licensing.ManageBilling))
	signedIn.POST("/billing/simulator/card", h.BillingSimulatorAddCard, requires(licensing.ManageBilling))
	signedIn.GET("/billing/checkout", h.CheckoutPage, requires(licensing.ManageBilling))
	signedIn.POST("/billing/checkout", h.Checkout, requires(licensing.ManageBilling))

	// The vendor console: its own login and cookie; customer sessions never
	// reach it.
	console := e.Group("/admin", noStore, csrf(opts.SecureCookies), limitFields, loadStaff(h))
	console.GET("/login", h.AdminLoginForm)
	console.POST("/login", h.AdminLogin)
	console.POST("/logout", h.AdminLogout)
	console.GET("/login/code", h.AdminCodeForm)
	console.POST("/login/code", h.AdminCode)
	console.GET("/password/:token", h.StaffPasswordForm)
	console.POST("/password/:token", h.SetStaffPassword)
	// Two-factor enrolment: the one page a staff member whose role needs it
	// may open before enrolling.
	enrol := console.Group("", requireStaff)
	enrol.GET("/two-factor", h.AdminTwoFactor)
	enrol.POST("/two-factor", h.EnableAdminTwoFactor)

	staff := console.Group("", requireStaff, requireStaffTwoFactor)

	// Accounts and impersonation (support), grants, failed events and the
	// outbox (operator), audit and staff (admin).
	staff.GET("", h.AdminHome, requireStaffCan(store.CanFindAccounts))
	staff.GET("/accounts/:slug", h.AdminAccount, requireStaffCan(store.CanFindAccounts))
	staff.POST("/accounts/:slug/impersonate", h.StartImpersonation, requireStaffCan(store.CanImpersonate))
	staff.POST("/impersonation/end", h.EndImpersonation)
	staff.POST("/accounts/:slug/grants", h.CreateGrant, requireStaffCan(store.CanManageGrants))
	staff.POST("/accounts/:slug/grants/:id/revoke", h.RevokeGrant, requireStaffCan(store.CanManageGrants))
	staff.POST("/accounts/:slug/country", h.SetAccountCountry, requireStaffCan(store.CanManageCatalog))
	staff.POST("/accounts/:slug/pilots", h.SetPilotAccount, requireStaffCan(store.CanManageCatalog))
	staff.POST("/accounts/:slug/trial", h.ExtendTrial, requireStaffCan(store.CanManageGrants))
	staff.GET("/catalog/migrate", h.AdminPlanMigration, requireStaffCan(store.CanManageCatalog))
	staff.POST("/catalog/migrate", h.SchedulePlanMigration, requireStaffCan(store.CanManageCatalog))
	staff.GET("/events", h.AdminEvents, requireStaffCan(store.CanManageEvents))
	staff.POST("/events/retry", h.RetryAllEvents, requireStaffCan(store.CanManageEvents))
	staff.POST("/events/:id/retry", h.RetryEvent, requireStaffCan(store.CanManageEvents))
	staff.GET("/outbox", h.AdminOutbox, requireStaffCan(store.CanReadOutbox))
	staff.GET("/audit", h.AdminAudit, requireStaffCan(store.CanReadAudit))
	staff.GET("/audit.csv", h.AdminAuditCSV, requireStaffCan(store.CanReadAudit))
	staff.POST("/audit/verify", h.VerifyAudit, requireStaffCan(store.CanReadAudit))
	staff.GET("/staff", h.AdminStaff, requireStaffCan(store.CanManageStaff))
	staff.POST("/staff/disable", h.DisableStaff, requireStaffCan(store.CanManageStaff))
	staff.POST("/staff", h.InviteStaff, requireStaffCan(store.CanManageStaff))
	staff.POST("/staff/role", h.ChangeStaffRole, requireStaffCan(store.CanManageStaff))
	staff.GET("/accounts/new", h.AdminNewAccountForm, requireStaffCan(store.CanCreateAccounts))
	staff.POST("/accounts/new", h.AdminCreateAccount, requireStaffCan(store.CanCreateAccounts))

	// Billing in the console: the simulator's controls (failed webhook
	// events are the console's /admin/events above).
	staff.GET("/billing", h.AdminBillingList, requireStaffCan(store.CanSimulateBilling))
	staff.GET("/accounts/:slug/billing", h.AdminAccountBilling, requireStaffCan(store.CanSimulateBilling))
	staff.POST("/accounts/:slug/billing/:action", h.AdminSimulate, requireStaffCan(store.CanSimulateBilling))

	// Provisioning: SCIM 2.0 for identity providers, behind a bearer token
	// of one account (no session, no CSRF, no impersonation; errors are SCIM
	// error documents, web/errors.go).
	scimAPI := e.Group("/scim/v2", scimAuth(h))
	scimAPI.GET("/ServiceProviderConfig", h.SCIMServiceProviderConfig)
	scimAPI.GET("/ResourceTypes", h.SCIMResourceTypes)
	scimAPI.GET("/ResourceTypes/:id", h.SCIMResourceType)
	scimAPI.GET("/Schemas", h.SCIMSchemas)
	scimAPI.GET("/Schemas/:id", h.SCIMSchema)
	scimAPI.GET("/Users", h.SCIMListUsers)
	scimAPI.POST("/Users", h.SCIMCreateUser)
	scimAPI.GET("/Users/:id", h.SCIMGetUser)
	scimAPI.PUT("/Users/:id", h.SCIMReplaceUser)
	scimAPI.PATCH("/Users/:id", h.SCIMPatchUser)
	scimAPI.DELETE("/Users/:id", h.SCIMDeleteUser)
	scimAPI.GET("/Groups", h.SCIMListGroups)
	scimAPI.POST("/Groups", h.SCIMCreateGroup)
	scimAPI.GET("/Groups/:id", h.SCIMGetGroup)
	scimAPI.PUT("/Groups/:id", h.SCIMReplaceGroup)
	scimAPI.PATCH("/Groups/:id", h.SCIMPatchGroup)
	scimAPI.DELETE("/Groups/:id", h.SCIMDeleteGroup)
	// The portal's side: tokens, rules and the unmatched policy (owners and
	// admins); pins and the live seats page.
	signedIn.GET("/settings/provisioning", h.ProvisioningPage, requires(licensing.ManageProvisioning))
	signedIn.POST("/settings/provisioning/tokens", h.CreateSCIMToken, requires(licensing.ManageProvisioning))
	signedIn.POST("/settings/provisioning/tokens/:id/revoke", h.RevokeSCIMToken, requires(licensing.ManageProvisioning))
	signedIn.POST("/settings/provisioning/rules/preview", h.PreviewRuleChange, requires(licensing.ManageProvisioning))
	signedIn.POST("/settings/provisioning/rules", h.SaveRuleChange, requires(licensing.ManageProvisioning))
	signedIn.GET("/seats/live", h.SeatsLive, requires(licensing.ViewSeats))
	// Single sign-on: the account's OpenID provider and email domains
	// (gated by the `sso` entitlement inside), and the console's view.
	signedIn.GET("/settings/sso", h.SSOSettingsPage, requires(licensing.ManageSSO))
	signedIn.POST("/settings/sso", h.SaveSSOSettings, requires(licensing.ManageSSO))
	signedIn.POST("/settings/sso/domains", h.AddSSODomain, requires(licensing.ManageSSO))
	signedIn.POST("/settings/sso/domains/:id/verify", h.VerifySSODomain, requires(licensing.ManageSSO))
	signedIn.POST("/settings/sso/domains/:id/remove", h.RemoveSSODomain, requires(licensing.ManageSSO))
	staff.GET("/accounts/:slug/sso", h.AdminSSO, requireStaffCan(store.CanFindAccounts))
	staff.POST("/accounts/:slug/sso/domains/:id/approve", h.AdminApproveSSODomain, requireStaffCan(store.CanApproveDomains))
	signedIn.POST("/seats/pin", h.PinSeat, requires(licensing.AssignSeats))

	// Stripe's webhook: signed by Stripe, so no session and no CSRF token.
	e.POST("/webhooks/stripe", h.StripeWebhook)

	// Entitlement API for vendors' applications: API keys, not sessions, so
	// no CSRF; errors are RFC 9457 problem documents (web/errors.go); every
	// route is in handlers/openapi.json.
	e.GET("/api/v1/openapi.json", h.OpenAPI)
	e.GET("/api/v1/keys", h.APIPublicKeys)
	limits := newAPILimits(opts.APIRateLimit, opts.APIRateBurst)
	// The accounts API, for vendor keys (every account; {account} is the
	// slug or ext:<the vendor's external id>).
	accountsAPI := e.Group("/api/v1/accounts", apiKeyAuth(h, limits))
	accountsAPI.GET("", h.APIListAccounts, requireScope(store.ScopeAccountsRead))
	accountsAPI.POST("", h.APICreateAccount, requireScope(store.ScopeAccountsWrite))
	// Outbound webhooks as the vendor's monitoring sees them (vendor keys).
	webhooksAPI := e.Group("/api/v1/webhooks", apiKeyAuth(h, limits), requireScope(store.ScopeWebhooks))
	webhooksAPI.GET("/endpoints", h.APIWebhookEndpoints)
	webhooksAPI.GET("/endpoints/:id/deliveries", h.APIWebhookDeliveries)
	api := e.Group("/api/v1/accounts/:account", apiKeyAuth(h, limits))
	api.GET("", h.APIGetAccount, requireScope(store.ScopeAccountsRead))
	api.PATCH("", h.APIUpdateAccount, requireScope(store.ScopeAccountsWrite))
	api.GET("/entitlements", h.APIEntitlements, requireScope(store.ScopeCheck))
	api.GET("/entitlements/:feature", h.APIEntitlement, requireScope(store.ScopeCheck))
	api.POST("/usage", h.APIRecordUsage, requireScope(store.ScopeUsage))
	api.GET("/license", h.APILicence, requireScope(store.ScopeLicense))
	// Floating licences and machines: what an application does with the
	// account's check key while it runs.
	api.GET("/leases", h.APILeases, requireScope(store.ScopeCheck))
	api.POST("/leases", h.APICheckOutLease, requireScope(store.ScopeCheck))
	api.POST("/leases/:lease/heartbeat", h.APIHeartbeatLease, requireScope(store.ScopeCheck))
	api.DELETE("/leases/:lease", h.APICheckInLease, requireScope(store.ScopeCheck))
	api.GET("/machines", h.APIMachines, requireScope(store.ScopeCheck))
	api.POST("/machines", h.APIActivateMachine, requireScope(store.ScopeCheck))
	api.POST("/machines/:machine/heartbeat", h.APIMachineHeartbeat, requireScope(store.ScopeCheck))
	api.DELETE("/machines/:machine", h.APIDeactivateMachine, requireScope(store.ScopeCheck))
	api.GET("/machines/:machine/license", h.APIMachineLicence, requireScope(store.ScopeCheck))
	// SDK clients hear of the account's changes here, then fetch the
	// signed state (/license).
	api.GET("/stream", h.APIStream, requireScope(store.ScopeLicense))
	// The portal's side of it: API keys and the offline licence (owner/admin).
	signedIn.GET("/settings/api-keys", h.APIKeysPage, requires(licensing.ManageAPIKeys))
	signedIn.POST("/settings/api-keys", h.CreateAPIKey, requires(licensing.ManageAPIKeys))
	signedIn.POST("/settings/api-keys/:id/revoke", h.RevokeAPIKey, requires(licensing.ManageAPIKeys))
	signedIn.GET("/settings/licence", h.DownloadLicence, requires(licensing.ManageAPIKeys))
	signedIn.GET("/settings/licence/keys.json", h.DownloadPublicKeys, requires(licensing.ManageAPIKeys))
	// Devices: machines activated in the vendor's applications (members
	// their own, admins all) and the floating licences in use.
	signedIn.GET("/devices", h.Devices, requires(licensing.ManageOwnDevices))
	signedIn.POST("/devices/machines/:id/deactivate", h.DeactivateDevice, requires(licensing.ManageOwnDevices))
	signedIn.GET("/devices/machines/:id/licence", h.DownloadMachineLicence, requires(licensing.ManageDevices))
	signedIn.POST("/devices/activate", h.ActivateFromRequest, requires(licensing.ManageDevices))
	signedIn.POST("/devices/leases/:id/release", h.ReleaseLease, requires(licensing.ManageDevices))

	// Insights: figures, trends, idle seats and the compliance report; the
	// stream pushes the live figures and the charts on every change (no gzip here: an SSE
	// stream must reach the browser as written).
	signedIn.GET("/insights", h.Insights, requires(licensing.ViewInsights))
	signedIn.GET("/insights/live", h.InsightsLive, requires(licensing.ViewInsights))
	signedIn.GET("/insights/charts", h.InsightsCharts, requires(licensing.ViewInsights))
	signedIn.GET("/insights/stream", h.InsightsStream, requires(licensing.ViewInsights))
	signedIn.GET("/insights/report", h.ComplianceReportPage, requires(licensing.ViewInsights))
	signedIn.GET("/insights/report.csv", h.ComplianceReportCSV, requires(licensing.ViewInsights))
	signedIn.POST("/insights/reclaim/preview", h.PreviewReclaim, requires(licensing.ReclaimSeats))
	signedIn.POST("/insights/reclaim", h.Reclaim, requires(licensing.ReclaimSeats))
	signedIn.POST("/insights/settings", h.SetInsightsSettings, requires(licensing.ReclaimSeats))
	staff.GET("/insights", h.AdminInsights, requireStaffCan(store.CanViewInsights))
	staff.GET("/insights/stream", h.AdminInsightsStream, requireStaffCan(store.CanViewInsights))

	// Outbound webhooks to the vendor's systems: endpoints, delivery log,
	// test events and replays (operators).
	staff.GET("/webhooks", h.AdminWebhooks, requireStaffCan(store.CanManageWebhooks))
	staff.POST("/webhooks", h.CreateWebhookEndpoint, requireStaffCan(store.CanManageWebhooks))
	staff.GET("/webhooks/:id", h.AdminWebhook, requireStaffCan(store.CanManageWebhooks))
	staff.POST("/webhooks/:id/enable", h.EnableWebhookEndpoint, requireStaffCan(store.CanManageWebhooks))
	staff.POST("/webhooks/:id/disable", h.DisableWebhookEndpoint, requireStaffCan(store.CanManageWebhooks))
	staff.POST("/webhooks/:id/rotate", h.RotateWebhookSecret, requireStaffCan(store.CanManageWebhooks))
	staff.POST("/webhooks/:id/test", h.SendTestWebhook, requireStaffCan(store.CanManageWebhooks))
	staff.POST("/webhooks/:id/replay", h.ReplayWebhooksSince, requireStaffCan(store.CanManageWebhooks))
	staff.POST("/webhooks/:id/deliveries/:delivery/replay", h.ReplayWebhookDelivery, requireStaffCan(store.CanManageWebhooks))
	// Vendor API keys: the vendor's backend reaches every account (admins).
	staff.GET("/api-keys", h.AdminVendorKeys, requireStaffCan(store.CanManageVendorKeys))
	staff.POST("/api-keys", h.CreateVendorKey, requireStaffCan(store.CanManageVendorKeys))
	staff.POST("/api-keys/:id/revoke", h.RevokeVendorKey, requireStaffCan(store.CanManageVendorKeys))

	e.RouteNotFound("/*", func(c echo.Context) error { return echo.ErrNotFound })
}
