// Package metrics is Entitle's Prometheus instrumentation,
// served on its own address (METRICS_ADDR), never on the portal's port.
// Every name starts with entitle_; labels are bounded: route templates,
// methods, status classes, products of the catalog, outcomes — never an
// account, a path or a user.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/entitle-dev/entitle/checks"
	"github.com/entitle-dev/entitle/store"
)

// Metrics holds the registry and the collectors the server feeds.
type Metrics struct {
	Registry *prometheus.Registry
	http     *prometheus.HistogramVec
	checks   *prometheus.HistogramVec
	scim     *prometheus.CounterVec // SCIM requests by outcome
	drift    prometheus.Counter     // seat assignments the reconciler repaired
	byRoute  sync.Map               // observerKey → *routeObservers
}

// scimOutcomes are the SCIM request outcomes, each shown (at 0) before the
// first request.
var scimOutcomes = []string{"ok", "client_error", "unauthorized", "server_error"}

// checkRoutes are the entitlement API's check routes, timed on their own.
var checkRoutes = map[string]bool{
	"/api/v1/accounts/:account/entitlements/:feature": true,
	"/api/v1/accounts/:account/entitlements":          true,
}

// IsCheckRoute reports whether route (echo's, as c.Path() gives it) is one
// of the entitlement API's checks.
func IsCheckRoute(route string) bool { return checkRoutes[route] }

// New registers every collector. st and checks feed the figures read at
// scrape time (either may be nil in tests).
func New(st *store.Store, cache *checks.Cache, logger *slog.Logger) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.http = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "entitle_http_request_duration_seconds", Help: "HTTP requests by route template, method and status class.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route", "method", "code"})
	m.checks = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "entitle_check_duration_seconds", Help: "Entitlement checks answered by the API (rate: the _count's rate).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"route", "code"})
	m.scim = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "entitle_scim_requests_total", Help: "SCIM requests by outcome.",
	}, []string{"outcome"})
	for _, outcome := range scimOutcomes {
		m.scim.WithLabelValues(outcome)
	}
	m.drift = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "entitle_drift_repairs_total", Help: "Seat assignments repaired to match the provisioning rules.",
	})
	m.Registry.MustRegister(m.http, m.checks, m.scim, m.drift,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cache != nil {
		m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "entitle_check_cache_hits_total", Help: "Account states answered from the in-process cache.",
		}, func() float64 { h, _ := cache.Stats(); return float64(h) }))
		m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "entitle_check_cache_misses_total", Help: "Account states read from the database.",
		}, func() float64 { _, mi := cache.Stats(); return float64(mi) }))
		m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "entitle_check_stale_answers_total", Help: "Checks answered from a stale state while the database or its change feed was unreachable.",
		}, func() float64 { return float64(cache.StaleAnswers()) }))
		m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "entitle_check_cache_in_sync", Help: "1 while the check cache's change feed is connected and caught up, else 0 (answers are stale).",
		}, func() float64 {
			if cache.Live() {
				return 1
			}
			return 0
		}))
		m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "entitle_check_cache_hit_ratio", Help: "Hits over all account state lookups since the start.",
		}, func() float64 {
			h, mi := cache.Stats()
			if h+mi == 0 {
				return 0
			}
			return float64(h) / float64(h+mi)
		}))
	}
	if st != nil {
		m.Registry.MustRegister(&opsCollector{store: st, logger: logger})
	}
	return m
}

// DriftRepaired counts drifts the provisioning reconciler repaired (its
// OnDrift hook).
func (m *Metrics) DriftRepaired(n int) { m.drift.Add(float64(n)) }

// scimOutcome classifies a SCIM answer for entitle_scim_requests_total.
func scimOutcome(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "unauthorized"
	case status >= 500:
		return "server_error"
	case status >= 400:
		return "client_error"
	}
	return "ok"
}

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Middleware times every request by its route template (echo's c.Path());
// requests that match no route are labelled "unmatched", so scanners
// create no series.
func (m *Metrics) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			status := c.Response().Status
			if err != nil {
				if he, ok := err.(*echo.HTTPError); ok {
					status = he.Code
				} else if status < 400 {
					status = http.StatusInternalServerError
				}
			}
			route := c.Path()
			if route == "" || route == "/*" || status == http.StatusNotFound && route == "/*" {
				route = "unmatched"
			}
			elapsed := time.Since(start).Seconds()
			o := m.observers(route, methodLabel(c.Request().Method), status)
			o.http.Observe(elapsed)
			if o.check != nil {
				o.check.Observe(elapsed)
			}
			if strings.HasPrefix(c.Request().URL.Path, "/scim/v2") {
				m.scim.WithLabelValues(scimOutcome(status)).Inc()
			}
			return err
		}
	}
}

// methodLabel is the request's method as a label value: any method outside
// HTTP's standard ones is "other", so a scanner sending made-up methods
// cannot create a new series per method.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// routeObservers are the series one kind of request is timed into, looked
// up once per route, method and status class rather than per request
// (labels are hashed on every lookup).
type routeObservers struct {
	http, check prometheus.Observer // check: nil outside checkRoutes
}

type observerKey struct {
	route, method string
	class         int
}

func (m *Metrics) observers(route, method string, status int) *routeObservers {
	k := observerKey{route: route, method: method, class: status / 100}
	if v, ok := m.byRoute.Load(k); ok {
		return v.(*routeObservers)
	}
	code := strconv.Itoa(k.class) + "xx"
	o := &routeObservers{http: m.http.WithLabelValues(route, method, code)}
	if checkRoutes[route] {
		o.check = m.checks.WithLabelValues(route, code)
	}
	v, _ := m.byRoute.LoadOrStore(k, o)
	return v.(*routeObservers)
}

// opsCollector reads the database's figures at scrape time.
type opsCollector struct {
	store  *store.Store
	logger *slog.Logger
}

var (
	inboxDepthDesc = prometheus.NewDesc("entitle_webhook_inbox_depth", "Webhook events received and not yet applied.", nil, nil)
	inboxAgeDesc   = prometheus.NewDesc("entitle_webhook_inbox_oldest_age_seconds", "Age of the oldest unapplied webhook event (0: none).", nil, nil)
	appliedDesc    = prometheus.NewDesc("entitle_webhook_events_applied", "Webhook events applied (rows in the inbox).", nil, nil)
	failedDesc     = prometheus.NewDesc("entitle_webhook_events_failed", "Webhook events parked as failed.", nil, nil)
	purchasedDesc  = prometheus.NewDesc("entitle_seats_purchased", "Seats purchased across accounts, per product.", []string{"product"}, nil)
	assignedDesc   = prometheus.NewDesc("entitle_seats_assigned", "Seats assigned across accounts, per product.", []string{"product"}, nil)
)

func (o *opsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{inboxDepthDesc, inboxAgeDesc, appliedDesc, failedDesc, purchasedDesc, assignedDesc} {
		ch <- d
	}
}

func (o *opsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, err := o.store.OpsFigures(ctx)
	if err != nil {
		if o.logger != nil {
			o.logger.Warn("metrics: database figures unavailable", "err", err)
		}
		return
	}
	ch <- prometheus.MustNewConstMetric(inboxDepthDesc, prometheus.GaugeValue, float64(f.InboxDepth))
	ch <- prometheus.MustNewConstMetric(inboxAgeDesc, prometheus.GaugeValue, f.OldestPending.Seconds())
	ch <- prometheus.MustNewConstMetric(appliedDesc, prometheus.GaugeValue, float64(f.EventsApplied))
	ch <- prometheus.MustNewConstMetric(failedDesc, prometheus.GaugeValue, float64(f.EventsFailed))
	for _, p := range f.SeatsByProduct {
		ch <- prometheus.MustNewConstMetric(purchasedDesc, prometheus.GaugeValue, float64(p.Purchased), p.Product)
		ch <- prometheus.MustNewConstMetric(assignedDesc, prometheus.GaugeValue, float64(p.Assigned), p.Product)
	}
}
