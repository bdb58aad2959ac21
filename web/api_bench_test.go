package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/tracing"
	"github.com/entitle-dev/entitle/web"
)

// BenchmarkServe measures the server's own cost per request (no network,
// no load generator) for /healthz and for entitlement checks answered from
// the cache: go test -run '^$' -bench Serve -benchmem ./web
func BenchmarkServe(b *testing.B) {
	a := newAPI(b)
	account := a.newKey("globex")
	vendor := a.newVendorKey(store.ScopeCheck)
	a.setExternalID("globex", "crm-4711")
	for _, bc := range []struct{ name, path, key string }{
		{"healthz", "/healthz", account},
		{"check", "/api/v1/accounts/globex/entitlements/exports", account},
		{"check-user", "/api/v1/accounts/globex/entitlements/dashboards?user=alice@globex.test", account},
		{"check-metered", "/api/v1/accounts/globex/entitlements/api_calls", account},
		{"check-vendor-ext", "/api/v1/accounts/ext:crm-4711/entitlements/exports", vendor},
		{"check-vendor-slug", "/api/v1/accounts/globex/entitlements/exports", vendor},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, bc.path, nil)
			req.Header.Set("Authorization", "Bearer "+bc.key)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					a.echo.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("%s: %d %s", bc.path, w.Code, w.Body)
					}
				}
			})
		})
	}
}

// BenchmarkServeTracing is the check's cost with tracing off (the default:
// no middleware, no-op spans) and on (every request a recorded span, no
// exporter): go test -run '^$' -bench ServeTracing -benchmem ./web
func BenchmarkServeTracing(b *testing.B) {
	const check = "/api/v1/accounts/globex/entitlements/exports"
	for _, on := range []bool{false, true} {
		name := map[bool]string{false: "off", true: "on"}[on]
		b.Run(name, func(b *testing.B) {
			if on {
				tracing.Install(sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample())))
				defer tracing.Install(noop.NewTracerProvider())
			}
			a := newAPI(b, func(o *web.Options) { o.Tracing = on })
			key := a.newKey("globex")
			req := httptest.NewRequest(http.MethodGet, check, nil)
			req.Header.Set("Authorization", "Bearer "+key)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					a.echo.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}
