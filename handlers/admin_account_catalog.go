package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// adminAccountCatalog is the account's country and pilot plans for its
// console page.
func (h *Handler) adminAccountCatalog(c echo.Context, acct store.Account, canEdit bool) (views.AdminAccountCatalog, error) {
	v := views.AdminAccountCatalog{Country: acct.Country.String, CountryInput: acct.Country.String, CanEdit: canEdit}
	staff, _ := CurrentStaff(c)
	v.Trial.CanExtend = staff.Can(store.CanManageGrants) && h.Billing != nil
	v.Trial.DaysInput = "7"
	ctx := c.Request().Context()
	subs, err := h.Store.Subscriptions(ctx, acct.ID)
	if err != nil {
		return v, err
	}
	for _, sub := range subs {
		if sub.Status == string(licensing.Trialing) && sub.TrialEndsAt.Valid {
			v.Trial.EndsAt = sub.TrialEndsAt.Time
		}
	}
	pilots, err := h.Store.PilotPlans(ctx, acct.ID)
	for _, p := range pilots {
		v.Pilots = append(v.Pilots, views.AdminPilotPlan{ProductKey: p.ProductKey, PlanKey: p.PlanKey, Name: p.Name, Listed: p.Listed})
	}
	return v, err
}

// ExtendTrial gives a trialing account more days, through the billing
// provider; a refused form shows its messages beside the fields.
func (h *Handler) ExtendTrial(c echo.Context) error {
	if h.Billing == nil {
		return echo.ErrNotFound
	}
	slug, daysInput, reason := c.Param("slug"), c.FormValue("days"), c.FormValue("reason")
	acct, err := h.Store.AccountBySlug(c.Request().Context(), slug)
	if err != nil {
		return err
	}
	days, convErr := strconv.Atoi(strings.TrimSpace(daysInput))
	if convErr != nil {
		err = store.Invalid("days", "enter a whole number of days")
	} else {
		_, err = h.Billing.ExtendTrial(c.Request().Context(), actorFrom(c), acct.ID, days, reason)
	}
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return h.adminAccountPage(c, http.StatusUnprocessableEntity, func(a *views.AdminAccount) {
			a.Catalog.Trial.DaysInput, a.Catalog.Trial.ReasonInput, a.Catalog.Trial.Errors = daysInput, reason, ve.Fields
		})
	}
	if err != nil {
		return err
	}
	h.addConsoleFlash(c, "Trial extension sent to billing: the new end shows once its confirmation lands.")
	return redirectAfterPost(c, "/admin/accounts/"+slug+"#region-and-pilots")
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
