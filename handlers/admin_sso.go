package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// adminSSOFailures is how many refused sign-ins the console shows.
const adminSSOFailures = 20

// AdminSSO shows staff whether an account uses single sign-on, its
// provider, its domains (operators approve them by hand) and its latest
// refused sign-ins.
func (h *Handler) AdminSSO(c echo.Context) error {
	ctx := c.Request().Context()
	acct, err := h.Store.AccountBySlug(ctx, c.Param("slug"))
	if err != nil {
		return err
	}
	staff, _ := CurrentStaff(c)
	v := views.AdminSSO{Slug: acct.Slug, Name: acct.Name, CanApprove: staff.Can(store.CanApproveDomains)}
	d, err := h.SSO.Allowed(ctx, acct.ID)
	if err != nil {
		return err
	}
	v.Entitled = d.HasAccess
	cfg, err := h.Store.SSOConfig(ctx, acct.ID)
	switch {
	case err == nil:
		v.Configured, v.Issuer, v.ClientID, v.RequireSSO = true, cfg.Issuer, cfg.ClientID, cfg.RequireSSO
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	domains, err := h.Store.SSODomains(ctx, acct.ID)
	if err != nil {
		return err
	}
	for _, dm := range domains {
		v.Domains = append(v.Domains, views.SSODomainRow{ID: dm.ID, Domain: dm.Domain, Record: dm.TXTRecord(),
			VerifiedAt: dm.VerifiedAt.Time, VerifiedBy: dm.VerifiedBy})
		v.InUse = v.InUse || dm.VerifiedAt.Valid
	}
	v.InUse = v.InUse && v.Configured && v.Entitled
	failures, err := h.Store.SSOFailures(ctx, acct.ID, adminSSOFailures)
	if err != nil {
		return err
	}
	for _, f := range failures {
		v.Failures = append(v.Failures, views.SSOFailureRow{At: f.At, Reason: f.Reason, Detail: f.Detail, Email: f.Email})
	}
	return render(c, http.StatusOK, views.AdminSSOPage(h.adminShell(c, "Single sign-on: "+acct.Name, "accounts"), v))
}

// AdminApproveSSODomain verifies a domain by an operator's word (the
// customer could not publish a DNS record).
func (h *Handler) AdminApproveSSODomain(c echo.Context) error {
	ctx := c.Request().Context()
	acct, err := h.Store.AccountBySlug(ctx, c.Param("slug"))
	if err != nil {
		return err
	}
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	staff, _ := CurrentStaff(c)
	d, err := h.Store.VerifySSODomain(ctx, actorFrom(c), acct.ID, id, "operator "+staff.Email)
	page := "/admin/accounts/" + acct.Slug + "/sso"
	if errors.Is(err, store.ErrDomainClaimed) {
		h.addConsoleFlash(c, "Not approved: "+store.ErrDomainClaimed.Error()+".")
		return c.Redirect(http.StatusSeeOther, page)
	}
	if err != nil {
		return err
	}
	h.addConsoleFlash(c, d.Domain+" approved for "+acct.Name+".")
	return c.Redirect(http.StatusSeeOther, page)
}
