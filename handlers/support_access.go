package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// SupportAccess shows the account's owners and admins their consent to
// write-mode support sessions and every support session in the account.
func (h *Handler) SupportAccess(c echo.Context) error {
	cur, _ := Current(c)
	v, err := h.supportAccessView(c, cur)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.SupportAccessPage(h.shell(c, "Support access", "support"), v))
}

// SetSupportAccess records an owner's consent (or its withdrawal).
func (h *Handler) SetSupportAccess(c echo.Context) error {
	cur, _ := Current(c)
	if err := h.Store.SetSupportAccess(c.Request().Context(), cur, c.FormValue("allow") == "true"); err != nil {
		return err
	}
	if !isHTMX(c) {
		return c.Redirect(http.StatusSeeOther, "/settings/support")
	}
	v, err := h.supportAccessView(c, cur)
	if err != nil {
		return err
	}
	csrf, _ := c.Get(ctxCSRF).(string)
	return render(c, http.StatusOK, views.SupportConsent(v, csrf))
}

func (h *Handler) supportAccessView(c echo.Context, cur store.Session) (views.SupportAccess, error) {
	info, err := h.Store.SupportAccess(c.Request().Context(), cur.AccountID)
	if err != nil {
		return views.SupportAccess{}, err
	}
	return views.SupportAccess{Allowed: info.Allowed, CanChange: cur.Role == "owner" && !cur.Impersonated(),
		Sessions: impersonationRows(info.Impersonations), Now: h.Clock.Now()}, nil
}
