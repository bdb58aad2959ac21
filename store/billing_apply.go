package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/entitle-dev/entitle/licensing"
)

// StripeChangeKind is what an event asks of the database.
type StripeChangeKind string

const (
	ChangeSubscription          StripeChangeKind = "subscription" // customer.subscription.created|updated|deleted
	ChangeTrialWillEnd          StripeChangeKind = "trial_will_end"
	ChangeInvoicePaid           StripeChangeKind = "invoice_paid"
	ChangeInvoiceFailed         StripeChangeKind = "invoice_payment_failed"
	ChangeInvoiceActionRequired StripeChangeKind = "invoice_payment_action_required"
	ChangeCheckoutCompleted     StripeChangeKind = "checkout_completed"
	ChangeIgnored               StripeChangeKind = "ignored" // stored, not applied
)

// StripeChange is an event decoded into what Entitle needs of it.
type StripeChange struct {
	Kind       StripeChangeKind
	CustomerID string
	// AccountRef is Entitle's account id as the object names it (checkout's
	// client_reference_id, or metadata entitle_account_id); 0 when absent.
	AccountRef   int64
	Subscription StripeSubscription
	Invoice      StripeInvoice
	Checkout     StripeCheckout
}

// StripeSubscription is the part of a Stripe subscription object Entitle keeps.
type StripeSubscription struct {
	ID                string
	Status            licensing.Status
	PriceID           string
	Quantity          int
	TrialEnd          time.Time
	CurrentPeriodEnd  time.Time
	CancelAtPeriodEnd bool
	ScheduledPriceID  string // a change waiting for period end (metadata entitle_scheduled_price)
	ScheduledQuantity int
	// AddOns are the subscription's other items: one per add-on held.
	AddOns []StripeItem
}

// StripeInvoice is the part of an invoice object Entitle reads.
type StripeInvoice struct {
	ID, SubscriptionID, Currency string
	AmountDue                    int64
}

// StripeCheckout is a completed checkout session.
type StripeCheckout struct{ ID, SubscriptionID string }

// Outcomes recorded on inbox rows.
const (
	OutcomeApplied      = "applied"
	OutcomeSkippedOlder = "skipped_older"
	OutcomeIgnored      = "ignored"
)

type lockedSubscription struct {
	ID                     int64          `db:"id"`
	AccountID              int64          `db:"account_id"`
	ProductID              int64          `db:"product_id"`
	PlanVersionID          int64          `db:"plan_version_id"`
	PlanKey                string         `db:"plan_key"`
	Status                 string         `db:"status"`
	Seats                  int            `db:"seats"`
	TrialEndsAt            sql.NullTime   `db:"trial_ends_at"`
	PastDueSince           sql.NullTime   `db:"past_due_since"`
	CurrentPeriodEnd       sql.NullTime   `db:"current_period_end"`
	CancelAtPeriodEnd      bool           `db:"cancel_at_period_end"`
	ScheduledPlanVersionID sql.NullInt64  `db:"scheduled_plan_version_id"`
	ScheduledPlanKey       sql.NullString `db:"scheduled_plan_key"`
	ScheduledSeats         sql.NullInt64  `db:"scheduled_seats"`
	StripeSubscriptionID   sql.NullString `db:"stripe_subscription_id"`
	LastEventCreated       sql.NullTime   `db:"last_event_created"`
	StatusEventCreated     sql.NullTime   `db:"status_event_created"`
}

// snapshot is what the audit log records before and after an event.
func (l lockedSubscription) snapshot() map[string]any {
	m := map[string]any{"plan": l.PlanKey, "status": l.Status, "seats": l.Seats,
		"cancel_at_period_end": l.CancelAtPeriodEnd}
	if l.ScheduledPlanKey.Valid {
		m["scheduled_plan"] = l.ScheduledPlanKey.String
	}
	if l.ScheduledSeats.Valid {
		m["scheduled_seats"] = l.ScheduledSeats.Int64
	}
	for k, t := range map[string]sql.NullTime{"trial_ends_at": l.TrialEndsAt, "current_period_end": l.CurrentPeriodEnd,
		"past_due_since": l.PastDueSince} {
		if t.Valid {
			m[k] = t.Time.UTC().Format(time.RFC3339)
		}
	}
	return m
}

type resolvedPrice struct {
	PlanVersionID int64  `db:"plan_version_id"`
	PlanID        int64  `db:"plan_id"`
	ProductID     int64  `db:"product_id"`
	PlanKey       string `db:"plan_key"`
	SeatBased     bool   `db:"seat_based"`
}

const (
	lockedSubscriptionColumns = `
SELECT s.id, s.account_id, s.product_id, s.plan_version_id, pl.key AS plan_key, s.status, s.seats,
       s.trial_ends_at, s.past_due_since, s.current_period_end, s.cancel_at_period_end,
       s.scheduled_plan_version_id, spl.key AS scheduled_plan_key, s.scheduled_seats,
       s.stripe_subscription_id, s.last_event_created, s.status_event_created
FROM subscription s
JOIN plan_version pv ON pv.id = s.plan_version_id JOIN plan pl ON pl.id = pv.plan_id
LEFT JOIN plan_version spv ON spv.id = s.scheduled_plan_version_id LEFT JOIN plan spl ON spl.id = spv.plan_id`
	// The subscription row is locked alone, then read with its plan: a lock
	// taken through a join is dropped when a concurrent commit changes the
	// joined key (READ COMMITTED rechecks the whole join after the wait).
	lockSubByStripeIDSQL = `SELECT id FROM subscription WHERE stripe_subscription_id = $1 FOR UPDATE`
	lockSubByProductSQL  = `SELECT id FROM subscription WHERE account_id = $1 AND product_id = $2 FOR UPDATE`
	lockedSubByIDSQL     = lockedSubscriptionColumns + ` WHERE s.id = $1`
	// A price maps to the version the subscription is on when that version
	// has it (subscribers keep their version), else to the newest version.
	resolvePriceSQL = `
SELECT pv.id AS plan_version_id, pv.plan_id, pl.product_id, pl.key AS plan_key, pv.seat_based
FROM plan_price pp JOIN plan_version pv ON pv.id = pp.plan_version_id JOIN plan pl ON pl.id = pv.plan_id
WHERE pp.stripe_price_id = $1
ORDER BY (pv.id = $2) DESC, pv.version DESC LIMIT 1`
	accountByCustomerSQL = `SELECT id FROM account WHERE stripe_customer_id = $1`
	accountCustomerSQL   = `SELECT coalesce(stripe_customer_id, '') FROM account WHERE id = $1 FOR UPDATE`
	linkCustomerSQL      = `UPDATE account SET stripe_customer_id = $2 WHERE id = $1`
	insertStripeSubSQL   = `
INSERT INTO subscription (account_id, product_id, plan_version_id, status, seats, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`
	updateSubFromStripeSQL = `
UPDATE subscription SET plan_version_id = $2, status = $3, seats = $4, trial_ends_at = $5, past_due_since = $6,
       current_period_end = $7, cancel_at_period_end = $8, scheduled_plan_version_id = $9, scheduled_seats = $10,
       stripe_subscription_id = $11, last_event_created = $12, status_event_created = $13,
       event_seq = event_seq + 1, updated_at = $14
WHERE id = $1`
	updateSubStatusSQL = `
UPDATE subscription SET status = $2, past_due_since = $3, status_event_created = $4, event_seq = event_seq + 1,
       updated_at = $5
WHERE id = $1`
	releaseSeatsSQL = `DELETE FROM seat_assignment WHERE account_id = $1 AND subscription_id = $2 RETURNING membership_id`
	recordTrialSQL  = `
INSERT INTO billing_trial (account_id, plan_id, started_at, event_id) VALUES ($1, $2, $3, $4)
ON CONFLICT (account_id, plan_id) DO NOTHING`
)

// applyStripeEvent applies one decoded event inside the worker's
// transaction and says what it did. Every change is audited with Stripe as
// the actor and the event id as its label.
func (s *Store) applyStripeEvent(ctx context.Context, ptx preparedTx, now time.Time, d decodedEvent) (string, sql.NullInt64, error) {
	tx := ptx.Tx
	ev, ch := d.ev, d.change
	if d.err != nil {
		return "", ev.AccountID, permanent("cannot read the event: %v", d.err)
	}
	if ch.Kind == ChangeIgnored {
		return OutcomeIgnored, ev.AccountID, nil
	}
	accountID, err := resolveEventAccount(ctx, tx, ev, ch)
	if err != nil {
		return "", ev.AccountID, err
	}
	acct := sql.NullInt64{Int64: accountID, Valid: true}
	actor := Actor{Type: "stripe", ID: ev.Type, Label: ev.ID}
	var outcome string
	switch ch.Kind {
	case ChangeSubscription:
		outcome, err = applySubscription(ctx, ptx, now, ev, actor, accountID, ch.Subscription)
	case ChangeInvoicePaid, ChangeInvoiceFailed, ChangeInvoiceActionRequired:
		outcome, err = applyInvoice(ctx, ptx, now, ev, actor, accountID, ch.Kind, ch.Invoice)
	case ChangeTrialWillEnd:
		outcome, err = OutcomeApplied, audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor,
			Action: "subscription.trial_will_end", TargetType: "stripe_subscription", TargetID: ch.Subscription.ID,
			After: map[string]any{"trial_end": ch.Subscription.TrialEnd.UTC().Format(time.RFC3339)}})
	case ChangeCheckoutCompleted:
		outcome, err = OutcomeApplied, audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor,
			Action: "billing.checkout_completed", TargetType: "checkout_session", TargetID: ch.Checkout.ID,
			After: map[string]any{"customer": ch.CustomerID, "subscription": ch.Checkout.SubscriptionID}})
	default:
		outcome = OutcomeIgnored
	}
	if err != nil {
		return "", acct, err
	}
	if outcome == OutcomeApplied && traced(ctx) {
		// The announcement carries this event's trace; untraced, the
		// batch announces the account's change once at its end.
		err = notifyAccountChanged(ctx, tx, accountID)
	}
	return outcome, acct, err
}

// resolveEventAccount finds the account an event is about: the one whose
// Stripe customer it names, else the account id the object carries (which
// links the customer to that account on first sight).
func resolveEventAccount(ctx context.Context, tx *sqlx.Tx, ev StripeEvent, ch StripeChange) (int64, error) {
	if ev.AccountID.Valid {
		return ev.AccountID.Int64, nil
	}
	if ch.CustomerID != "" {
		var id int64
		err := tx.GetContext(ctx, &id, accountByCustomerSQL, ch.CustomerID)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
	}
	if ch.AccountRef == 0 {
		return 0, retryable("no account has Stripe customer %q", ch.CustomerID)
	}
	var customer string
	err := tx.GetContext(ctx, &customer, accountCustomerSQL, ch.AccountRef)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, permanent("the event names account %d, which does not exist", ch.AccountRef)
	}
	if err != nil {
		return 0, err
	}
	switch {
	case customer == ch.CustomerID:
	case customer != "":
		return 0, permanent("account %d belongs to Stripe customer %q, not %q", ch.AccountRef, customer, ch.CustomerID)
	case ch.CustomerID != "":
		if _, err := tx.ExecContext(ctx, linkCustomerSQL, ch.AccountRef, ch.CustomerID); err != nil {
			return 0, err
		}
	}
	return ch.AccountRef, nil
}

func lockSubscription(ctx context.Context, tx preparedTx, query string, args ...any) (lockedSubscription, bool, error) {
	var l lockedSubscription
	var id int64
	err := tx.get(ctx, &id, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, err
	}
	err = tx.get(ctx, &l, lockedSubByIDSQL, id)
	return l, err == nil, err
}

func resolvePrice(ctx context.Context, tx preparedTx, priceID string, preferVersion int64) (resolvedPrice, error) {
	var p resolvedPrice
	err := tx.get(ctx, &p, resolvePriceSQL, priceID, preferVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return p, permanent("price %q maps to no plan: fix the catalog, then retry this event", priceID)
	}
	return p, err
}

// olderThan reports whether an event created at t predates the guard.
func olderThan(t time.Time, guard sql.NullTime) bool { return guard.Valid && t.Before(guard.Time) }

// applySubscription applies a subscription object. Its fields replace the
// row's when the event is not older than the last applied one; its status
// only when it is not older than the last status change (invoice events
// change status too).
func applySubscription(ctx context.Context, ptx preparedTx, now time.Time, ev StripeEvent, actor Actor, accountID int64, sub StripeSubscription) (string, error) {
	tx := ptx.Tx
	row, found, err := lockSubscription(ctx, ptx, lockSubByStripeIDSQL, sub.ID)
	if err != nil {
		return "", err
	}
	if found && row.AccountID != accountID {
		return "", permanent("subscription %q belongs to another account", sub.ID)
	}
	if found && olderThan(ev.Created, row.LastEventCreated) {
		// Decided on the locked row alone: an event a newer one has
		// overtaken needs no price lookup (shuffled deliveries are common).
		return OutcomeSkippedOlder, nil
	}
	price, err := resolvePrice(ctx, ptx, sub.PriceID, row.PlanVersionID)
	if err != nil {
		return "", err
	}
	if !found {
		row, found, err = lockSubscription(ctx, ptx, lockSubByProductSQL, accountID, price.ProductID)
		if err != nil {
			return "", err
		}
	}
	action := "subscription." + strings.TrimPrefix(ev.Type, "customer.subscription.")
	var before map[string]any
	if !found {
		var id int64
		if err := tx.GetContext(ctx, &id, insertStripeSubSQL, accountID, price.ProductID, price.PlanVersionID,
			string(sub.Status), sub.Quantity, now); err != nil {
			return "", err
		}
		row = lockedSubscription{ID: id, AccountID: accountID, ProductID: price.ProductID, PlanVersionID: price.PlanVersionID,
			PlanKey: price.PlanKey, Status: string(sub.Status)}
	} else {
		if olderThan(ev.Created, row.LastEventCreated) { // found by account and product
			return OutcomeSkippedOlder, nil
		}
		before = row.snapshot()
	}

	next := row
	next.PlanVersionID, next.PlanKey, next.Seats = price.PlanVersionID, price.PlanKey, sub.Quantity
	next.CurrentPeriodEnd = nullTime(sub.CurrentPeriodEnd)
	next.CancelAtPeriodEnd = sub.CancelAtPeriodEnd
	next.StripeSubscriptionID = sql.NullString{String: sub.ID, Valid: true}
	next.LastEventCreated = nullTime(ev.Created)
	next.ScheduledPlanVersionID, next.ScheduledPlanKey, next.ScheduledSeats = sql.NullInt64{}, sql.NullString{}, sql.NullInt64{}
	if sub.ScheduledPriceID != "" {
		sp, err := resolvePrice(ctx, ptx, sub.ScheduledPriceID, row.ScheduledPlanVersionID.Int64)
		if err != nil {
			return "", err
		}
		if sp.PlanVersionID != next.PlanVersionID {
			next.ScheduledPlanVersionID = sql.NullInt64{Int64: sp.PlanVersionID, Valid: true}
			next.ScheduledPlanKey = sql.NullString{String: sp.PlanKey, Valid: true}
		}
	}
	if sub.ScheduledQuantity > 0 && sub.ScheduledQuantity != sub.Quantity {
		next.ScheduledSeats = sql.NullInt64{Int64: int64(sub.ScheduledQuantity), Valid: true}
	}
	if !olderThan(ev.Created, row.StatusEventCreated) {
		next.Status = string(sub.Status)
		next.StatusEventCreated = nullTime(ev.Created)
	}
	next.TrialEndsAt = sql.NullTime{}
	if next.Status == string(licensing.Trialing) {
		next.TrialEndsAt = nullTime(sub.TrialEnd)
	}
	next.PastDueSince = pastDueSince(row, next.Status, ev.Created)

	if err := ptx.exec(ctx, updateSubFromStripeSQL, row.ID, next.PlanVersionID, next.Status, next.Seats,
		next.TrialEndsAt, next.PastDueSince, next.CurrentPeriodEnd, next.CancelAtPeriodEnd, next.ScheduledPlanVersionID,
		next.ScheduledSeats, next.StripeSubscriptionID, next.LastEventCreated, next.StatusEventCreated, now); err != nil {
		return "", err
	}
	if after := next.snapshot(); before == nil || !sameJSON(before, after) {
		if err := audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: action,
			TargetType: "subscription", TargetID: itoa(row.ID), Before: before, After: after}); err != nil {
			return "", err
		}
	}
	if price.SeatBased && (before == nil || next.PlanVersionID != row.PlanVersionID) {
		if err := giveSignupSeat(ctx, tx, now, accountID, row.ID); err != nil {
			return "", err
		}
	}
	if err := syncAddOns(ctx, tx, now, actor, accountID, row.ID, price.ProductID, sub.AddOns); err != nil {
		return "", err
	}
	if next.ScheduledPlanVersionID.Valid {
		if err := noticeSSODowngrade(ctx, tx, now, actor, accountID, next.PlanVersionID, next.ScheduledPlanVersionID.Int64,
			next.CurrentPeriodEnd); err != nil {
			return "", err
		}
	}
	if next.Status == string(licensing.Canceled) && (row.Status != string(licensing.Canceled) || before == nil) {
		if err := releaseSeats(ctx, tx, now, actor, accountID, row.ID); err != nil {
			return "", err
		}
	}
	if next.Status == string(licensing.Trialing) {
		if _, err := tx.ExecContext(ctx, recordTrialSQL, accountID, price.PlanID, now, ev.ID); err != nil {
			return "", err
		}
	}
	return OutcomeApplied, nil
}

// pastDueSince keeps the start of a past-due spell while it lasts.
func pastDueSince(row lockedSubscription, status string, at time.Time) sql.NullTime {
	switch {
	case status != string(licensing.PastDue):
		return sql.NullTime{}
	case row.Status == string(licensing.PastDue) && row.PastDueSince.Valid:
		return row.PastDueSince
	}
	return nullTime(at)
}

// releaseSeats frees every seat of a canceled subscription, one audit
// entry per seat; memberships and their data stay.
func releaseSeats(ctx context.Context, tx *sqlx.Tx, now time.Time, actor Actor, accountID, subID int64) error {
	var released []int64
	if err := tx.SelectContext(ctx, &released, releaseSeatsSQL, accountID, subID); err != nil {
		return err
	}
	for _, m := range released {
		if err := audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "seat.release",
			TargetType: "membership", TargetID: itoa(m),
			Before: map[string]any{"subscription": subID}, After: map[string]any{"reason": "subscription canceled"}}); err != nil {
			return err
		}
	}
	return nil
}

// applyInvoice moves the status on a payment: a failure makes an active
// subscription past due (access kept for the grace period); a payment
// makes a past-due or suspended one active again.
func applyInvoice(ctx context.Context, ptx preparedTx, now time.Time, ev StripeEvent, actor Actor, accountID int64, kind StripeChangeKind, inv StripeInvoice) (string, error) {
	tx := ptx.Tx
	if inv.SubscriptionID == "" {
		return OutcomeIgnored, nil // a one-off invoice: nothing to do with a subscription
	}
	row, found, err := lockSubscription(ctx, ptx, lockSubByStripeIDSQL, inv.SubscriptionID)
	if err != nil {
		return "", err
	}
	if !found {
		return "", retryable("no subscription %q yet", inv.SubscriptionID)
	}
	if row.AccountID != accountID {
		return "", permanent("subscription %q belongs to another account", inv.SubscriptionID)
	}
	if olderThan(ev.Created, row.LastEventCreated) || olderThan(ev.Created, row.StatusEventCreated) {
		return OutcomeSkippedOlder, nil
	}
	status := licensing.Status(row.Status)
	switch {
	case kind == ChangeInvoicePaid && (status == licensing.PastDue || status == licensing.Suspended):
		status = licensing.Active
	case kind != ChangeInvoicePaid && (status == licensing.Active || status == licensing.Trialing):
		status = licensing.PastDue
	}
	since := pastDueSince(row, string(status), ev.Created)
	if err := ptx.exec(ctx, updateSubStatusSQL, row.ID, string(status), since, ev.Created, now); err != nil {
		return "", err
	}
	return OutcomeApplied, audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor,
		Action: strings.Replace(string(kind), "invoice_", "invoice.", 1), TargetType: "invoice", TargetID: inv.ID,
		Before: map[string]any{"status": row.Status},
		After:  map[string]any{"status": string(status), "amount_due": inv.AmountDue, "currency": inv.Currency}})
}

func sameJSON(a, b map[string]any) bool {
	x, err1 := canonicalJSON(a)
	y, err2 := canonicalJSON(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
