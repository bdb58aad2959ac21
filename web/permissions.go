package web

import (
	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/handlers"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// requires refuses the route (403) to a member whose role the permission
// matrix (licensing.Permissions) does not allow the action. The store checks
// again, inside the transaction, for every change: this check answers early
// and covers the pages that only read.
func requires(action licensing.Action) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			s, ok := handlers.Current(c)
			if !ok || !licensing.Can(licensing.Role(s.Role), action) {
				return store.ErrForbidden
			}
			return next(c)
		}
	}
}
