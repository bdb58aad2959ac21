package handlers

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// AdminNewAccountForm shows /admin/accounts/new.
func (h *Handler) AdminNewAccountForm(c echo.Context) error {
	return h.renderNewAccount(c, http.StatusOK, views.NewAccountForm{})
}

func (h *Handler) renderNewAccount(c echo.Context, status int, form views.NewAccountForm) error {
	st, err := h.Store.Pricing(c.Request().Context())
	if err != nil {
		return err
	}
	for _, p := range st.Plans {
		form.Plans = append(form.Plans, views.SignupPlan{Key: p.PlanKey, Name: p.Name, TrialDays: p.TrialDays})
	}
	form.CSRF = csrfToken(c)
	return render(c, status, views.AdminNewAccountPage(h.adminShell(c, "New account", "accounts"), form))
}

// AdminCreateAccount creates a customer account; its owner is invited.
func (h *Handler) AdminCreateAccount(c echo.Context) error {
	form := views.NewAccountForm{Name: c.FormValue("name"), Owner: c.FormValue("owner"), Plan: c.FormValue("plan"),
		Grant: c.FormValue("grant"), Seats: c.FormValue("seats"), ExternalID: c.FormValue("external_id")}
	seats := 0
	if form.Seats != "" {
		n, err := strconv.Atoi(form.Seats)
		if err != nil || n < 1 {
			form.Problems = map[string]string{"seats": "enter a whole number of seats, 1 or more"}
			return h.renderNewAccount(c, http.StatusUnprocessableEntity, form)
		}
		seats = n
	}
	start := ""
	if form.Plan != "" {
		start = "grant"
		if form.Grant == "trial" {
			start = "trial"
		}
	}
	acct, err := h.Store.CreateAccount(c.Request().Context(), actorFrom(c), store.NewAccount{Name: form.Name,
		OwnerEmail: strings.TrimSpace(form.Owner), Plan: form.Plan, Start: start, Seats: seats,
		ExternalID: form.ExternalID, BaseURL: h.baseURL(c)})
	if ve, ok := asValidation(err); ok {
		form.Problems = ve.Fields
		return h.renderNewAccount(c, http.StatusUnprocessableEntity, form)
	}
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("%s is created; %s is invited as its owner.", acct.Name, strings.TrimSpace(form.Owner))
	if start == "trial" {
		msg += " " + h.registerVendorTrial(c, acct.ID)
	}
	h.addConsoleFlash(c, msg)
	return redirectAfterPost(c, "/admin/accounts/"+acct.Slug)
}

// registerVendorTrial gives a trial the vendor started its subscription at
// the billing provider and says how that went. A refusal leaves the trial
// running here; serve's sweep tries again for a day.
func (h *Handler) registerVendorTrial(c echo.Context, accountID int64) string {
	if h.Billing == nil {
		return ""
	}
	err := h.Billing.RegisterVendorTrial(c.Request().Context(), accountID)
	if err == nil {
		return "Its trial is registered with billing, so a card added later converts it."
	}
	h.log(c).Error("vendor trial not registered with billing", "account_id", accountID, "err", err)
	why := "an error on our side"
	var pe *billing.ProviderError
	var ve *store.ValidationError
	switch {
	case errors.As(err, &pe):
		why = pe.Message
	case errors.As(err, &ve):
		why = strings.Join(slices.Sorted(maps.Values(ve.Fields)), "; ")
	}
	return "Its trial runs, but billing has not taken it yet (" + why + "); it is tried again every minute for a day."
}
