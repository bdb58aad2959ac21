package billing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/entitle-dev/entitle/store"
)

// simEvent is an event the simulator will send once its state is saved.
type simEvent struct {
	typ     string
	created time.Time
	object  map[string]any
}

// events collects a simulator call's events in the order they happen.
type events []simEvent

// stamp gives a subscription's next event a created time after its last
// one: Stripe's created is in whole seconds, and the ordering guard needs
// a burst of events about one subscription to be strictly increasing.
func stamp(sub *store.SimSubscription, now time.Time) time.Time {
	t := now.UTC().Truncate(time.Second)
	if sub.LastEventCreated.Valid && !t.After(sub.LastEventCreated.Time) {
		t = sub.LastEventCreated.Time.UTC().Truncate(time.Second).Add(time.Second)
	}
	sub.LastEventCreated.Time, sub.LastEventCreated.Valid = t, true
	return t
}

func (e *events) subscription(typ string, sub *store.SimSubscription, now time.Time) {
	*e = append(*e, simEvent{typ: typ, created: stamp(sub, now), object: subObject(*sub)})
}

func (e *events) invoice(typ string, sub *store.SimSubscription, inv store.SimInvoice, now time.Time) {
	*e = append(*e, simEvent{typ: typ, created: stamp(sub, now), object: invoiceObject(inv)})
}

// subObject is a subscription as Stripe's API 2023-10-16 shapes it (the
// fields Entitle reads, and enough around them to look like Stripe's).
func subObject(sub store.SimSubscription) map[string]any {
	meta := map[string]any{metaAccountID: strconv.FormatInt(sub.AccountID, 10)}
	if sub.ScheduledPriceID != "" {
		meta[metaScheduledPrice] = sub.ScheduledPriceID
	}
	if sub.ScheduledQuantity > 0 {
		meta[metaScheduledQuantity] = strconv.Itoa(sub.ScheduledQuantity)
	}
	if sub.TrialFallbackPriceID != "" {
		meta[metaTrialFallback] = sub.TrialFallbackPriceID
	}
	var trialEnd any
	if sub.TrialEnd.Valid {
		trialEnd = sub.TrialEnd.Time.Unix()
	}
	return map[string]any{
		"id": sub.ID, "object": "subscription", "customer": sub.CustomerID, "status": sub.Status,
		"items": map[string]any{"object": "list", "has_more": false, "url": "/v1/subscription_items?subscription=" + sub.ID,
			"data": append([]any{map[string]any{"id": "si_" + sub.ID, "object": "subscription_item", "subscription": sub.ID,
				"quantity": sub.Quantity, "price": map[string]any{"id": sub.PriceID, "object": "price"}}}, addOnItems(sub)...)},
		"current_period_start": sub.CurrentPeriodStart.Unix(), "current_period_end": sub.CurrentPeriodEnd.Unix(),
		"trial_end": trialEnd, "cancel_at_period_end": sub.CancelAtPeriodEnd, "created": sub.CreatedAt.Unix(),
		"livemode": false, "metadata": meta, "collection_method": "charge_automatically",
	}
}

func invoiceObject(inv store.SimInvoice) map[string]any {
	paid := inv.Status == "paid"
	amountPaid := int64(0)
	if paid {
		amountPaid = inv.AmountDue
	}
	return map[string]any{
		"id": inv.ID, "object": "invoice", "customer": inv.CustomerID, "subscription": inv.SubscriptionID,
		"status": inv.Status, "paid": paid, "amount_due": inv.AmountDue, "amount_paid": amountPaid,
		"amount_remaining": inv.AmountDue - amountPaid, "currency": inv.Currency, "billing_reason": inv.BillingReason,
		"attempt_count": inv.Attempts, "created": inv.CreatedAt.Unix(), "livemode": false,
	}
}

// send signs each event with the webhook secret and delivers it through
// the same verification and inbox as Stripe's own deliveries. The
// signature carries the wall-clock time (verification checks it against
// the wall clock); the event's created is the simulated clock's.
func (s *Simulator) send(ctx context.Context, evs events) error {
	for _, ev := range evs {
		payload, err := json.Marshal(map[string]any{
			"id": "evt_sim_" + randomID(12), "object": "event", "api_version": stripe.APIVersion,
			"created": ev.created.Unix(), "type": ev.typ, "livemode": false, "pending_webhooks": 1,
			"request": map[string]any{"id": nil, "idempotency_key": nil},
			"data":    map[string]any{"object": ev.object},
		})
		if err != nil {
			return err
		}
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: s.Secret, Timestamp: time.Now()})
		if err := s.Deliver(ctx, signed.Payload, signed.Header); err != nil {
			return fmt.Errorf("simulator: deliver %s: %w", ev.typ, err)
		}
	}
	return nil
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
