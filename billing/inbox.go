package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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

// Receive verifies a delivery with stripe-go and stores it in the inbox
// (a duplicate changes nothing). It reports the event id and whether the
// event was new.
func (in *Inbox) Receive(ctx context.Context, payload []byte, signature string) (string, bool, error) {
	ctx, span := tracing.Start(ctx, "stripe.webhook.receive")
	defer span.End()
	ev, err := webhook.ConstructEvent(payload, signature, in.Secret)
	if err != nil {
		return "", false, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if ev.ID == "" || ev.Type == "" {
		return "", false, fmt.Errorf("%w: event has no id or type", ErrBadSignature)
	}
	var obj struct {
		Customer json.RawMessage `json:"customer"`
	}
	if ev.Data != nil {
		_ = json.Unmarshal(ev.Data.Raw, &obj)
	}
	inserted, err := in.Store.InsertStripeEvent(ctx, store.NewStripeEvent{ID: ev.ID, Type: string(ev.Type),
		APIVersion: ev.APIVersion, CustomerID: idOf(obj.Customer), Created: time.Unix(ev.Created, 0), Payload: payload,
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
