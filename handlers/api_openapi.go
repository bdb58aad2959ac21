package handlers

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument is the API's OpenAPI 3.1 description, written by hand and
// kept in step with the routes by web's TestOpenAPIDescribesEveryRoute.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the embedded OpenAPI document (for tests).
func OpenAPIDocument() []byte { return append([]byte(nil), openAPIDocument...) }

// OpenAPI answers GET /api/v1/openapi.json.
func (h *Handler) OpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}
