package billing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// env is a demo database with billing wired in local mode.
type env struct {
	t     *testing.T
	ctx   context.Context
	clock *storetest.Clock
	store *store.Store
	b     *billing.Billing
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := storetest.NewClock(time.Now().UTC().Truncate(time.Second))
	st := storetest.NewDemo(t, c)
	b, err := billing.New(st, c, nil, billing.Config{PublicURL: "http://portal.test"})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: context.Background(), clock: c, store: st, b: b}
}

var evtSeq atomic.Int64

// event is a Stripe event as a webhook delivers it (API 2023-10-16).
func event(typ string, created time.Time, object map[string]any) []byte {
	b, err := json.Marshal(map[string]any{
		"id": fmt.Sprintf("evt_test_%d_%d", time.Now().UnixNano(), evtSeq.Add(1)), "object": "event",
		"api_version": stripe.APIVersion, "created": created.Unix(), "type": typ, "livemode": false,
		"pending_webhooks": 1, "request": map[string]any{"id": nil, "idempotency_key": nil},
		"data": map[string]any{"object": object},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// subscription is a subscription object.
func subscription(id, customer, status, price string, quantity int, periodEnd time.Time, meta map[string]string) map[string]any {
	if meta == nil {
		meta = map[string]string{}
	}
	return map[string]any{
		"id": id, "object": "subscription", "customer": customer, "status": status,
		"items": map[string]any{"object": "list", "data": []any{map[string]any{
			"id": "si_" + id, "object": "subscription_item", "quantity": quantity,
			"price": map[string]any{"id": price, "object": "price", "currency": "usd"}}}},
		"current_period_end": periodEnd.Unix(), "current_period_start": periodEnd.AddDate(0, -1, 0).Unix(),
		"cancel_at_period_end": false, "trial_end": nil, "metadata": meta,
	}
}

func invoice(id, customer, sub string, amount int64) map[string]any {
	return map[string]any{"id": id, "object": "invoice", "customer": customer, "subscription": sub,
		"amount_due": amount, "currency": "usd", "status": "open"}
}

// sign signs a payload as Stripe does, now.
func sign(payload []byte, secret string) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret}).Header
}

// deliver sends a signed event to the inbox.
func (e *env) deliver(payload []byte) string {
	e.t.Helper()
	id, _, err := e.b.Inbox.Receive(e.ctx, payload, sign(payload, billing.DevWebhookSecret))
	if err != nil {
		e.t.Fatalf("receive: %v", err)
	}
	return id
}

// process applies every due event.
func (e *env) process() int {
	e.t.Helper()
	n, err := e.b.Worker.ProcessPending(e.ctx)
	if err != nil {
		e.t.Fatalf("process: %v", err)
	}
	return n
}

// drain processes, moving the clock past every backoff, until the inbox
// has nothing left to try.
func (e *env) drain() {
	e.t.Helper()
	for range 20 {
		e.process()
		var left int
		if err := e.store.DB().Get(&left, `SELECT count(*) FROM stripe_event WHERE processed_at IS NULL AND failed_at IS NULL`); err != nil {
			e.t.Fatal(err)
		}
		if left == 0 {
			return
		}
		e.clock.Advance(2 * time.Hour)
	}
	e.t.Fatal("inbox never drained")
}

// sub reads an account's subscription as the database holds it.
type subState struct {
	Plan             string     `db:"plan"`
	Status           string     `db:"status"`
	Seats            int        `db:"seats"`
	CancelAtEnd      bool       `db:"cancel_at_period_end"`
	PeriodEnd        *time.Time `db:"current_period_end"`
	TrialEndsAt      *time.Time `db:"trial_ends_at"`
	PastDueSince     *time.Time `db:"past_due_since"`
	Scheduled        *string    `db:"scheduled"`
	ScheduledSeats   *int       `db:"scheduled_seats"`
	EventSeq         int64      `db:"event_seq"`
	SeatsAssigned    int        `db:"seats_assigned"`
	StripeSub        *string    `db:"stripe_subscription_id"`
	LastEventCreated *time.Time `db:"last_event_created"`
}

func (e *env) sub(slug string) subState {
	e.t.Helper()
	var s subState
	err := e.store.DB().Get(&s, `
SELECT pl.key AS plan, s.status, s.seats, s.cancel_at_period_end, s.current_period_end, s.trial_ends_at,
       s.past_due_since, spl.key AS scheduled, s.scheduled_seats, s.event_seq, s.stripe_subscription_id,
       s.last_event_created,
       (SELECT count(*) FROM seat_assignment sa WHERE sa.subscription_id = s.id) AS seats_assigned
FROM subscription s JOIN account a ON a.id = s.account_id
JOIN plan_version pv ON pv.id = s.plan_version_id JOIN plan pl ON pl.id = pv.plan_id
LEFT JOIN plan_version spv ON spv.id = s.scheduled_plan_version_id LEFT JOIN plan spl ON spl.id = spv.plan_id
WHERE a.slug = $1`, slug)
	if err != nil {
		e.t.Fatalf("subscription of %s: %v", slug, err)
	}
	return s
}

func (e *env) accountID(slug string) int64 {
	e.t.Helper()
	a, err := e.store.AccountBySlug(e.ctx, slug)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.ID
}

// audits lists an account's audit actions written by Stripe for an event.
func (e *env) stripeAudits(eventID string) []string {
	e.t.Helper()
	var actions []string
	if err := e.store.DB().Select(&actions, `SELECT action FROM audit_entry WHERE actor_type = 'stripe' AND actor_label = $1 ORDER BY seq`, eventID); err != nil {
		e.t.Fatal(err)
	}
	return actions
}
