package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/sso"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// ssoStateCookie binds a sign-in sent to the identity provider to this
// browser. SameSite=Lax: the provider's redirect back is a top-level GET
// from another site, which Lax lets through and Strict would not.
const ssoStateCookie = "entitle_sso_state"

// ssoStep is what single sign-on decided about a post of the sign-in form.
type ssoStep struct {
	answered   bool  // the response is written (sent to the provider, or refused)
	breakGlass int64 // the account whose break-glass owner signs in with a password
	email, ip  string
	store      *store.Store
}

// passwordSignIn is the sign-in form's single sign-on step, before the
// password is checked. An address on a domain an account verified for SSO
// (with `sso` in its plan) is sent to the account's provider when the
// password is empty or "Continue with single sign-on" was chosen; under
// "require SSO" a password is refused, except for the break-glass owner.
func (h *Handler) passwordSignIn(c echo.Context, email, password string) (ssoStep, error) {
	step := ssoStep{email: email, ip: c.RealIP(), store: h.Store}
	if h.SSO == nil || email == "" {
		return step, nil
	}
	claim, on, err := h.SSO.Route(c.Request().Context(), email)
	if err != nil || !on {
		return step, err
	}
	step.answered = true
	switch {
	case password == "" || c.FormValue("sso") != "":
		return step, h.startSSO(c, claim.AccountID, email)
	case claim.RequireSSO && !claim.BreakGlass:
		h.log(c).Info("password sign-in refused: the account requires SSO", "sso_account", claim.AccountID)
		return step, render(c, http.StatusForbidden, views.LoginPage(h.shell(c, "Sign in", ""), email,
			"Your organisation signs in with single sign-on only. Leave the password empty and sign in again to continue with your identity provider."))
	case claim.RequireSSO:
		step.breakGlass = claim.AccountID
	}
	step.answered = false
	return step, nil
}

// after records what a password sign-in that got through means for SSO:
// the break-glass owner's is audited and mailed to the other owners.
func (s ssoStep) after(ctx context.Context, login store.Login) error {
	if s.breakGlass == 0 {
		return nil
	}
	return s.store.RecordBreakGlassSignIn(ctx, s.breakGlass, login, s.email, s.ip)
}

// startSSO sends the browser to the account's provider.
func (h *Handler) startSSO(c echo.Context, accountID int64, email string) error {
	authURL, state, err := h.SSO.Begin(c.Request().Context(), accountID, email, h.ssoCallbackURL(c))
	if err != nil {
		h.log(c).Warn("single sign-on could not start", "sso_account", accountID, "err", err)
		return render(c, http.StatusBadGateway, views.LoginPage(h.shell(c, "Sign in", ""), email,
			"Your organisation's identity provider cannot be reached right now. Try again in a moment."))
	}
	c.SetCookie(&http.Cookie{Name: ssoStateCookie, Value: state, Path: "/sso/callback", MaxAge: 600, HttpOnly: true,
		Secure: strings.HasPrefix(h.baseURL(c), "https://"), SameSite: http.SameSiteLaxMode})
	return c.Redirect(http.StatusSeeOther, authURL)
}

func (h *Handler) ssoCallbackURL(c echo.Context) string { return h.baseURL(c) + "/sso/callback" }

// SSOCheck answers the sign-in form's htmx lookup as the email is typed:
// for an address that signs in through SSO, a note and the button that
// goes to the provider; otherwise nothing.
func (h *Handler) SSOCheck(c echo.Context) error {
	email, ok := licensing.NormalizeEmail(c.QueryParam("email"))
	on := false
	if ok && h.SSO != nil {
		var err error
		if _, on, err = h.SSO.Route(c.Request().Context(), email); err != nil {
			return err
		}
	}
	return render(c, http.StatusOK, views.SSOHint(on))
}

// SSOCallback is where the provider sends the person back: the callback is
// verified (sso.Service.Finish) and a session in the provider's account
// starts; a refusal is a page saying why, already recorded.
func (h *Handler) SSOCallback(c echo.Context) error {
	cookieState := ""
	if ck, err := c.Cookie(ssoStateCookie); err == nil {
		cookieState = ck.Value
	}
	c.SetCookie(&http.Cookie{Name: ssoStateCookie, Value: "", Path: "/sso/callback", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode})
	login, err := h.SSO.Finish(c.Request().Context(), sso.Callback{CookieState: cookieState,
		Query: c.QueryParams(), RedirectURL: h.ssoCallbackURL(c)})
	var refusal *sso.Refusal
	if errors.As(err, &refusal) {
		h.log(c).Info("single sign-on refused", "reason", refusal.Reason, "detail", refusal.Detail)
		status := http.StatusForbidden
		if refusal.Reason == sso.ReasonStateMismatch || refusal.Reason == sso.ReasonStateUnknown {
			status = http.StatusBadRequest
		}
		return render(c, status, views.SSORefusedPage(h.shell(c, "Sign-in refused", ""), refusal.Message, refusal.Reason))
	}
	if err != nil {
		return err
	}
	// The groups' rules give a person just created their seat before the
	// first page, which would otherwise say "You hold no seat" until a
	// reload; sign-ins arriving together share the reconciler's runs.
	if h.Reconciler != nil {
		if err := h.Reconciler.Settle(c.Request().Context(), login.AccountID); err != nil {
			h.log(c).Warn("waiting for the reconciler after single sign-on", "account_id", login.AccountID, "err", err)
		}
	}
	// The provider vouched for the person, with its own second factor if
	// the customer asks for one, and for this account: the session opens
	// there, without the portal's code or the account picker.
	if err := h.newSession(c, login); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/")
}
