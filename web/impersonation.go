package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/handlers"
	"github.com/entitle-dev/entitle/store"
)

// impersonation lets a staff member's console session act as a customer
// account. It runs for every route outside the console (it is mounted with
// e.Use, so routes added to any group later are covered without a change):
//
//   - a staff cookie whose session runs an impersonation becomes the
//     request's customer session (loadCustomer then keeps it), and the
//     staff cookie itself is never replaced;
//   - every such request is written to the account's audit chain with both
//     identities, before it runs, refused ones included;
//   - in read-only mode every state-changing request is refused here,
//     whatever route it targets, so no handler has to remember it;
//   - after the time box, the next request ends the impersonation and
//     returns the staff member to the console.
func impersonation(h *handlers.Handler) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !impersonationApplies(c.Request().URL.Path) {
				return next(c)
			}
			tok := h.StaffToken(c)
			if tok == "" {
				return next(c)
			}
			ctx := c.Request().Context()
			sess, err := h.Store.ImpersonationByStaffToken(ctx, tok)
			var expired *store.ImpersonationExpiredError
			switch {
			case errors.Is(err, store.ErrNotFound):
				return next(c)
			case errors.As(err, &expired):
				return h.LeaveExpiredImpersonation(c)
			case err != nil:
				return err
			}
			handlers.SetCurrent(c, sess)
			refused := sess.ReadOnly() && !readOnlyAllows(c.Request().Method)
			if err := h.Store.AuditImpersonatedRequest(ctx, sess, store.ImpersonatedRequest{
				Method: c.Request().Method, Route: c.Path(), Path: c.Request().URL.Path, Refused: refused}); err != nil {
				return err
			}
			if refused {
				return store.ErrReadOnlyImpersonation
			}
			return next(c)
		}
	}
}

// impersonationApplies is false for the console (where the staff member is
// themselves), for probes and static files, and for machine endpoints.
func impersonationApplies(path string) bool {
	switch {
	case path == "/admin" || strings.HasPrefix(path, "/admin/"), strings.HasPrefix(path, "/static/"),
		path == "/healthz", path == "/readyz":
		return false
	// Machine endpoints authenticate by API key, SCIM token or Stripe
	// signature; a staff cookie means nothing there.
	case strings.HasPrefix(path, "/api/"), strings.HasPrefix(path, "/scim/"), strings.HasPrefix(path, "/webhooks/"):
		return false
	}
	return true
}

// readOnlyAllows is what a read-only session may still do: look.
func readOnlyAllows(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// requireStaffCan refuses console routes the staff member's role may not use.
func requireStaffCan(capability store.StaffCapability) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if st, ok := handlers.CurrentStaff(c); ok && st.Can(capability) {
				return next(c)
			}
			return store.ErrForbidden
		}
	}
}
