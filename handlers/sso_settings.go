package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// ssoFailuresShown is how many refused callbacks the settings page lists.
const ssoFailuresShown = 50

// SSOSettingsPage shows the account's identity provider, its domains and
// the latest refused sign-ins; on a plan without `sso` it explains and
// links to billing.
func (h *Handler) SSOSettingsPage(c echo.Context) error {
	h.showFlash(c)
	return h.renderSSOSettings(c, http.StatusOK, nil)
}

// SaveSSOSettings checks the provider's discovery document and saves; a
// problem is a message beside its field, with the input kept.
func (h *Handler) SaveSSOSettings(c echo.Context) error {
	cur, _ := Current(c)
	if ok, err := h.ssoAllowed(c); !ok || err != nil {
		return h.ssoNotAllowed(c, err)
	}
	breakGlass, _ := strconv.ParseInt(c.FormValue("break_glass"), 10, 64)
	in := store.SSOSettings{Issuer: c.FormValue("issuer"), ClientID: c.FormValue("client_id"),
		ClientSecret: c.FormValue("client_secret"), DefaultRole: c.FormValue("default_role"),
		RequireSSO: c.FormValue("require_sso") == "true", BreakGlassID: breakGlass}
	err := h.SSO.Save(c.Request().Context(), actorFrom(c), cur.AccountID, in)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return h.renderSSOSettings(c, http.StatusUnprocessableEntity, func(v *views.SSOSettings) {
			v.Errors = ve.Fields
			v.Issuer, v.ClientID, v.DefaultRole, v.RequireSSO, v.BreakGlassID = in.Issuer, in.ClientID, in.DefaultRole, in.RequireSSO, in.BreakGlassID
		})
	}
	if err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/settings/sso", "Single sign-on settings saved.")
}

// AddSSODomain lists a domain to verify.
func (h *Handler) AddSSODomain(c echo.Context) error {
	cur, _ := Current(c)
	if ok, err := h.ssoAllowed(c); !ok || err != nil {
		return h.ssoNotAllowed(c, err)
	}
	d, err := h.Store.AddSSODomain(c.Request().Context(), actorFrom(c), cur.AccountID, c.FormValue("domain"))
	if err := h.ssoFormError(c, err, c.FormValue("domain")); err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/settings/sso", "Domain added: publish the TXT record shown for "+d.Domain+" below, then choose “Check DNS”.")
}

// VerifySSODomain checks the domain's DNS TXT record and claims it.
func (h *Handler) VerifySSODomain(c echo.Context) error {
	cur, _ := Current(c)
	if ok, err := h.ssoAllowed(c); !ok || err != nil {
		return h.ssoNotAllowed(c, err)
	}
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	d, err := h.SSO.VerifyDomainByDNS(c.Request().Context(), actorFrom(c), cur.AccountID, id)
	if errors.Is(err, store.ErrDomainClaimed) {
		err = store.Invalid("domain", store.ErrDomainClaimed.Error()+".")
	}
	if err := h.ssoFormError(c, err, ""); err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/settings/sso", d.Domain+" is verified: its people now sign in through your identity provider.")
}

// RemoveSSODomain gives a domain up.
func (h *Handler) RemoveSSODomain(c echo.Context) error {
	cur, _ := Current(c)
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	if err := h.Store.RemoveSSODomain(c.Request().Context(), actorFrom(c), cur.AccountID, id); err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/settings/sso", "Domain removed.")
}

// ssoFormError re-renders the page with a validation error beside the
// domain field; other errors go to the error handler; nil when err is nil.
func (h *Handler) ssoFormError(c echo.Context, err error, domain string) error {
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return h.renderSSOSettings(c, http.StatusUnprocessableEntity, func(v *views.SSOSettings) {
			v.Errors, v.NewDomain = ve.Fields, domain
		})
	}
	return err
}

func (h *Handler) ssoAllowed(c echo.Context) (bool, error) {
	cur, _ := Current(c)
	d, err := h.SSO.Allowed(c.Request().Context(), cur.AccountID)
	return d.HasAccess, err
}

func (h *Handler) ssoNotAllowed(c echo.Context, err error) error {
	if err != nil {
		return err
	}
	return h.redirectWithFlash(c, "/settings/sso", "Single sign-on is not part of your plan.")
}

func (h *Handler) renderSSOSettings(c echo.Context, status int, edit func(*views.SSOSettings)) error {
	cur, _ := Current(c)
	ctx := c.Request().Context()
	d, err := h.SSO.Allowed(ctx, cur.AccountID)
	if err != nil {
		return err
	}
	v := views.SSOSettings{Allowed: d.HasAccess, NotAllowedReason: string(d.Reason), DefaultRole: licensing.RoleMember,
		CanBuy: licensing.Can(licensing.Role(cur.Role), licensing.ManageBilling), CallbackURL: h.ssoCallbackURL(c)}
	if d.HasAccess {
		if err := h.fillSSOSettings(c, cur.AccountID, &v); err != nil {
			return err
		}
	}
	if edit != nil {
		edit(&v)
	}
	return render(c, status, views.SSOSettingsPage(h.shell(c, "Single sign-on", "sso"), v))
}

func (h *Handler) fillSSOSettings(c echo.Context, accountID int64, v *views.SSOSettings) error {
	ctx := c.Request().Context()
	cfg, err := h.Store.SSOConfig(ctx, accountID)
	switch {
	case err == nil:
		v.Configured, v.Issuer, v.ClientID, v.HasSecret, v.SecretSealed = true, cfg.Issuer, cfg.ClientID, true, cfg.SecretSealed
		v.DefaultRole, v.RequireSSO, v.BreakGlassID = cfg.DefaultRole, cfg.RequireSSO, cfg.BreakGlassID.Int64
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	owners, err := h.Store.SSOOwners(ctx, accountID)
	if err != nil {
		return err
	}
	for _, o := range owners {
		v.Owners = append(v.Owners, views.SSOOwner{ID: o.ID, Email: o.Email})
	}
	domains, err := h.Store.SSODomains(ctx, accountID)
	if err != nil {
		return err
	}
	for _, d := range domains {
		v.Domains = append(v.Domains, views.SSODomainRow{ID: d.ID, Domain: d.Domain, Record: d.TXTRecord(),
			VerifiedAt: d.VerifiedAt.Time, VerifiedBy: d.VerifiedBy})
	}
	failures, err := h.Store.SSOFailures(ctx, accountID, ssoFailuresShown)
	if err != nil {
		return err
	}
	for _, f := range failures {
		v.Failures = append(v.Failures, views.SSOFailureRow{At: f.At, Reason: f.Reason, Detail: f.Detail, Email: f.Email})
	}
	return nil
}
