package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// startSession signs a person in after their password: with two-factor on,
// it asks for the code first; then a fresh session token (whoever was signed
// in in this browser is signed out first), and the overview, or the account
// picker for a person in several accounts.
func (h *Handler) startSession(c echo.Context, login store.Login) error {
	on, err := h.Store.PersonHasTOTP(c.Request().Context(), login.UserID)
	if err != nil {
		return err
	}
	if on { // the code comes first: no session until then
		if err := h.savePending(c, SessionCookie, login.UserID, login.AccountID, login.MembershipID); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/login/code")
	}
	return h.finishSession(c, login)
}

// finishSession starts the session of a person fully signed in.
func (h *Handler) finishSession(c echo.Context, login store.Login) error {
	if err := h.newSession(c, login); err != nil {
		return err
	}
	accounts, err := h.Store.PersonAccounts(c.Request().Context(), login.UserID)
	if err != nil {
		return err
	}
	if len(accounts) > 1 {
		return c.Redirect(http.StatusSeeOther, "/accounts")
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

// newSession replaces the browser's session with a new one for login.
func (h *Handler) newSession(c echo.Context, login store.Login) error {
	ctx := c.Request().Context()
	if tok := h.SessionToken(c); tok != "" {
		if err := h.Store.DeleteSession(ctx, tok); err != nil {
			return err
		}
	}
	login.UserAgent = c.Request().UserAgent()
	if login.IP == "" {
		login.IP = c.RealIP()
	}
	token, err := h.Store.CreateCustomerSession(ctx, login)
	if err != nil {
		return err
	}
	return h.saveSessionCookie(c, SessionCookie, token)
}

// accountChoices is the switcher's list for the layout; a failure only
// hides the switcher.
func (h *Handler) accountChoices(c echo.Context, cur store.Session) []views.AccountChoice {
	accounts, err := h.Store.PersonAccounts(c.Request().Context(), cur.UserID)
	if err != nil {
		h.log(c).Warn("list accounts for the switcher", "err", err)
		return nil
	}
	out := make([]views.AccountChoice, 0, len(accounts))
	for _, a := range accounts {
		out = append(out, views.AccountChoice{Slug: a.Slug, Name: a.Name, Role: a.Role})
	}
	return out
}

// ChooseAccount shows the accounts a person may act in (after signing in,
// for a person in several).
func (h *Handler) ChooseAccount(c echo.Context) error {
	cur, _ := Current(c)
	return render(c, http.StatusOK, views.ChooseAccountPage(h.shell(c, "Choose an account", ""), h.accountChoices(c, cur)))
}

// SwitchAccount makes the session act in another of the person's
// accounts; every page and fragment after it reads that account only.
func (h *Handler) SwitchAccount(c echo.Context) error {
	cur, _ := Current(c)
	if cur.Impersonated() {
		return store.ErrForbidden
	}
	slug := c.FormValue("account")
	if err := h.Store.SwitchAccount(c.Request().Context(), h.SessionToken(c), cur.UserID, slug); err != nil {
		return err
	}
	for _, a := range h.accountChoices(c, cur) {
		if a.Slug == slug {
			h.addFlash(c, SessionCookie, "You are now working in "+a.Name+".")
		}
	}
	return redirectAfterPost(c, "/")
}
