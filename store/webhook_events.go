package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Outbound webhook event types. Each has a JSON schema in the OpenAPI
// document's webhooks section; receivers switch on them.
const (
	EventAccountCreated        = "account.created"
	EventSubscriptionCreated   = "subscription.created"
	EventSubscriptionUpdated   = "subscription.updated"
	EventSubscriptionCanceled  = "subscription.canceled"
	EventEntitlementsChanged   = "entitlements.changed"
	EventSeatAssigned          = "seat.assigned"
	EventSeatUnassigned        = "seat.unassigned"
	EventMemberJoined          = "member.joined"
	EventMemberRemoved         = "member.removed"
	EventUsageThreshold        = "usage.threshold_reached"
	EventLicenceIssued         = "licence.issued"
	EventDriftRepaired         = "provisioning.drift_repaired"
	EventImpersonationStarted  = "impersonation.started"
	EventImpersonationEnded    = "impersonation.ended"
	EventTrialEnding           = "subscription.trial_ending"
	EventSeatPoolFull          = "seat_pool.full"
	EventWebhookTest           = "webhook.test"
	webhookMessageIDPrefix     = "msg_"
	webhookEventTimestampField = time.RFC3339Nano
)

// WebhookEventTypes lists every event type an endpoint may subscribe to, in
// display order (the test event goes only where an operator sends it).
var WebhookEventTypes = []string{
	EventAccountCreated, EventSubscriptionCreated, EventSubscriptionUpdated, EventSubscriptionCanceled,
	EventTrialEnding, EventEntitlementsChanged, EventSeatAssigned, EventSeatUnassigned, EventSeatPoolFull,
	EventMemberJoined, EventMemberRemoved, EventUsageThreshold, EventLicenceIssued, EventDriftRepaired,
	EventImpersonationStarted, EventImpersonationEnded,
}

// WebhookAccount names the account an event is about, as receivers see it.
type WebhookAccount struct {
	ID         int64   `json:"id" db:"id"`
	Slug       string  `json:"slug" db:"slug"`
	Name       string  `json:"name" db:"name"`
	ExternalID *string `json:"external_id" db:"external_id"`
}

// WebhookPayload is the body of every outbound webhook.
type WebhookPayload struct {
	ID        string          `json:"id"` // the webhook-id header too
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"` // when the change happened
	Sequence  int64           `json:"sequence"`  // per account, from 1, without gaps
	Account   *WebhookAccount `json:"account"`
	Data      any             `json:"data"`
}

const (
	webhookAccountSQL  = `SELECT id, slug, name, external_id FROM account WHERE id = $1`
	insertWebhookEvent = `
INSERT INTO webhook_event (message_id, account_id, seq, type, payload, created_at)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`
	markEntitlementsSQL = `
INSERT INTO webhook_entitlements_pending (account_id, since) VALUES ($1, $2) ON CONFLICT (account_id) DO NOTHING`
)

func newWebhookMessageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return webhookMessageIDPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// pendingWebhook is an event to write: its type and data.
type pendingWebhook struct {
	typ  string
	data any
}

// emitWebhooksSQL writes events of one account in one statement: it
// reserves their sequence numbers, completes each payload with its number
// and the account (the payload is jsonb, so keys merged here read as if
// written in Go), inserts the events and, for every enabled endpoint that
// takes each, its delivery, and marks the account's entitlements for
// re-evaluation when $7 says so.
const emitWebhooksSQL = `
WITH seq AS (
    INSERT INTO webhook_sequence (account_id, last_seq) VALUES ($1::bigint, $2::bigint)
    ON CONFLICT (account_id) DO UPDATE SET last_seq = webhook_sequence.last_seq + $2::bigint
    RETURNING last_seq),
acct AS (
    SELECT jsonb_build_object('id', a.id, 'slug', a.slug, 'name', a.name, 'external_id', a.external_id) AS doc
    FROM account a WHERE a.id = $1::bigint),
mark AS (
    INSERT INTO webhook_entitlements_pending (account_id, since) SELECT $1::bigint, $3::timestamptz WHERE $7::boolean
    ON CONFLICT (account_id) DO NOTHING),
ev AS (
    INSERT INTO webhook_event (message_id, account_id, seq, type, payload, created_at)
    SELECT x.id, $1::bigint, seq.last_seq - ($2::bigint - x.n), x.type,
           x.payload::jsonb || jsonb_build_object('sequence', seq.last_seq - ($2::bigint - x.n), 'account', acct.doc),
           $3::timestamptz
    FROM unnest($4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS x(id, type, payload, n) CROSS JOIN seq CROSS JOIN acct
    RETURNING id, type),
delivery AS (
    INSERT INTO webhook_delivery (event_id, endpoint_id, next_attempt_at, created_at)
    SELECT ev.id, ep.id, $3::timestamptz, $3::timestamptz FROM ev
    JOIN webhook_endpoint ep ON ep.enabled AND (cardinality(ep.event_types) = 0 OR ev.type = ANY (ep.event_types)))
SELECT count(*) FROM acct`

// emitWebhooks writes events of the account inside tx, numbered in order
// with the account's next sequence numbers, and a delivery of each for
// every endpoint that takes it: the events commit with their change or not
// at all. The caller holds the account's audit lock (audit takes it), so
// sequence numbers follow the order of the changes. markEntitlements also
// marks the account's entitlements for re-evaluation, in the same round
// trip.
func emitWebhooks(ctx context.Context, tx *sqlx.Tx, at time.Time, accountID int64, list []pendingWebhook, markEntitlements bool) error {
	if len(list) == 0 {
		if markEntitlements {
			_, err := tx.ExecContext(ctx, markEntitlementsSQL, accountID, at)
			return err
		}
		return nil
	}
	at = at.UTC().Truncate(time.Microsecond)
	n := len(list)
	ids, types, bodies := make([]string, n), make([]string, n), make([]string, n)
	for i, w := range list {
		p := WebhookPayload{ID: newWebhookMessageID(), Type: w.typ, Timestamp: at.Format(webhookEventTimestampField), Data: w.data}
		body, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("webhook event %s: %w", w.typ, err)
		}
		ids[i], types[i], bodies[i] = p.ID, p.Type, string(body)
	}
	var known int
	if err := tx.GetContext(ctx, &known, emitWebhooksSQL, accountID, n, at, pq.Array(ids), pq.Array(types), pq.Array(bodies),
		markEntitlements); err != nil {
		return fmt.Errorf("webhook events: %w", err)
	}
	if known != 1 {
		return fmt.Errorf("webhook events: account: %w", sql.ErrNoRows)
	}
	return nil
}

// emitWebhook writes one event (see emitWebhooks).
func emitWebhook(ctx context.Context, tx *sqlx.Tx, at time.Time, accountID int64, typ string, data any) error {
	return emitWebhooks(ctx, tx, at, accountID, []pendingWebhook{{typ, data}}, false)
}

// insertWebhookEventRow writes one event without an account (the test
// event) and its deliveries by fanOut.
func insertWebhookEventRow(ctx context.Context, tx *sqlx.Tx, at time.Time, acct *WebhookAccount, seq int64, typ string,
	data any, fanOut string, fanOutArgs ...any) error {
	at = at.UTC().Truncate(time.Microsecond)
	p := WebhookPayload{ID: newWebhookMessageID(), Type: typ, Timestamp: at.Format(webhookEventTimestampField),
		Sequence: seq, Account: acct, Data: data}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	var accountID sql.NullInt64
	if acct != nil {
		accountID = sql.NullInt64{Int64: acct.ID, Valid: true}
	}
	var id int64
	if err := tx.GetContext(ctx, &id, insertWebhookEvent, p.ID, accountID, seq, typ, string(body), at); err != nil {
		return fmt.Errorf("webhook event %s: %w", typ, err)
	}
	_, err = tx.ExecContext(ctx, fanOut, append([]any{id, typ, at}, fanOutArgs...)...)
	return err
}

// entitlementActions are the audited changes after which an account's
// evaluated entitlements may differ.
func changesEntitlements(action string) bool {
	switch action {
	case "subscription.auto_assign", "subscription.trial_will_end",
		"subscription.migration_scheduled", "subscription.migration_notice", "subscription.migration_skipped",
		"subscription.migration_sent_to_provider": // the provider's webhook makes that change
		return false
	case "account.country": // regional rules read it
		return true
	}
	for _, p := range []string{"subscription.", "seat.", "grant.", "member.remove", "scim.user.delete"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

// webhooksForAudit turns audited changes into outbound events, inside the
// change's transaction: audit and auditMany call it, so every write path
// that audits a change (all of them) emits its event without a second
// place to forget. entitlements.changed is only marked here; the
// dispatcher evaluates and writes it once for a run of changes. members
// are members the caller knows as they stand (see auditManyKnowing).
func webhooksForAudit(ctx context.Context, tx *sqlx.Tx, at time.Time, accountID int64, events []AuditEvent,
	members map[int64]WebhookMember) error {
	if accountID == 0 {
		return nil
	}
	lk, err := newWebhookLookups(ctx, tx, accountID, events, members)
	if err != nil {
		return err
	}
	var list []pendingWebhook
	mark := false
	for _, e := range events {
		typ, data, err := lk.forAudit(e)
		if err != nil {
			return err
		}
		if typ != "" {
			list = append(list, pendingWebhook{typ, data})
		}
		mark = mark || changesEntitlements(e.Action)
	}
	return emitWebhooks(ctx, tx, at, accountID, list, mark)
}

// webhookLookups reads, once for a batch of audited changes, the members
// and subscriptions their events describe.
type webhookLookups struct {
	ctx       context.Context
	tx        *sqlx.Tx
	accountID int64
	members   map[int64]WebhookMember
	subs      map[int64]WebhookSubscription
}

const webhookMembersSQL = `
SELECT m.id, m.user_id, u.email, m.role, m.status FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = $1 AND m.id = ANY ($2::bigint[])`

func newWebhookLookups(ctx context.Context, tx *sqlx.Tx, accountID int64, events []AuditEvent,
	known map[int64]WebhookMember) (*webhookLookups, error) {
	lk := &webhookLookups{ctx: ctx, tx: tx, accountID: accountID, members: map[int64]WebhookMember{}, subs: map[int64]WebhookSubscription{}}
	var ids []int64
	for _, e := range events {
		if e.TargetType == "membership" && (strings.HasPrefix(e.Action, "seat.") || strings.HasPrefix(e.Action, "member.") ||
			strings.HasPrefix(e.Action, "scim.user.")) {
			if id, err := strconv.ParseInt(e.TargetID, 10, 64); err == nil {
				if m, ok := known[id]; ok {
					lk.members[id] = m
				} else {
					ids = append(ids, id)
				}
			}
		}
	}
	if len(ids) == 0 {
		return lk, nil
	}
	var rows []WebhookMember
	if err := tx.SelectContext(ctx, &rows, webhookMembersSQL, accountID, pq.Int64Array(ids)); err != nil {
		return nil, err
	}
	for _, m := range rows {
		lk.members[m.MembershipID] = m
	}
	return lk, nil
}

func (lk *webhookLookups) member(target string) (WebhookMember, bool) {
	id, err := strconv.ParseInt(target, 10, 64)
	if err != nil {
		return WebhookMember{}, false
	}
	m, ok := lk.members[id]
	return m, ok
}

func (lk *webhookLookups) subscription(id int64) (WebhookSubscription, error) {
	if sub, ok := lk.subs[id]; ok {
		return sub, nil
	}
	sub, err := webhookSubscription(lk.ctx, lk.tx, lk.accountID, id)
	if err == nil {
		lk.subs[id] = sub
	}
	return sub, err
}

// forAudit maps one audited change to its event type and data; ""
// when the change has no event.
func (lk *webhookLookups) forAudit(e AuditEvent) (string, any, error) {
	switch e.Action {
	case "account.create":
		var a WebhookAccount
		if err := lk.tx.GetContext(lk.ctx, &a, webhookAccountSQL, lk.accountID); err != nil {
			return "", nil, err
		}
		return EventAccountCreated, map[string]any{"name": a.Name, "slug": a.Slug, "external_id": a.ExternalID}, nil
	case "subscription.create", "subscription.created", "subscription.updated", "subscription.deleted",
		"subscription.plan_change", "subscription.migration_moved":
		id, err := strconv.ParseInt(e.TargetID, 10, 64)
		if err != nil || e.TargetType != "subscription" {
			return "", nil, nil
		}
		sub, err := lk.subscription(id)
		if err != nil {
			return "", nil, err
		}
		typ := EventSubscriptionUpdated
		switch {
		case sub.Status == "canceled":
			typ = EventSubscriptionCanceled
		case e.Action == "subscription.create" || e.Action == "subscription.created":
			typ = EventSubscriptionCreated
		}
		return typ, sub, nil
	case "seat.assign", "seat.unassign", "seat.release", "seat.reclaim":
		return lk.seat(e)
	case "member.accept", "member.add", "member.remove", "scim.user.create", "scim.user.delete":
		if e.TargetType != "membership" && e.TargetType != "user" {
			return "", nil, nil
		}
		m, ok := lk.member(e.TargetID)
		if !ok {
			return "", nil, nil
		}
		typ := EventMemberJoined
		if e.Action == "member.remove" || e.Action == "scim.user.delete" {
			typ = EventMemberRemoved
		} else if m.Status != "active" {
			return "", nil, nil // provisioned but not active yet: joins when active
		}
		return typ, m, nil
	case "impersonation.start":
		return EventImpersonationStarted, impersonationData(e.TargetID, e.After), nil
	case "impersonation.end":
		return EventImpersonationEnded, impersonationData(e.TargetID, e.After), nil
	}
	return "", nil, nil
}

func impersonationData(id string, after any) map[string]any {
	out := map[string]any{"id": id}
	if m, ok := after.(map[string]any); ok {
		for _, k := range []string{"staff", "reason", "mode", "started_at", "expires_at", "ended_at", "ended_because"} {
			if v, ok := m[k]; ok {
				out[k] = v
			}
		}
	}
	return out
}

// WebhookSubscription is a subscription as subscription.* events carry it.
type WebhookSubscription struct {
	ID                int64      `json:"id" db:"id"`
	Product           string     `json:"product" db:"product"`
	Plan              string     `json:"plan" db:"plan"`
	PlanName          string     `json:"plan_name" db:"plan_name"`
	PlanVersion       int        `json:"plan_version" db:"plan_version"`
	Status            string     `json:"status" db:"status"`
	Seats             int        `json:"seats" db:"seats"`
	SeatsAssigned     int        `json:"seats_assigned" db:"seats_assigned"`
	TrialEndsAt       *time.Time `json:"trial_ends_at" db:"trial_ends_at"`
	CurrentPeriodEnd  *time.Time `json:"current_period_end" db:"current_period_end"`
	CancelAtPeriodEnd bool       `json:"cancel_at_period_end" db:"cancel_at_period_end"`
}

const webhookSubscriptionSQL = `
SELECT s.id, p.key AS product, pl.key AS plan, pv.name AS plan_name, pv.version AS plan_version, s.status, s.seats,
       s.seats_assigned,
       s.trial_ends_at, s.current_period_end, s.cancel_at_period_end
FROM subscription s
JOIN product p ON p.id = s.product_id
JOIN plan_version pv ON pv.id = s.plan_version_id
JOIN plan pl ON pl.id = pv.plan_id
WHERE s.account_id = $1 AND s.id = $2`

func webhookSubscription(ctx context.Context, q sqlx.QueryerContext, accountID, id int64) (WebhookSubscription, error) {
	var sub WebhookSubscription
	err := sqlx.GetContext(ctx, q, &sub, webhookSubscriptionSQL, accountID, id)
	return sub, err
}

// WebhookMember is a member as member.* and seat.* events carry them.
type WebhookMember struct {
	MembershipID int64  `json:"membership_id" db:"id"`
	UserID       int64  `json:"user_id" db:"user_id"`
	Email        string `json:"email" db:"email"`
	Role         string `json:"role" db:"role"`
	Status       string `json:"status" db:"status"`
}

// seat is seat.assigned or seat.unassigned: who, which pool, why.
func (lk *webhookLookups) seat(e AuditEvent) (string, any, error) {
	m, ok := lk.member(e.TargetID)
	if !ok {
		return "", nil, nil
	}
	subID := auditSubscriptionID(e.After)
	if subID == 0 {
		subID = auditSubscriptionID(e.Before)
	}
	sub, err := lk.subscription(subID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	typ, cause := EventSeatAssigned, ""
	if e.Action != "seat.assign" {
		typ, cause = EventSeatUnassigned, strings.TrimPrefix(e.Action, "seat.")
	}
	data := map[string]any{"member": m, "subscription_id": sub.ID, "product": sub.Product,
		"seats": sub.Seats, "seats_assigned": sub.SeatsAssigned}
	if cause != "" {
		data["cause"] = cause
	}
	return typ, data, nil
}

// auditSubscriptionID reads the "subscription" field audit entries of seats
// carry.
func auditSubscriptionID(v any) int64 {
	m, ok := v.(map[string]any)
	if !ok {
		return 0
	}
	switch id := m["subscription"].(type) {
	case int64:
		return id
	case int:
		return int64(id)
	case string:
		n, _ := strconv.ParseInt(id, 10, 64)
		return n
	}
	return 0
}

// emitWebhookLocked is for write paths outside audit (usage thresholds,
// licences, drift repairs, alerts): the event joins tx.
func emitWebhookLocked(ctx context.Context, tx *sqlx.Tx, at time.Time, accountID int64, typ string, data any) error {
	if _, err := tx.ExecContext(ctx, lockAuditChainSQL, auditLockClass, accountID); err != nil {
		return err
	}
	return emitWebhook(ctx, tx, at, accountID, typ, data)
}
