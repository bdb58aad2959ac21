package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkServe measures the server's own cost per request (no network,
// no load generator) for /healthz and for entitlement checks answered from
// the cache: go test -run '^$' -bench Serve -benchmem ./web
func BenchmarkServe(b *testing.B) {
	a := newAPI(b)
	key := a.newKey("globex")
	for _, bc := range []struct{ name, path string }{
		{"healthz", "/healthz"},
		{"check", "/api/v1/accounts/globex/entitlements/exports"},
		{"check-user", "/api/v1/accounts/globex/entitlements/dashboards?user=alice@globex.test"},
		{"check-metered", "/api/v1/accounts/globex/entitlements/api_calls"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, bc.path, nil)
			req.Header.Set("Authorization", "Bearer "+key)
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
