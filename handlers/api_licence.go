package handlers

import (
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
