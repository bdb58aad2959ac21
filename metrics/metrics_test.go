package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// Made-up methods end in one "other" series: a scanner must not be able to
// grow the registry without bound.
func TestMadeUpMethodsShareOneSeries(t *testing.T) {
	m := New(nil, nil, nil)
	e := echo.New()
	e.Use(m.Middleware())
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	for _, method := range []string{"GET", "BREW", "PROPFIND", "X-SCAN-1", "X-SCAN-2"} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, "/healthz", nil))
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	methods := map[string]bool{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if !strings.HasPrefix(line, "entitle_http_request_duration_seconds_count{") {
			continue
		}
		_, rest, _ := strings.Cut(line, `method="`)
		method, _, _ := strings.Cut(rest, `"`)
		methods[method] = true
	}
	if !methods["GET"] || !methods["other"] || len(methods) != 2 {
		t.Fatalf("request series by method = %v, want GET and other only", methods)
	}
}
