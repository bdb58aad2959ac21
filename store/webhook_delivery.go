package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// WebhookRetention is how long a delivery is retried before it is given
// up, and how long an endpoint may fail without a success before it is
// disabled (and the operators are mailed).
const WebhookRetention = 72 * time.Hour

// WebhookLease is how long a claimed delivery is left alone: longer than a
// batch to one endpoint can take (the dispatcher sizes its batches for it),
// so that a process killed mid-delivery leaves it to be taken again once
// the lease runs out (at least once, never lost).
const WebhookLease = 5 * time.Minute

// WebhookBackoff is the wait after the n-th failed attempt: 5 s, 15 s,
// 45 s, ... tripling up to 8 hours.
func WebhookBackoff(attempts int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < attempts && d < 8*time.Hour; i++ {
		d *= 3
	}
	return min(d, 8*time.Hour)
}

// DueWebhook is one claimed delivery with what sending it needs.
type DueWebhook struct {
	DeliveryID int64         `db:"id"`
	EndpointID int64         `db:"endpoint_id"`
	Attempts   int           `db:"attempts"`
	CreatedAt  time.Time     `db:"created_at"`
	MessageID  string        `db:"message_id"`
	Type       string        `db:"type"`
	Payload    []byte        `db:"payload"`
	AccountID  sql.NullInt64 `db:"account_id"`
	Seq        int64         `db:"seq"`
	URL        string        `db:"url"`
	// Signing secrets at claim time (current, then the rotated one).
	Secret            string         `db:"secret"`
	PreviousSecret    sql.NullString `db:"previous_secret"`
	PreviousExpiresAt sql.NullTime   `db:"previous_expires_at"`
}

// Secrets are the secrets to sign with at now.
func (d DueWebhook) Secrets(now time.Time) []string {
	return WebhookEndpoint{Secret: d.Secret, PreviousSecret: d.PreviousSecret, PreviousExpiresAt: d.PreviousExpiresAt}.Secrets(now)
}

// WebhookOutcome is what one attempt came to.
type WebhookOutcome struct {
	DeliveryID int64
	EndpointID int64
	Attempts   int // before this attempt
	CreatedAt  time.Time
	At         time.Time
	StatusCode int // 0: no HTTP answer
	Latency    time.Duration
	Response   string // the first bytes of the answer
	Err        string
	// Deferred: not attempted (an earlier delivery to the endpoint just
	// failed); it waits the backoff of Attempts, and its own count of
	// attempts is unchanged.
	Deferred bool
}

// OK reports whether the receiver took the event (any 2xx).
func (o WebhookOutcome) OK() bool { return o.Err == "" && o.StatusCode >= 200 && o.StatusCode < 300 }

const (
	claimWebhooksSQL = `
WITH due AS (
    SELECT d.id FROM webhook_delivery d JOIN webhook_endpoint ep ON ep.id = d.endpoint_id AND ep.enabled
    WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND NOT (d.endpoint_id = ANY ($4::bigint[]))
    ORDER BY d.next_attempt_at, d.id LIMIT $3 FOR UPDATE OF d SKIP LOCKED),
claimed AS (
    UPDATE webhook_delivery d SET next_attempt_at = $2 FROM due WHERE d.id = due.id
    RETURNING d.id, d.endpoint_id, d.attempts, d.created_at, d.event_id)
SELECT c.id, c.endpoint_id, c.attempts, c.created_at, e.message_id, e.type, e.payload, e.account_id, e.seq,
       ep.url, ep.secret, ep.previous_secret, ep.previous_expires_at
FROM claimed c JOIN webhook_event e ON e.id = c.event_id JOIN webhook_endpoint ep ON ep.id = c.endpoint_id
ORDER BY c.endpoint_id, e.id`
	insertWebhookAttemptsSQL = `
INSERT INTO webhook_attempt (delivery_id, attempted_at, status_code, latency_ms, response, error)
SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::int[], $4::int[], $5::text[], $6::text[])`
	updateWebhookDeliveriesSQL = `
UPDATE webhook_delivery d SET status = v.status, attempts = d.attempts + v.inc, next_attempt_at = v.next,
       delivered_at = CASE WHEN v.status = 'delivered' THEN v.at ELSE d.delivered_at END,
       last_status_code = CASE WHEN v.inc = 1 THEN v.code ELSE d.last_status_code END,
       last_error = CASE WHEN v.inc = 1 THEN v.err ELSE d.last_error END
FROM unnest($1::bigint[], $2::text[], $3::int[], $4::timestamptz[], $5::timestamptz[], $6::int[], $7::text[])
     AS v(id, status, inc, next, at, code, err)
WHERE d.id = v.id`
	webhookEndpointOKSQL     = `UPDATE webhook_endpoint SET failing_since = NULL WHERE id = ANY ($1::bigint[])`
	webhookEndpointFailedSQL = `UPDATE webhook_endpoint SET failing_since = coalesce(failing_since, $2) WHERE id = ANY ($1::bigint[])`
)

// ClaimWebhooks takes up to limit deliveries that are due, leaving out the
// endpoints in busy (this process is still sending to them), and leases
// them for webhookLease. Rows are claimed with SKIP LOCKED, so any number
// of instances share the work.
func (s *Store) ClaimWebhooks(ctx context.Context, limit int, busy []int64) ([]DueWebhook, error) {
	now := s.Now()
	var out []DueWebhook
	err := s.db.SelectContext(ctx, &out, claimWebhooksSQL, now, now.Add(WebhookLease), limit, pq.Int64Array(orNone(busy)))
	return out, err
}

// RecordWebhookOutcomes writes what the attempts came to, in one
// transaction: each attempt for the log; each delivery delivered, due again
// after its backoff, or given up after WebhookRetention; each endpoint's
// failing streak.
func (s *Store) RecordWebhookOutcomes(ctx context.Context, outcomes []WebhookOutcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	n := len(outcomes)
	var (
		aIDs                  []int64
		aAts                  []time.Time
		aCodes                []sql.NullInt64
		aLat                  []int64
		aResp, aErrs          []string
		dIDs                  = make([]int64, n)
		dStatus, dErrs        = make([]string, n), make([]string, n)
		dInc                  = make([]int64, n)
		dNext, dAt            = make([]time.Time, n), make([]time.Time, n)
		dCodes                = make([]sql.NullInt64, n)
		okEndpoints, failedEp []int64
	)
	for i, o := range outcomes {
		code := sql.NullInt64{Int64: int64(o.StatusCode), Valid: o.StatusCode != 0}
		dIDs[i], dAt[i], dCodes[i], dErrs[i] = o.DeliveryID, o.At, code, o.Err
		attempts := o.Attempts
		if !o.Deferred {
			attempts++
			dInc[i] = 1
			aIDs, aAts, aCodes = append(aIDs, o.DeliveryID), append(aAts, o.At), append(aCodes, code)
			aLat, aResp, aErrs = append(aLat, o.Latency.Milliseconds()), append(aResp, o.Response), append(aErrs, o.Err)
		}
		switch {
		case o.OK():
			dStatus[i], dNext[i] = "delivered", o.At
			okEndpoints = append(okEndpoints, o.EndpointID)
		case !o.At.Add(WebhookBackoff(max(attempts, 1))).Before(o.CreatedAt.Add(WebhookRetention)):
			dStatus[i], dNext[i] = "failed", o.At
			failedEp = append(failedEp, o.EndpointID)
		default:
			dStatus[i], dNext[i] = "pending", o.At.Add(WebhookBackoff(max(attempts, 1)))
			if !o.Deferred {
				failedEp = append(failedEp, o.EndpointID)
			}
		}
	}
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if len(aIDs) > 0 {
			if _, err := tx.ExecContext(ctx, insertWebhookAttemptsSQL, pq.Array(aIDs), pq.Array(aAts), pq.Array(aCodes),
				pq.Array(aLat), pq.Array(aResp), pq.Array(aErrs)); err != nil {
				return fmt.Errorf("webhook attempts: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, updateWebhookDeliveriesSQL, pq.Array(dIDs), pq.Array(dStatus), pq.Array(dInc),
			pq.Array(dNext), pq.Array(dAt), pq.Array(dCodes), pq.Array(dErrs)); err != nil {
			return fmt.Errorf("webhook deliveries: %w", err)
		}
		if len(okEndpoints) > 0 {
			if _, err := tx.ExecContext(ctx, webhookEndpointOKSQL, pq.Array(okEndpoints)); err != nil {
				return err
			}
		}
		if len(failedEp) > 0 {
			if _, err := tx.ExecContext(ctx, webhookEndpointFailedSQL, pq.Array(failedEp), outcomes[0].At); err != nil {
				return err
			}
		}
		return nil
	})
}

const (
	failingEndpointsSQL = `
SELECT ` + webhookEndpointColumns + ` FROM webhook_endpoint ep
WHERE ep.enabled AND ep.failing_since <= $1 FOR UPDATE SKIP LOCKED`
	operatorsSQL = `
SELECT email FROM staff_user WHERE disabled_at IS NULL AND role IN ('operator', 'admin') ORDER BY id`
	enqueueVendorMailSQL = `
INSERT INTO outbox (account_id, kind, to_address, subject, body, created_at, next_attempt_at)
VALUES (NULL, $1, $2, $3, $4, $5, $5)`
)

// DisableFailingWebhookEndpoints disables every endpoint that has failed
// without a success for WebhookRetention, and mails the operators (in the
// same transaction, through the outbox). It returns the endpoints disabled.
func (s *Store) DisableFailingWebhookEndpoints(ctx context.Context, consoleURL string) ([]WebhookEndpoint, error) {
	var out []WebhookEndpoint
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		now := s.Now()
		out = nil
		if err := tx.SelectContext(ctx, &out, failingEndpointsSQL, now.Add(-WebhookRetention)); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		var operators []string
		if err := tx.SelectContext(ctx, &operators, operatorsSQL); err != nil {
			return err
		}
		for _, ep := range out {
			reason := fmt.Sprintf("every delivery failed since %s", ep.FailingSince.Time.UTC().Format("2006-01-02 15:04 MST"))
			if err := setWebhookEnabled(ctx, tx, now, SystemActor("webhook dispatcher"), ep.ID, false, reason); err != nil {
				return err
			}
			body := fmt.Sprintf("The webhook endpoint %s (%s) was disabled: %s.\n\n"+
				"Nothing is lost: its events wait in the outbox. Fix the receiver, then enable the endpoint and replay "+
				"what it missed:\n%s/admin/webhooks/%d\n", ep.URL, ep.Description, reason, consoleURL, ep.ID)
			for _, to := range operators {
				if _, err := tx.ExecContext(ctx, enqueueVendorMailSQL, "webhook_endpoint_disabled", to,
					"Webhook endpoint disabled: "+ep.URL, body, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

// WebhookDelivery is one line of an endpoint's delivery log: the delivery
// and its latest attempt.
type WebhookDelivery struct {
	ID          int64          `db:"id"`
	EventID     int64          `db:"event_id"`
	MessageID   string         `db:"message_id"`
	Type        string         `db:"type"`
	AccountSlug sql.NullString `db:"account_slug"`
	Seq         int64          `db:"seq"`
	Status      string         `db:"status"`
	Attempts    int            `db:"attempts"`
	CreatedAt   time.Time      `db:"created_at"`
	NextAt      time.Time      `db:"next_attempt_at"`
	StatusCode  sql.NullInt64  `db:"status_code"`
	LatencyMS   sql.NullInt64  `db:"latency_ms"`
	Response    sql.NullString `db:"response"`
	Error       sql.NullString `db:"error"`
	AttemptedAt sql.NullTime   `db:"attempted_at"`
}

const webhookDeliveriesSQL = `
SELECT d.id, d.event_id, e.message_id, e.type, a.slug AS account_slug, e.seq, d.status, d.attempts, d.created_at,
       d.next_attempt_at, t.status_code, t.latency_ms, t.response, t.error, t.attempted_at
FROM webhook_delivery d
JOIN webhook_event e ON e.id = d.event_id
LEFT JOIN account a ON a.id = e.account_id
LEFT JOIN LATERAL (SELECT * FROM webhook_attempt t WHERE t.delivery_id = d.id ORDER BY t.id DESC LIMIT 1) t ON true
WHERE d.endpoint_id = $1 AND ($2 = '' OR d.status = $2)
ORDER BY d.id DESC LIMIT $3`

// WebhookDeliveries lists an endpoint's deliveries, newest first, each with
// its latest attempt; status filters (pending, delivered, failed) when set.
func (s *Store) WebhookDeliveries(ctx context.Context, endpointID int64, status string, limit int) ([]WebhookDelivery, error) {
	var out []WebhookDelivery
	err := s.db.SelectContext(ctx, &out, webhookDeliveriesSQL, endpointID, status, limit)
	return out, err
}

const (
	replayDeliverySQL = `
UPDATE webhook_delivery SET status = 'pending', next_attempt_at = $3, created_at = $3
WHERE id = $1 AND endpoint_id = $2`
	// Replaying since a time re-queues every event of the endpoint's types
	// since then, including events from before it was registered.
	replaySinceSQL = `
INSERT INTO webhook_delivery (event_id, endpoint_id, next_attempt_at, created_at)
SELECT e.id, ep.id, $3, $3 FROM webhook_event e JOIN webhook_endpoint ep ON ep.id = $1
WHERE e.created_at >= $2 AND e.account_id IS NOT NULL AND (cardinality(ep.event_types) = 0 OR e.type = ANY (ep.event_types))
ON CONFLICT (event_id, endpoint_id) DO UPDATE SET status = 'pending', next_attempt_at = $3, created_at = $3`
)

// ReplayWebhookDelivery sends one delivery again (with the same
// webhook-id, so receivers that saw it can tell).
func (s *Store) ReplayWebhookDelivery(ctx context.Context, actor Actor, endpointID, deliveryID int64) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		now := s.Now()
		res, err := tx.ExecContext(ctx, replayDeliverySQL, deliveryID, endpointID, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return audit(ctx, tx, now, AuditEvent{Actor: actor, Action: "webhook_delivery.replay", TargetType: "webhook_delivery",
			TargetID: itoa(deliveryID), After: map[string]any{"endpoint": endpointID}})
	})
}

// ReplayWebhooksSince queues again every event since a time for the
// endpoint, and returns how many.
func (s *Store) ReplayWebhooksSince(ctx context.Context, actor Actor, endpointID int64, since time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		now := s.Now()
		if _, err := s.WebhookEndpoint(ctx, endpointID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, replaySinceSQL, endpointID, since, now)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return audit(ctx, tx, now, AuditEvent{Actor: actor, Action: "webhook_delivery.replay_since", TargetType: "webhook_endpoint",
			TargetID: itoa(endpointID), After: map[string]any{"since": since, "queued": n}})
	})
	return int(n), err
}

const testDeliverySQL = `
INSERT INTO webhook_delivery (event_id, endpoint_id, next_attempt_at, created_at)
SELECT $1, $4::bigint, $3, $3 WHERE $2::text = 'webhook.test'`

// SendTestWebhook queues a webhook.test event for one endpoint only.
func (s *Store) SendTestWebhook(ctx context.Context, actor Actor, endpointID int64) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		now := s.Now()
		var ep WebhookEndpoint
		if err := tx.GetContext(ctx, &ep, webhookEndpointSQL, endpointID); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		data := map[string]any{"endpoint_id": ep.ID, "message": "A test event sent from the vendor console by " + actorLabel(actor)}
		return insertWebhookEventRow(ctx, tx, now, nil, 0, EventWebhookTest, data, testDeliverySQL, endpointID)
	})
}

const (
	pendingEntitlementsSQL = `SELECT account_id FROM webhook_entitlements_pending ORDER BY since LIMIT $1`
	takeEntitlementsSQL    = `DELETE FROM webhook_entitlements_pending WHERE account_id = $1`
)

// WriteEntitlementsEvents writes the entitlements.changed events that
// changes have marked, up to limit accounts: each carries the account's
// evaluated entitlements as they are now, after the changes, so a receiver
// needs no second call. It returns how many it wrote.
func (s *Store) WriteEntitlementsEvents(ctx context.Context, limit int) (int, error) {
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, pendingEntitlementsSQL, limit); err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		err := s.tx(ctx, func(tx *sqlx.Tx) error {
			// The audit lock first, as every change takes it before marking:
			// the change and this never wait on each other in opposite order.
			if _, err := tx.ExecContext(ctx, lockAuditChainSQL, auditLockClass, id); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, takeEntitlementsSQL, id)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 0 {
				return nil // another instance wrote it
			}
			data, err := s.webhookEntitlements(ctx, tx, id)
			if err != nil {
				return err
			}
			n++
			return emitWebhook(ctx, tx, s.Now(), id, EventEntitlementsChanged, data)
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// WebhookEntitlement is one feature's decision as entitlements.changed
// carries it (the API's check answer, account-level).
type WebhookEntitlement struct {
	Product string `json:"product"`
	Feature string `json:"feature"`
	Kind    string `json:"kind"`
	licensing.Decision
	Plan   *string `json:"plan"`
	Status *string `json:"status"`
}

func (s *Store) webhookEntitlements(ctx context.Context, tx *sqlx.Tx, accountID int64) (any, error) {
	state, err := s.accountState(ctx, tx, accountID, wholeState)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	list := []WebhookEntitlement{}
	for _, r := range licensing.NewChecker(state).CheckAll("", now) {
		e := WebhookEntitlement{Product: r.Product, Feature: r.Feature.Key, Kind: string(r.Feature.Kind), Decision: r.Decision}
		if r.Plan != nil {
			e.Plan = &r.Plan.Key
		}
		if r.Status != "" {
			st := string(r.Status)
			e.Status = &st
		}
		list = append(list, e)
	}
	return map[string]any{"evaluated_at": now, "entitlements": list}, nil
}
