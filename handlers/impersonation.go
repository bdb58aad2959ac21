package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// impersonationDurations are the time boxes the console offers, in minutes.
var impersonationDurations = []int{15, 30, 60, 120, 240}

func impersonationBanner(s store.Session, now time.Time) *views.ImpersonationBanner {
	return &views.ImpersonationBanner{Staff: s.Impersonator, AccountName: s.AccountName,
		Reason: s.ImpersonationReason, Mode: s.Mode, ExpiresAt: s.ExpiresAt, Now: now}
}

// StartImpersonation starts a support session from the account page and
// lands on the customer's overview as the account. The staff cookie is
// kept as it is: its session row points at the impersonation.
func (h *Handler) StartImpersonation(c echo.Context) error {
	minutes, err := strconv.Atoi(c.FormValue("minutes"))
	if err != nil && c.FormValue("minutes") != "" {
		return store.Invalid("minutes", "choose a duration")
	}
	mode := c.FormValue("mode")
	if mode == "" {
		mode = store.ImpersonateRead
	}
	imp, err := h.Store.StartImpersonation(c.Request().Context(), h.StaffToken(c), store.StartImpersonationInput{
		AccountSlug: c.Param("slug"), Reason: c.FormValue("reason"), Mode: mode,
		Duration: time.Duration(minutes) * time.Minute, ReturnTo: c.FormValue("return_to")})
	if err != nil {
		return err
	}
	h.Logger.Info("impersonation started", "impersonation_id", imp.ID, "staff", imp.StaffEmail,
		"account_id", imp.AccountID, "mode", imp.Mode)
	return redirectAfterPost(c, "/")
}

// EndImpersonation ends the staff member's support session (from the
// banner on any portal page, or from the console) and returns them to the
// console page they started it from.
func (h *Handler) EndImpersonation(c echo.Context) error {
	imp, err := h.Store.EndImpersonation(c.Request().Context(), h.StaffToken(c), store.EndByStaff)
	if errors.Is(err, store.ErrNotFound) {
		return redirectAfterPost(c, "/admin")
	}
	if err != nil {
		return err
	}
	h.addConsoleFlash(c, fmt.Sprintf("Support session in %s ended.", imp.AccountName))
	return redirectAfterPost(c, imp.ReturnTo)
}

// LeaveExpiredImpersonation answers the first request after a support
// session's time box: the session ends (audited) and the staff member is
// sent back to the console.
func (h *Handler) LeaveExpiredImpersonation(c echo.Context) error {
	imp, err := h.Store.EndImpersonation(c.Request().Context(), h.StaffToken(c), store.EndExpired)
	if errors.Is(err, store.ErrNotFound) { // ended meanwhile by another request
		return redirectAfterPost(c, "/admin")
	}
	if err != nil {
		return err
	}
	h.addConsoleFlash(c, fmt.Sprintf("Your support session in %s expired at %s; you are back in the console.",
		imp.AccountName, imp.ExpiresAt.UTC().Format("15:04 MST")))
	return redirectAfterPost(c, imp.ReturnTo)
}

// redirectAfterPost sends the browser elsewhere after a form post: a 303 for plain
// requests, HX-Redirect for htmx (which would otherwise swap the target).
func redirectAfterPost(c echo.Context, to string) error {
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusOK)
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// inConsole tells whether the request is for the vendor console.
func inConsole(c echo.Context) bool {
	p := c.Request().URL.Path
	return p == "/admin" || strings.HasPrefix(p, "/admin/")
}

// Console flash messages use the one flash mechanism (flash.go).
func (h *Handler) addConsoleFlash(c echo.Context, msg string) { h.addFlash(c, StaffCookie, msg) }
