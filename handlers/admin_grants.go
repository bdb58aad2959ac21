package handlers

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

const consoleDateLayout = "2006-01-02"

// consoleGrantForm is the operator's grant form for an account page: every
// feature of the catalog, the products, and an expiry a month out.
func consoleGrantForm(d store.ConsoleAccountDetail, now time.Time) views.GrantForm {
	f := views.GrantForm{Products: d.Products, DefaultExpiry: now.AddDate(0, 1, 0).Format(consoleDateLayout),
		MinExpiry: now.AddDate(0, 0, 1).Format(consoleDateLayout)}
	for _, ft := range d.Features {
		f.Features = append(f.Features, views.GrantFeature{Value: ft.ProductKey + ":" + ft.Key,
			Label: fmt.Sprintf("%s (%s, %s)", ft.Name, ft.Key, ft.Kind), Kind: ft.Kind})
	}
	return f
}

// CreateGrant gives the account a feature, an extra limit or extra seats,
// with a reason and an expiry (the start of the chosen day, UTC).
func (h *Handler) CreateGrant(c echo.Context) error {
	in := store.GrantInput{Kind: c.FormValue("kind"), ProductKey: c.FormValue("product"),
		Enabled: c.FormValue("enabled") != "false", Reason: c.FormValue("reason")}
	if in.Kind != "extra_seats" {
		in.ProductKey, in.FeatureKey, _ = strings.Cut(c.FormValue("feature"), ":")
	}
	if raw := strings.TrimSpace(c.FormValue("amount")); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return store.Invalid("amount", "enter a whole number")
		}
		in.Amount = n
	}
	if raw := c.FormValue("expires_at"); raw != "" {
		t, err := time.Parse(consoleDateLayout, raw)
		if err != nil {
			return store.Invalid("expires_at", "enter a date such as 2030-01-31")
		}
		in.ExpiresAt = t.UTC()
	}
	slug := c.Param("slug")
	if _, err := h.Store.CreateGrant(c.Request().Context(), actorFrom(c), slug, in); err != nil {
		return err
	}
	h.addConsoleFlash(c, "Grant given.")
	return redirectAfterPost(c, "/admin/accounts/"+slug)
}

// RevokeGrant ends a grant at once.
func (h *Handler) RevokeGrant(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	slug := c.Param("slug")
	if err := h.Store.RevokeGrant(c.Request().Context(), actorFrom(c), slug, id); err != nil {
		return err
	}
	h.addConsoleFlash(c, "Grant revoked.")
	return redirectAfterPost(c, "/admin/accounts/"+slug)
}
