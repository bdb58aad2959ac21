package handlers

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
)

// APILicence answers GET /api/v1/accounts/:account/license: the account's
// offline licence file, signed with the current signing key.
func (h *Handler) APILicence(c echo.Context) error {
	key := APIKeyOf(c)
	file, err := h.Store.IssueLicence(c.Request().Context(), key.AccountID, h.Licences)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+key.AccountSlug+`.licence.json"`)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, file)
}

// APIPublicKeys answers GET /api/v1/keys: the public keys licences verify
// with (public: no API key needed).
func (h *Handler) APIPublicKeys(c echo.Context) error {
	keys, err := h.Store.PublicKeys(c.Request().Context(), h.Licences.Secret)
	if err != nil {
		return err
	}
	data, err := licensing.MarshalKeyRing(keys)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, data)
}

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
