package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/entitle-dev/entitle/store"
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
