package store

import (
	"context"
	"database/sql"

	"github.com/lib/pq"
)

// decodedEvent is a claimed inbox row with the change its payload carries
// (or why it could not be read).
type decodedEvent struct {
	ev     StripeEvent
	change StripeChange
	err    error
}

func decodeBatch(batch []StripeEvent, decode Decoder) []decodedEvent {
	out := make([]decodedEvent, len(batch))
	for i, ev := range batch {
		ch, err := decode(ev)
		out[i] = decodedEvent{ev: ev, change: ch, err: err}
	}
	return out
}

// orderingGuard is a subscription's two ordering guards as a batch found
// them (see applySubscription and applyInvoice).
type orderingGuard struct {
	StripeID           string       `db:"stripe_subscription_id"`
	AccountID          int64        `db:"account_id"`
	LastEventCreated   sql.NullTime `db:"last_event_created"`
	StatusEventCreated sql.NullTime `db:"status_event_created"`
}

// orderingGuards are the guards of the subscriptions a batch's events
// name, by Stripe subscription id.
type orderingGuards map[string]orderingGuard

// The guards are read without a lock: they only ever move forward, so an
// event older than a guard read now is older than the guard at commit too.
const orderingGuardsSQL = `
SELECT stripe_subscription_id, account_id, last_event_created, status_event_created
FROM subscription WHERE stripe_subscription_id = ANY ($1::text[])`

// readOrderingGuards reads, in one round trip, the guards of every
// subscription the batch's subscription and invoice events name. A batch
// of one such event reads none: its apply decides on the locked row at no
// extra cost.
func readOrderingGuards(ctx context.Context, ptx preparedTx, batch []decodedEvent) (orderingGuards, error) {
	var ids []string
	for _, d := range batch {
		if id := guardedSubscription(d); id != "" {
			ids = append(ids, id)
		}
	}
	guards := orderingGuards{}
	if len(ids) < 2 {
		return guards, nil
	}
	var rows []orderingGuard
	if err := ptx.selectAll(ctx, &rows, orderingGuardsSQL, pq.Array(ids)); err != nil {
		return nil, err
	}
	for _, g := range rows {
		guards[g.StripeID] = g
	}
	return guards, nil
}

// guardedSubscription is the Stripe subscription whose guards decide
// whether d is older than what is applied; "" when none does.
func guardedSubscription(d decodedEvent) string {
	if d.err != nil || !d.ev.AccountID.Valid {
		return ""
	}
	switch d.change.Kind {
	case ChangeSubscription:
		return d.change.Subscription.ID
	case ChangeInvoicePaid, ChangeInvoiceFailed, ChangeInvoiceActionRequired:
		return d.change.Invoice.SubscriptionID
	}
	return ""
}

// overtaken reports whether applying d would only find it older than its
// subscription's guard and skip it: the same decision applySubscription
// and applyInvoice take on the locked row, taken for the whole batch at
// once. Anything else (an unknown subscription, another account's, an
// event not older) is left to the apply.
func (g orderingGuards) overtaken(d decodedEvent) bool {
	id := guardedSubscription(d)
	guard, ok := g[id]
	if id == "" || !ok || guard.AccountID != d.ev.AccountID.Int64 {
		return false
	}
	if olderThan(d.ev.Created, guard.LastEventCreated) {
		return true
	}
	return d.change.Kind != ChangeSubscription && olderThan(d.ev.Created, guard.StatusEventCreated)
}
