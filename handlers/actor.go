package handlers

import (
	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
)

// actorFrom is who the current request acts as, for the store's audit
// entries: the signed-in customer; while a staff member impersonates, the
// owner acted as with the staff member as Impersonator (both identities);
// in the console, the staff member. Every handler that changes state passes
// it to the store.
func actorFrom(c echo.Context) store.Actor {
	if s, ok := Current(c); ok {
		return s.Actor()
	}
	if st, ok := CurrentStaff(c); ok {
		return st.Actor()
	}
	return store.Actor{Type: "anonymous"}
}
