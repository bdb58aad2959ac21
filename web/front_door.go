package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/handlers"
	"github.com/entitle-dev/entitle/store"
)

// requireStaffTwoFactor sends a staff member whose role needs two-factor
// sign-in, and who has not set it up, to enrol before anything else.
func requireStaffTwoFactor(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		st, ok := handlers.CurrentStaff(c)
		if ok && !st.TwoFactor && store.StaffNeedsTwoFactor(st.Role) {
			if c.Request().Header.Get("HX-Request") == "true" {
				c.Response().Header().Set("HX-Redirect", "/admin/two-factor")
				return c.NoContent(http.StatusForbidden)
			}
			return c.Redirect(http.StatusSeeOther, "/admin/two-factor")
		}
		return next(c)
	}
}

// personOnly keeps a person's own pages (profile, password, two-factor,
// their other accounts) out of reach of support staff acting as the
// account: an impersonation stands for the account, not for the person.
func personOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s, ok := handlers.Current(c); ok && s.Impersonated() {
			return echo.NewHTTPError(http.StatusForbidden, "Support sessions cannot open a person's profile or switch their accounts.")
		}
		return next(c)
	}
}
