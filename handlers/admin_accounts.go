package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// consoleStatuses are the statuses the account search filters by.
var consoleStatuses = []string{"trialing", "active", "past_due", "suspended", "canceled"}

// AdminHome is the console's starting point: the account search. Text
// matches an account's name, slug, Stripe ids or a member's email (or
// @domain); plan and status filter; results come a page at a time.
func (h *Handler) AdminHome(c echo.Context) error {
	page, _ := strconv.Atoi(c.QueryParam("page"))
	perPage, _ := strconv.Atoi(c.QueryParam("per_page"))
	q := store.ConsoleAccountQuery{Text: strings.TrimSpace(c.QueryParam("q")), Plan: c.QueryParam("plan"),
		Status: c.QueryParam("status"), Page: page, PerPage: perPage}
	res, err := h.Store.ConsoleSearchAccounts(c.Request().Context(), q)
	if err != nil {
		return err
	}
	v := views.AdminAccountSearch{Query: q.Text, Plan: q.Plan, Status: q.Status, Plans: res.Plans,
		Statuses: consoleStatuses, Total: res.Total, Page: res.Page,
		Pages: (res.Total + res.PerPage - 1) / res.PerPage}
	if st, ok := CurrentStaff(c); ok {
		v.CanCreate = st.Can(store.CanCreateAccounts)
	}
	for _, a := range res.Accounts {
		v.Rows = append(v.Rows, views.AdminAccountRow{Slug: a.Slug, Name: a.Name, Plan: a.Plan.String,
			Status: a.Status.String, Members: a.Members})
	}
	pageURL := func(n int) string {
		vals := url.Values{}
		for k, val := range map[string]string{"q": q.Text, "plan": q.Plan, "status": q.Status} {
			if val != "" {
				vals.Set(k, val)
			}
		}
		if perPage > 0 {
			vals.Set("per_page", strconv.Itoa(res.PerPage))
		}
		vals.Set("page", strconv.Itoa(n))
		return "/admin?" + vals.Encode()
	}
	if v.Page > 1 {
		v.PrevURL = pageURL(v.Page - 1)
	}
	if v.Page < v.Pages {
		v.NextURL = pageURL(v.Page + 1)
	}
	if isHTMX(c) && c.Request().Header.Get("HX-History-Restore-Request") != "true" {
		return render(c, http.StatusOK, views.AdminAccountResults(v))
	}
	return render(c, http.StatusOK, views.AdminHomePage(h.adminShell(c, "Accounts", "accounts"), v))
}

// AdminAccount shows one account to support: plan, status, seats,
// members, recent audit entries, its Stripe events, grants and support
// sessions, with the actions the staff member's role allows.
func (h *Handler) AdminAccount(c echo.Context) error {
	return h.adminAccountPage(c, http.StatusOK, nil)
}

// adminAccountPage renders the account page; refused lets a form that was
// refused show its message beside the field, with the input kept.
func (h *Handler) adminAccountPage(c echo.Context, status int, refused func(*views.AdminAccount)) error {
	d, err := h.Store.ConsoleAccount(c.Request().Context(), c.Param("slug"))
	if err != nil {
		return err
	}
	staff, _ := CurrentStaff(c)
	now := h.Clock.Now()
	a := views.AdminAccount{Slug: d.Account.Slug, Name: d.Account.Name, StripeCustomerID: d.Account.StripeCustomerID.String,
		SupportAccess: d.Account.SupportAccess, CreatedAt: d.Account.CreatedAt, Now: now,
		CanImpersonate: staff.Can(store.CanImpersonate), CanImpersonateWrite: staff.Can(store.CanImpersonateWrite),
		CanGrant: staff.Can(store.CanManageGrants), Durations: impersonationDurations,
		DefaultMinutes: int(store.DefaultImpersonation.Minutes()), ReturnTo: "/admin/accounts/" + d.Account.Slug,
		GrantForm: consoleGrantForm(d, now)}
	for _, sub := range d.Subscriptions {
		a.Subscriptions = append(a.Subscriptions, views.AdminSubscription{Product: sub.ProductName, Plan: sub.PlanName,
			PlanVersion: sub.PlanVersion, Status: sub.Status, SeatBased: sub.SeatBased, Seats: sub.Seats,
			SeatsAssigned: sub.SeatsAssigned, PeriodEnd: sub.CurrentPeriodEnd.Time, TrialEnds: sub.TrialEndsAt.Time,
			StripeID: sub.StripeSubscription.String, Ending: licensing.Status(sub.Status).Ending(sub.CancelAtPeriodEnd)})
	}
	for _, m := range d.Members {
		a.Members = append(a.Members, views.AdminMember{Email: m.Email, Name: m.Name, Role: m.Role, Status: m.Status,
			HasSeat: m.HasSeat, LastSignIn: m.LastSignIn.Time})
	}
	for _, e := range d.RecentAudit {
		a.Audit = append(a.Audit, consoleAuditRow(store.ConsoleAuditRow{AuditEntry: e, AccountSlug: d.Account.Slug}))
	}
	for _, e := range d.StripeEvents {
		a.Events = append(a.Events, consoleEventRow(e))
	}
	for _, g := range d.Grants {
		a.Grants = append(a.Grants, views.AdminGrant{ID: g.ID, Kind: g.Kind, Product: g.ProductKey, Feature: g.FeatureKey,
			Enabled: g.Enabled, Amount: g.Amount, Reason: g.Reason, CreatedBy: g.CreatedBy,
			ExpiresAt: g.ExpiresAt.Time, CreatedAt: g.CreatedAt})
	}
	a.Impersonations = impersonationRows(d.Impersonations)
	// Provisioning: drifts the reconciler repaired.
	pf, err := h.Store.ProvisioningFigures(c.Request().Context(), d.Account.ID)
	if err != nil {
		return err
	}
	a.Provisioning = views.AdminProvisioning{Provisioned: pf.Provisioned, Waiting: pf.Waiting, Drifts: pf.Drifts,
		ReconciledAt: pf.ReconciledAt.Time, Unmatched: pf.Unmatched}
	if a.Catalog, err = h.adminAccountCatalog(c, d.Account, staff.Can(store.CanManageCatalog)); err != nil {
		return err
	}
	if refused != nil {
		refused(&a)
	}
	return render(c, status, views.AdminAccountPage(h.adminShell(c, d.Account.Name, "accounts"), a))
}

func impersonationRows(imps []store.Impersonation) []views.ImpersonationRow {
	out := make([]views.ImpersonationRow, 0, len(imps))
	for _, i := range imps {
		out = append(out, views.ImpersonationRow{ID: i.ID, Staff: i.StaffEmail, AccountSlug: i.AccountSlug,
			AccountName: i.AccountName, Reason: i.Reason, Mode: i.Mode, StartedAt: i.StartedAt, ExpiresAt: i.ExpiresAt,
			EndedAt: i.EndedAt.Time, EndReason: i.EndReason})
	}
	return out
}

func consoleEventRow(e store.ConsoleStripeEvent) views.AdminEvent {
	return views.AdminEvent{ID: e.ID, Type: e.Type, Account: e.AccountSlug.String, Created: e.Created,
		Received: e.ReceivedAt, Processed: e.ProcessedAt.Time, NextAttempt: e.NextAttemptAt, Attempts: e.Attempts,
		LastError: e.LastError, Payload: consolePrettyJSON(e.Payload)}
}
