package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// replaySinceLayout is what a datetime-local input sends.
const replaySinceLayout = "2006-01-02T15:04"

// AdminWebhooks lists the outbound webhook endpoints with the form that
// adds one.
func (h *Handler) AdminWebhooks(c echo.Context) error {
	return h.renderAdminWebhooks(c, http.StatusOK, views.AdminWebhooks{})
}

// CreateWebhookEndpoint registers an endpoint and shows its secret once.
func (h *Handler) CreateWebhookEndpoint(c echo.Context) error {
	form, _ := c.FormParams()
	in := store.WebhookEndpointInput{URL: c.FormValue("url"), Description: c.FormValue("description"), EventTypes: form["event_types"]}
	kept := views.AdminWebhookForm{URL: in.URL, Description: in.Description, EventTypes: in.EventTypes}
	if msg := h.Webhooks.CheckURL(in.URL); msg != "" {
		kept.Errors = map[string]string{"url": msg}
		return h.renderAdminWebhooks(c, http.StatusUnprocessableEntity, views.AdminWebhooks{Form: kept})
	}
	ep, err := h.Store.CreateWebhookEndpoint(c.Request().Context(), actorFrom(c), in)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		kept.Errors = ve.Fields
		return h.renderAdminWebhooks(c, http.StatusUnprocessableEntity, views.AdminWebhooks{Form: kept})
	}
	if err != nil {
		return err
	}
	// The secret is in this response only: never cache it.
	c.Response().Header().Set("Cache-Control", "no-store")
	return h.renderAdminWebhooks(c, http.StatusOK, views.AdminWebhooks{NewSecret: ep.Secret, NewSecretURL: ep.URL})
}

func (h *Handler) renderAdminWebhooks(c echo.Context, status int, m views.AdminWebhooks) error {
	eps, err := h.Store.WebhookEndpoints(c.Request().Context())
	if err != nil {
		return err
	}
	for _, ep := range eps {
		m.Endpoints = append(m.Endpoints, adminWebhookEndpoint(ep))
	}
	m.Types = store.WebhookEventTypes
	return render(c, status, views.AdminWebhooksPage(h.adminShell(c, "Webhooks", "webhooks"), m))
}

func adminWebhookEndpoint(ep store.WebhookEndpoint) views.AdminWebhookEndpoint {
	return views.AdminWebhookEndpoint{ID: ep.ID, URL: ep.URL, Description: ep.Description, EventTypes: ep.EventTypes,
		Enabled: ep.Enabled, DisabledReason: ep.DisabledReason, FailingSince: ep.FailingSince.Time, SecretHint: ep.SecretHint(),
		RotatedUntil: ep.PreviousExpiresAt.Time, Pending: ep.Pending, Delivered: ep.Delivered, Failed: ep.Failed,
		CreatedAt: ep.CreatedAt, CreatedBy: ep.CreatedBy}
}

// AdminWebhook shows one endpoint: its state, its actions and its delivery
// log (filtered by ?status=).
func (h *Handler) AdminWebhook(c echo.Context) error {
	return h.renderAdminWebhook(c, "")
}

func (h *Handler) renderAdminWebhook(c echo.Context, newSecret string) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	ctx := c.Request().Context()
	ep, err := h.Store.WebhookEndpoint(ctx, id)
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	switch status {
	case "", "pending", "delivered", "failed":
	default:
		status = ""
	}
	log, err := h.Store.WebhookDeliveries(ctx, id, status, 200)
	if err != nil {
		return err
	}
	now := h.Clock.Now()
	m := views.AdminWebhookDetail{Endpoint: adminWebhookEndpoint(ep), Status: status, NewSecret: newSecret, Now: now,
		SinceValue: now.Add(-time.Hour).UTC().Format(replaySinceLayout)}
	for _, d := range log {
		m.Deliveries = append(m.Deliveries, views.AdminWebhookDelivery{ID: d.ID, MessageID: d.MessageID, Type: d.Type,
			Account: d.AccountSlug.String, Sequence: d.Seq, Status: d.Status, Attempts: d.Attempts,
			StatusCode: int(d.StatusCode.Int64), LatencyMS: d.LatencyMS.Int64, Response: d.Response.String,
			Error: d.Error.String, CreatedAt: d.CreatedAt, LastTried: d.AttemptedAt.Time, NextAt: d.NextAt})
	}
	if newSecret != "" {
		c.Response().Header().Set("Cache-Control", "no-store")
	}
	return render(c, http.StatusOK, views.AdminWebhookPage(h.adminShell(c, "Webhook endpoint", "webhooks"), m))
}

// EnableWebhookEndpoint turns an endpoint on; what waited goes out.
func (h *Handler) EnableWebhookEndpoint(c echo.Context) error { return h.setWebhookEnabled(c, true) }

// DisableWebhookEndpoint turns an endpoint off; its events wait.
func (h *Handler) DisableWebhookEndpoint(c echo.Context) error { return h.setWebhookEnabled(c, false) }

func (h *Handler) setWebhookEnabled(c echo.Context, on bool) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	reason := ""
	if !on {
		reason = "disabled by " + actorFrom(c).Label
	}
	if err := h.Store.SetWebhookEndpointEnabled(c.Request().Context(), actorFrom(c), id, on, reason); err != nil {
		return err
	}
	msg := "Endpoint disabled: its events wait until it is enabled again."
	if on {
		msg = "Endpoint enabled: what waited is being delivered."
	}
	h.addConsoleFlash(c, msg)
	return redirectAfterPost(c, fmt.Sprintf("/admin/webhooks/%d", id))
}

// RotateWebhookSecret gives the endpoint a new secret and shows it once;
// the old one keeps signing for 24 hours.
func (h *Handler) RotateWebhookSecret(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	secret, err := h.Store.RotateWebhookSecret(c.Request().Context(), actorFrom(c), id)
	if err != nil {
		return err
	}
	return h.renderAdminWebhook(c, secret)
}

// SendTestWebhook queues a webhook.test event for the endpoint.
func (h *Handler) SendTestWebhook(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	if err := h.Store.SendTestWebhook(c.Request().Context(), actorFrom(c), id); err != nil {
		return err
	}
	h.addConsoleFlash(c, "Test event queued: it shows in the log below within seconds.")
	return redirectAfterPost(c, fmt.Sprintf("/admin/webhooks/%d", id))
}

// ReplayWebhookDelivery sends one delivery again, with its webhook-id.
func (h *Handler) ReplayWebhookDelivery(c echo.Context) error {
	id, err1 := strconv.ParseInt(c.Param("id"), 10, 64)
	delivery, err2 := strconv.ParseInt(c.Param("delivery"), 10, 64)
	if err1 != nil || err2 != nil {
		return store.ErrNotFound
	}
	if err := h.Store.ReplayWebhookDelivery(c.Request().Context(), actorFrom(c), id, delivery); err != nil {
		return err
	}
	h.addConsoleFlash(c, "Delivery queued again (same webhook-id, so receivers can tell).")
	return redirectAfterPost(c, fmt.Sprintf("/admin/webhooks/%d", id))
}

// ReplayWebhooksSince queues every event since a time for the endpoint.
func (h *Handler) ReplayWebhooksSince(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	since, err := time.Parse(replaySinceLayout, c.FormValue("since"))
	if err != nil {
		return store.Invalid("since", "enter a date and time, such as 2030-01-31T09:00")
	}
	n, err := h.Store.ReplayWebhooksSince(c.Request().Context(), actorFrom(c), id, since.UTC())
	if err != nil {
		return err
	}
	h.addConsoleFlash(c, fmt.Sprintf("%s queued again since %s.", countNoun(n, "event"), since.Format("2 Jan 2006 15:04 UTC")))
	return redirectAfterPost(c, fmt.Sprintf("/admin/webhooks/%d", id))
}

func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
