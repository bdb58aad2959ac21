package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// adminAccountCatalog is the account's country and pilot plans for its
// console page.
func (h *Handler) adminAccountCatalog(c echo.Context, acct store.Account, canEdit bool) (views.AdminAccountCatalog, error) {
	v := views.AdminAccountCatalog{Country: acct.Country.String, CountryInput: acct.Country.String, CanEdit: canEdit}
	pilots, err := h.Store.PilotPlans(c.Request().Context(), acct.ID)
	for _, p := range pilots {
		v.Pilots = append(v.Pilots, views.AdminPilotPlan{ProductKey: p.ProductKey, PlanKey: p.PlanKey, Name: p.Name, Listed: p.Listed})
	}
	return v, err
}

// SetAccountCountry sets the account's country, which regional rules read.
// A code that is not one shows the page again with the message beside the
// field and what was typed kept.
func (h *Handler) SetAccountCountry(c echo.Context) error {
	slug, country := c.Param("slug"), c.FormValue("country")
	err := h.Store.SetAccountCountry(c.Request().Context(), actorFrom(c), slug, country)
	var ve *store.ValidationError
	if errors.As(err, &ve) && ve.Fields["country"] != "" {
		return h.adminAccountPage(c, http.StatusUnprocessableEntity, func(a *views.AdminAccount) {
			a.Catalog.CountryInput, a.Catalog.CountryError = country, ve.Fields["country"]
		})
	}
	if err != nil {
		return err
	}
	h.addConsoleFlash(c, "Country saved.")
	return redirectAfterPost(c, "/admin/accounts/"+slug+"#region-and-pilots")
}

// SetPilotAccount adds the account to a pilot plan's list, or takes it off.
func (h *Handler) SetPilotAccount(c echo.Context) error {
	slug, listed := c.Param("slug"), c.FormValue("listed") == "true"
	if err := h.Store.SetPilotAccount(c.Request().Context(), actorFrom(c), slug, c.FormValue("product"), c.FormValue("plan"), listed); err != nil {
		return err
	}
	msg := "Added to the pilot: the plan is offered to this account on its billing page."
	if !listed {
		msg = "Taken off the pilot: the plan is no longer offered to this account."
	}
	h.addConsoleFlash(c, msg)
	return redirectAfterPost(c, "/admin/accounts/"+slug+"#region-and-pilots")
}
