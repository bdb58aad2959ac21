// Package web assembles Entitle's HTTP server: echo, the middleware chain
// (request id and logging, sessions, CSRF, authentication), the routes and
// the embedded static files.
package web

import (
	"log/slog"
	"net"
	"net/http"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/checks"
	"github.com/entitle-dev/entitle/handlers"
	"github.com/entitle-dev/entitle/insightscache"
	"github.com/entitle-dev/entitle/leases"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/membertotals"
	"github.com/entitle-dev/entitle/metrics"
	"github.com/entitle-dev/entitle/outbound"
	"github.com/entitle-dev/entitle/sso"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/tracing"
)

// Options is what the server needs from its caller.
type Options struct {
	Store         *store.Store
	Clock         licensing.Clock
	Logger        *slog.Logger
	SessionSecret []byte // signs the session cookie (32 bytes or more)
	SecureCookies bool   // set when users reach the portal over TLS
	PublicURL     string // the URL users reach, for links in mail; empty: taken from each request
	// Billing is the provider, inbox and worker; nil wires the local
	// simulator (its worker is the caller's to run).
	Billing *billing.Billing
	// Reconciler allocates seats right after provisioning changes;
	// nil makes one whose periodic sweep is the caller's to run.
	Reconciler *store.Reconciler

	// Entitlement API. Checks is the running cache checks are
	// answered from (nil: one that reads the database every time);
	// APIRateLimit is requests per second per API key (0: no limit) with
	// bursts of APIRateBurst.
	Checks       *checks.Cache
	Licences     store.LicenceOptions
	APIRateLimit float64
	APIRateBurst int

	// Insights: the Prometheus registry requests are timed into
	// (nil: a private one); cmd/entitle serves it on METRICS_ADDR.
	Metrics *metrics.Metrics

	// Tracing makes every request a span continuing the caller's trace
	// (cmd/entitle sets it when tracing is configured).
	Tracing bool

	// SSO is the OpenID Connect relying party (nil: one on the system's DNS
	// resolver, sealing client secrets with Licences.Secret).
	SSO *sso.Service
	// Webhooks is the address policy outbound endpoints are registered
	// under (the zero Guard: https and public addresses only).
	Webhooks outbound.Guard
}

// New builds the server with every route mounted.
func New(opts Options) *echo.Echo {
	if opts.Clock == nil {
		opts.Clock = licensing.SystemClock{}
	}
	cookies := sessions.NewCookieStore(opts.SessionSecret)
	cookies.Options = &sessions.Options{
		Path: "/", MaxAge: 12 * 60 * 60, HttpOnly: true, Secure: opts.SecureCookies, SameSite: http.SameSiteLaxMode,
	}
	if opts.Billing == nil {
		opts.Billing, _ = billing.New(opts.Store, opts.Clock, opts.Logger, billing.Config{}) // local mode cannot fail
	}
	if opts.Checks == nil {
		opts.Checks = checks.New(opts.Store, opts.Logger, 0)
	}
	if opts.Reconciler == nil {
		opts.Reconciler = store.NewReconciler(opts.Store, opts.Logger)
	}
	if opts.SSO == nil {
		opts.SSO = sso.New(opts.Store, opts.Clock, opts.Licences.Secret, net.DefaultResolver)
	}
	h := &handlers.Handler{Store: opts.Store, Sessions: cookies, Clock: opts.Clock, Logger: opts.Logger,
		PublicURL: opts.PublicURL, Billing: opts.Billing, Checks: opts.Checks, Licences: opts.Licences,
		Reconciler: opts.Reconciler, SSO: opts.SSO, Webhooks: opts.Webhooks,
		Leases: leases.New(opts.Store)}
	// Insights: live pages hear the check cache's listener (other
	// instances' changes) and this process's own commits.
	h.Hub, h.Figures = store.NewHub(), insightscache.New(opts.Store)
	h.MemberTotals = membertotals.New()
	opts.Checks.OnNotify(h.Hub.Publish)
	opts.Store.OnCommittedChange(h.Hub.Publish)

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// Behind no proxy by default: the client address is the connection's,
	// so nobody dodges sign-in throttling by sending X-Forwarded-For.
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = errorHandler(h, opts.Logger)
	if opts.Metrics == nil {
		opts.Metrics = metrics.New(nil, nil, opts.Logger)
	}
	if opts.Tracing {
		e.Use(echo.WrapMiddleware(tracing.Handler))
	}
	e.Use(opts.Metrics.Middleware()) // insights: by route template
	routes(e, h, opts)
	return e
}
