package handlers

import (
	"github.com/entitle-dev/entitle/views"

	"github.com/labstack/echo/v4"
)

// previewWaitlist fills a billing confirmation (provisioning):
// when the pool of productKey shrinks to seats purchased at period end, the
// people holding seats given by rules beyond it move to the waiting list,
// lowest priority first, and only the seats given by hand beyond it are
// left for an admin to free.
func (h *Handler) previewWaitlist(c echo.Context, accountID int64, productKey string, seats int,
	waitlisted *[]views.SeatHolderView, seatsToFree *int) error {
	eff, err := h.Store.PreviewSeatChange(c.Request().Context(), accountID, productKey, seats)
	if err != nil {
		return err
	}
	if len(eff.Waitlisted) > 0 {
		*waitlisted = holders(eff.Waitlisted)
		*seatsToFree = eff.OverAllocated
	}
	return nil
}
