package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// AdminVendorKeys lists the vendor's API keys with the create form.
func (h *Handler) AdminVendorKeys(c echo.Context) error {
	return h.renderVendorKeys(c, http.StatusOK, views.AdminVendorKeys{Checked: []string{store.ScopeCheck}})
}

// CreateVendorKey creates a vendor key and shows it once.
func (h *Handler) CreateVendorKey(c echo.Context) error {
	form, _ := c.FormParams()
	token, key, err := h.Store.CreateVendorKey(c.Request().Context(), actorFrom(c), c.FormValue("name"), form["scopes"])
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return h.renderVendorKeys(c, http.StatusUnprocessableEntity, views.AdminVendorKeys{Errors: ve.Fields,
			Name: c.FormValue("name"), Checked: form["scopes"]})
	}
	if err != nil {
		return err
	}
	// The token is in this response only: never cache it.
	c.Response().Header().Set("Cache-Control", "no-store")
	return h.renderVendorKeys(c, http.StatusOK, views.AdminVendorKeys{NewKey: token, NewKeyName: key.Name,
		Checked: []string{store.ScopeCheck}})
}

// RevokeVendorKey revokes a vendor key; it fails at once.
func (h *Handler) RevokeVendorKey(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	if err := h.Store.RevokeVendorKey(c.Request().Context(), actorFrom(c), id); err != nil {
		return err
	}
	h.addConsoleFlash(c, "Key revoked: it fails at once on every instance.")
	return redirectAfterPost(c, "/admin/api-keys")
}

func (h *Handler) renderVendorKeys(c echo.Context, status int, m views.AdminVendorKeys) error {
	keys, err := h.Store.VendorKeys(c.Request().Context())
	if err != nil {
		return err
	}
	for _, k := range keys {
		m.Keys = append(m.Keys, apiKeyRow(k))
	}
	m.Scopes = store.VendorScopes
	return render(c, status, views.AdminVendorKeysPage(h.adminShell(c, "Vendor API keys", "api-keys"), m))
}
