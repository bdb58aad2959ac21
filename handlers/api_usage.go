package handlers

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// apiUsage is the answer to a usage report.
type apiUsage struct {
	ID         int64     `json:"id"`
	Account    string    `json:"account"`
	Feature    string    `json:"feature"`
	Quantity   int64     `json:"quantity"`
	RecordedAt time.Time `json:"recorded_at"`
	Replayed   bool      `json:"replayed"`
	// Decision is the feature after the report.
	Decision licensing.Decision `json:"decision"`
}

// APIRecordUsage answers POST /api/v1/accounts/:account/usage: records
// {"feature", "quantity"} once per Idempotency-Key (201; a repeat answers
// 200 with the original event and counts nothing). A report past a hard
// limit is refused with limit-reached.
func (h *Handler) APIRecordUsage(c echo.Context) error {
	key := APIKeyOf(c)
	var body struct {
		Feature  string `json:"feature"`
		Quantity int64  `json:"quantity"`
	}
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return problemInvalid(`The body must be a JSON object {"feature": "<key>", "quantity": <whole number>}: `+err.Error(), nil)
	}
	res, err := h.Store.RecordUsage(c.Request().Context(), key.AccountID, store.UsageReport{Feature: body.Feature,
		Quantity: body.Quantity, IdempotencyKey: c.Request().Header.Get("Idempotency-Key"), APIKeyID: key.AccountKeyID()})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	return c.JSON(status, apiUsage{ID: res.EventID, Account: key.AccountSlug, Feature: res.Feature, Quantity: res.Quantity,
		RecordedAt: res.RecordedAt, Replayed: res.Replayed, Decision: res.Decision})
}
