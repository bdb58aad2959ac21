package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/tracing"
)

// Inbox verifies webhook deliveries and stores them, once per event id.
type Inbox struct {
	Store  *store.Store
	Secret string
	// OnInsert is called after a new event is stored (wakes the worker).
	OnInsert func()
}

// ErrBadSignature is a delivery that is not provably from Stripe (wrong,
// missing or stale signature) or speaks another API version; nothing of it
// is stored.
var ErrBadSignature = errors.New("webhook refused")

// receivedEvent is what the inbox reads of a verified delivery; the
// payload itself is stored whole and decoded when it is applied.
type receivedEvent struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	APIVersion string `json:"api_version"`
	Created    int64  `json:"created"`
	Data       struct {
		Object struct {
			Customer json.RawMessage `json:"customer"`
		} `json:"object"`
	} `json:"data"`
}

// Receive verifies a delivery's signature with stripe-go and stores it in
// the inbox (a duplicate changes nothing). It reports the event id and
// whether the event was new. Only the fields the inbox row needs are read
// here: building the whole stripe.Event was half the cost of a receipt.
func (in *Inbox) Receive(ctx context.Context, payload []byte, signature string) (string, bool, error) {
	ctx, span := tracing.Start(ctx, "stripe.webhook.receive")
	defer span.End()
	if err := webhook.ValidatePayload(payload, signature, in.Secret); err != nil {
		return "", false, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	var ev receivedEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return "", false, fmt.Errorf("%w: the event cannot be read: %v", ErrBadSignature, err)
	}
	if ev.ID == "" || ev.Type == "" {
		return "", false, fmt.Errorf("%w: event has no id or type", ErrBadSignature)
	}
	if ev.APIVersion != stripe.APIVersion {
		return "", false, fmt.Errorf("%w: event of API version %s, Entitle reads %s (set the endpoint's API version)",
			ErrBadSignature, ev.APIVersion, stripe.APIVersion)
	}
	inserted, err := in.Store.InsertStripeEvent(ctx, store.NewStripeEvent{ID: ev.ID, Type: ev.Type,
		APIVersion: ev.APIVersion, CustomerID: idOf(ev.Data.Object.Customer), Created: time.Unix(ev.Created, 0), Payload: payload,
		TraceParent: tracing.TraceParent(ctx)})
	if err != nil {
		return ev.ID, false, err
	}
	if inserted && in.OnInsert != nil {
		in.OnInsert()
	}
	return ev.ID, inserted, nil
}

// idOf reads an expandable field: an id string, or an object with an id.
func idOf(raw json.RawMessage) string {
	var id string
	if json.Unmarshal(raw, &id) == nil {
		return id
	}
	var obj struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &obj)
	return obj.ID
}
