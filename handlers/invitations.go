package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// InvitationForm shows an invitation link's page (public): who invites
// whom, and the form to accept.
func (h *Handler) InvitationForm(c echo.Context) error {
	inv, err := h.Store.InvitationByToken(c.Request().Context(), c.Param("token"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.AcceptPage(h.shell(c, "Join "+inv.AccountName, ""), acceptView(c, inv, nil)))
}

func acceptView(c echo.Context, inv store.Invitation, problems map[string]string) views.AcceptView {
	return views.AcceptView{Token: c.Param("token"), Email: inv.Email, AccountName: inv.AccountName, Role: inv.Role,
		HasLogin: inv.HasLogin(), Name: c.FormValue("name"), Problems: problems}
}

// AcceptInvitation uses the link once: the person sets a name and a
// password (or confirms their existing one), the membership becomes active,
// and they are signed in to the account.
func (h *Handler) AcceptInvitation(c echo.Context) error {
	ctx := c.Request().Context()
	login, err := h.Store.AcceptInvitation(ctx, store.AcceptRequest{Token: c.Param("token"),
		Name: c.FormValue("name"), Password: c.FormValue("password")})
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		inv, ierr := h.Store.InvitationByToken(ctx, c.Param("token"))
		if ierr != nil {
			return ierr
		}
		return render(c, http.StatusUnprocessableEntity, views.AcceptPage(h.shell(c, "Join "+inv.AccountName, ""),
			acceptView(c, inv, ve.Fields)))
	}
	if err != nil {
		return err
	}
	// Whoever was signed in in this browser is signed out first; the
	// session acts in the account that invited them.
	if err := h.newSession(c, login); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/")
}
