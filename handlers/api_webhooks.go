package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// apiWebhookEndpoint is an endpoint as the API shows it (never its secret).
type apiWebhookEndpoint struct {
	ID           int64      `json:"id"`
	URL          string     `json:"url"`
	Description  string     `json:"description"`
	EventTypes   []string   `json:"event_types"`
	Enabled      bool       `json:"enabled"`
	FailingSince *time.Time `json:"failing_since"`
	Pending      int        `json:"pending"`
	Delivered    int        `json:"delivered"`
	Failed       int        `json:"failed"`
}

// APIWebhookEndpoints answers GET /api/v1/webhooks/endpoints (vendor keys
// with the webhooks scope): every endpoint with its delivery counts, so the
// vendor's monitoring can see one falling behind.
func (h *Handler) APIWebhookEndpoints(c echo.Context) error {
	eps, err := h.Store.WebhookEndpoints(c.Request().Context())
	if err != nil {
		return err
	}
	out := struct {
		Endpoints []apiWebhookEndpoint `json:"endpoints"`
	}{Endpoints: []apiWebhookEndpoint{}}
	for _, ep := range eps {
		e := apiWebhookEndpoint{ID: ep.ID, URL: ep.URL, Description: ep.Description, EventTypes: append([]string{}, ep.EventTypes...),
			Enabled: ep.Enabled, Pending: ep.Pending, Delivered: ep.Delivered, Failed: ep.Failed}
		if ep.FailingSince.Valid {
			e.FailingSince = &ep.FailingSince.Time
		}
		out.Endpoints = append(out.Endpoints, e)
	}
	return c.JSON(http.StatusOK, out)
}

// apiWebhookDelivery is one line of an endpoint's delivery log.
type apiWebhookDelivery struct {
	ID          int64      `json:"id"`
	WebhookID   string     `json:"webhook_id"`
	Type        string     `json:"type"`
	Account     *string    `json:"account"`
	Sequence    int64      `json:"sequence"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	StatusCode  *int64     `json:"status_code"`
	Error       string     `json:"error"`
	CreatedAt   time.Time  `json:"created_at"`
	AttemptedAt *time.Time `json:"attempted_at"`
}

// APIWebhookDeliveries answers GET /api/v1/webhooks/endpoints/:id/deliveries:
// the latest deliveries, newest first, filtered by ?status=.
func (h *Handler) APIWebhookDeliveries(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return ProblemNotFound("No such webhook endpoint.")
	}
	status := c.QueryParam("status")
	switch status {
	case "", "pending", "delivered", "failed":
	default:
		return problemInvalid("status must be pending, delivered or failed", map[string]string{"status": "pending, delivered or failed"})
	}
	ctx := c.Request().Context()
	if _, err := h.Store.WebhookEndpoint(ctx, id); err != nil {
		return err
	}
	log, err := h.Store.WebhookDeliveries(ctx, id, status, 100)
	if err != nil {
		return err
	}
	out := struct {
		Deliveries []apiWebhookDelivery `json:"deliveries"`
	}{Deliveries: []apiWebhookDelivery{}}
	for _, d := range log {
		row := apiWebhookDelivery{ID: d.ID, WebhookID: d.MessageID, Type: d.Type, Sequence: d.Seq, Status: d.Status,
			Attempts: d.Attempts, Error: d.Error.String, CreatedAt: d.CreatedAt}
		if d.AccountSlug.Valid {
			row.Account = &d.AccountSlug.String
		}
		if d.StatusCode.Valid {
			row.StatusCode = &d.StatusCode.Int64
		}
		if d.AttemptedAt.Valid {
			row.AttemptedAt = &d.AttemptedAt.Time
		}
		out.Deliveries = append(out.Deliveries, row)
	}
	return c.JSON(http.StatusOK, out)
}
