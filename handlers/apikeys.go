package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// canManageAPIKeys: API keys and the offline licence are for the account's
// owners and admins. (Kept small on purpose, to be replaced by the general
// permission matrix.)
func canManageAPIKeys(role string) bool { return role == "owner" || role == "admin" }

// apiKeysAdmin is the signed-in owner or admin, or ErrForbidden.
func apiKeysAdmin(c echo.Context) (store.Session, store.Actor, error) {
	cur, _ := Current(c)
	if !canManageAPIKeys(cur.Role) {
		return cur, store.Actor{}, store.ErrForbidden
	}
	return cur, store.Actor{Type: "user", ID: strconv.FormatInt(cur.UserID, 10), Label: cur.Email}, nil
}

// APIKeysPage shows the account's API keys, the create form, and the
// offline licence with its public keys.
func (h *Handler) APIKeysPage(c echo.Context) error {
	cur, _, err := apiKeysAdmin(c)
	if err != nil {
		return err
	}
	return h.renderAPIKeys(c, cur, views.APIKeys{})
}

// CreateAPIKey creates a key and shows its token once.
func (h *Handler) CreateAPIKey(c echo.Context) error {
	cur, actor, err := apiKeysAdmin(c)
	if err != nil {
		return err
	}
	form, _ := c.FormParams()
	token, key, err := h.Store.CreateAPIKey(c.Request().Context(), actor, cur.AccountID, c.FormValue("name"), form["scopes"])
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return h.renderAPIKeysStatus(c, cur, http.StatusUnprocessableEntity, views.APIKeys{Errors: ve.Fields, Name: c.FormValue("name")})
	}
	if err != nil {
		return err
	}
	// The token is in this response only: never cache it.
	c.Response().Header().Set("Cache-Control", "no-store")
	return h.renderAPIKeys(c, cur, views.APIKeys{NewKey: token, NewKeyName: key.Name})
}

// RevokeAPIKey revokes a key of the account; it fails at once.
func (h *Handler) RevokeAPIKey(c echo.Context) error {
	cur, actor, err := apiKeysAdmin(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	if err := h.Store.RevokeAPIKey(c.Request().Context(), actor, cur.AccountID, id); err != nil {
		return err
	}
	return h.renderAPIKeys(c, cur, views.APIKeys{})
}

func (h *Handler) renderAPIKeys(c echo.Context, cur store.Session, m views.APIKeys) error {
	return h.renderAPIKeysStatus(c, cur, http.StatusOK, m)
}

// apiKeyRow is a key as the key lists show it.
func apiKeyRow(k store.APIKey) views.APIKeyRow {
	row := views.APIKeyRow{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes, CreatedAt: when(k.CreatedAt),
		CreatedBy: strings.TrimPrefix(strings.TrimPrefix(k.CreatedBy, "user:"), "staff:"), LastUsed: "never", Revoked: k.RevokedAt.Valid}
	if k.LastUsedAt.Valid {
		row.LastUsed = when(k.LastUsedAt.Time)
	}
	if k.RevokedAt.Valid {
		row.RevokedAt = when(k.RevokedAt.Time)
	}
	return row
}

// renderAPIKeysStatus answers an htmx request with the keys section, any
// other with the whole page.
func (h *Handler) renderAPIKeysStatus(c echo.Context, cur store.Session, status int, m views.APIKeys) error {
	ctx := c.Request().Context()
	keys, err := h.Store.APIKeys(ctx, cur.AccountID)
	if err != nil {
		return err
	}
	m.Scopes = store.Scopes
	for _, k := range keys {
		m.Keys = append(m.Keys, apiKeyRow(k))
	}
	if isHTMX(c) {
		return render(c, status, views.APIKeysSection(m))
	}
	pub, err := h.Store.PublicKeys(ctx, h.Licences.Secret)
	if err != nil {
		return err
	}
	for i, k := range pub {
		m.PublicKeys = append(m.PublicKeys, views.PublicKeyRow{ID: k.KeyID, Key: k.PublicKey, CreatedAt: when(k.CreatedAt), Signing: i == 0})
	}
	return render(c, status, views.APIKeysPage(h.shell(c, "API keys", "api-keys"), m))
}

// DownloadLicence sends the account's signed offline licence file.
func (h *Handler) DownloadLicence(c echo.Context) error {
	cur, _, err := apiKeysAdmin(c)
	if err != nil {
		return err
	}
	file, err := h.Store.IssueLicence(c.Request().Context(), cur.AccountID, h.Licences)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+cur.AccountSlug+`.licence.json"`)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, file)
}

// DownloadPublicKeys sends the public key file licences verify with.
func (h *Handler) DownloadPublicKeys(c echo.Context) error {
	if _, _, err := apiKeysAdmin(c); err != nil {
		return err
	}
	keys, err := h.Store.PublicKeys(c.Request().Context(), h.Licences.Secret)
	if err != nil {
		return err
	}
	data, err := licensing.MarshalKeyRing(keys)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="entitle-public-keys.json"`)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, data)
}

func when(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") }
