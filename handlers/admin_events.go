package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/views"
)

// AdminEvents lists the Stripe events the worker failed to apply, with
// reason, payload and attempts.
func (h *Handler) AdminEvents(c echo.Context) error {
	events, total, err := h.Store.ConsoleFailedEvents(c.Request().Context(), 200)
	if err != nil {
		return err
	}
	v := views.AdminEvents{Total: total}
	for _, e := range events {
		v.Rows = append(v.Rows, consoleEventRow(e))
	}
	return render(c, http.StatusOK, views.AdminEventsPage(h.adminShell(c, "Failed events", "events"), v))
}

// RetryEvent schedules one failed event for the worker's next pass.
func (h *Handler) RetryEvent(c echo.Context) error {
	if err := h.Store.ConsoleRetryEvent(c.Request().Context(), actorFrom(c), c.Param("id")); err != nil {
		return err
	}
	h.wakeBillingWorker()
	h.addConsoleFlash(c, fmt.Sprintf("Event %s will be retried on the worker's next pass.", c.Param("id")))
	return redirectAfterPost(c, "/admin/events")
}

// RetryAllEvents schedules every failed event.
func (h *Handler) RetryAllEvents(c echo.Context) error {
	n, err := h.Store.ConsoleRetryAllEvents(c.Request().Context(), actorFrom(c))
	if err != nil {
		return err
	}
	h.wakeBillingWorker()
	h.addConsoleFlash(c, fmt.Sprintf("%d failed %s will be retried on the worker's next pass.", n, consolePlural(n, "event", "events")))
	return redirectAfterPost(c, "/admin/events")
}

func consolePrettyJSON(raw []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return string(raw)
	}
	return out.String()
}

func consolePlural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// wakeBillingWorker lets a retried event be applied now rather than at the
// worker's next tick.
func (h *Handler) wakeBillingWorker() {
	if h.Billing != nil && h.Billing.Worker != nil {
		h.Billing.Worker.Wake()
	}
}
