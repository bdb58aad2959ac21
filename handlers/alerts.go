package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/views"
)

// AlertSettings shows the signed-in person's switch for the account's
// alerts (usage near its limit, full seat pools, trials ending).
func (h *Handler) AlertSettings(c echo.Context) error {
	cur, _ := Current(c)
	on, err := h.Store.AlertsOn(c.Request().Context(), cur.Principal())
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.AlertSettingsPage(h.shell(c, "Alerts", "alerts"),
		views.AlertSettings{On: on, Saved: c.QueryParam("saved") == "1"}))
}

// SetAlertSettings switches the person's alerts on or off.
func (h *Handler) SetAlertSettings(c echo.Context) error {
	cur, _ := Current(c)
	if err := h.Store.SetAlertsOn(c.Request().Context(), cur.Principal(), c.FormValue("alerts") == "on"); err != nil {
		return err
	}
	return redirectAfterPost(c, "/settings/alerts?saved=1")
}
