package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// WebhookEndpoint is one of the vendor's receivers of outbound webhooks.
type WebhookEndpoint struct {
	ID                int64          `db:"id"`
	URL               string         `db:"url"`
	Description       string         `db:"description"`
	EventTypes        pq.StringArray `db:"event_types"` // empty: every type
	Secret            string         `db:"secret"`
	PreviousSecret    sql.NullString `db:"previous_secret"`
	PreviousExpiresAt sql.NullTime   `db:"previous_expires_at"`
	Enabled           bool           `db:"enabled"`
	DisabledReason    string         `db:"disabled_reason"`
	FailingSince      sql.NullTime   `db:"failing_since"`
	CreatedBy         string         `db:"created_by"`
	CreatedAt         time.Time      `db:"created_at"`
	// Figures for the console's list.
	Pending   int `db:"pending"`
	Delivered int `db:"delivered"`
	Failed    int `db:"failed"`
}

// Secrets are the secrets deliveries are signed with at now: the current
// one, and the previous one during its overlap after a rotation.
func (ep WebhookEndpoint) Secrets(now time.Time) []string {
	out := []string{ep.Secret}
	if ep.PreviousSecret.Valid && ep.PreviousExpiresAt.Valid && now.Before(ep.PreviousExpiresAt.Time) {
		out = append(out, ep.PreviousSecret.String)
	}
	return out
}

// SecretHint is the start of the secret, so that people can tell secrets
// apart without it being shown again.
func (ep WebhookEndpoint) SecretHint() string { return ep.Secret[:min(len(ep.Secret), 10)] + "…" }

// Takes reports whether the endpoint subscribes to an event type.
func (ep WebhookEndpoint) Takes(typ string) bool {
	return len(ep.EventTypes) == 0 || slices.Contains(ep.EventTypes, typ)
}

// WebhookSecretOverlap is how long a rotated secret keeps signing.
const WebhookSecretOverlap = 24 * time.Hour

// WebhookEndpointInput is what an operator registers.
type WebhookEndpointInput struct {
	URL         string
	Description string
	EventTypes  []string // empty: every type
}

const (
	webhookEndpointColumns = `ep.id, ep.url, ep.description, ep.event_types, ep.secret, ep.previous_secret,
       ep.previous_expires_at, ep.enabled, ep.disabled_reason, ep.failing_since, ep.created_by, ep.created_at`
	webhookEndpointsSQL = `
SELECT ` + webhookEndpointColumns + `,
       count(d.id) FILTER (WHERE d.status = 'pending') AS pending,
       count(d.id) FILTER (WHERE d.status = 'delivered') AS delivered,
       count(d.id) FILTER (WHERE d.status = 'failed') AS failed
FROM webhook_endpoint ep LEFT JOIN webhook_delivery d ON d.endpoint_id = ep.id
GROUP BY ep.id ORDER BY ep.id`
	webhookEndpointSQL    = `SELECT ` + webhookEndpointColumns + ` FROM webhook_endpoint ep WHERE ep.id = $1`
	insertWebhookEndpoint = `
INSERT INTO webhook_endpoint (url, description, event_types, secret, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`
	setWebhookEnabledSQL = `
UPDATE webhook_endpoint SET enabled = $2, disabled_reason = $3, failing_since = CASE WHEN $2 THEN NULL ELSE failing_since END
WHERE id = $1`
	rotateWebhookSecretSQL = `
UPDATE webhook_endpoint SET previous_secret = secret, previous_expires_at = $3, secret = $2 WHERE id = $1`
)

// newWebhookSecret makes a Standard Webhooks secret: whsec_ and 32 random
// bytes in base64.
func newWebhookSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b), nil
}

// ValidateWebhookEndpoint checks an endpoint's fields (the address policy,
// https and private networks, is outbound's, checked before this).
func ValidateWebhookEndpoint(in WebhookEndpointInput) (WebhookEndpointInput, error) {
	in.URL, in.Description = strings.TrimSpace(in.URL), strings.TrimSpace(in.Description)
	problems := map[string]string{}
	if u, err := url.Parse(in.URL); in.URL == "" || err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		problems["url"] = "enter the full address of your receiver, such as https://example.com/webhooks/entitle"
	} else if u.User != nil {
		problems["url"] = "leave credentials out of the address; verify the signature instead"
	} else if len(in.URL) > 2000 {
		problems["url"] = "at most 2,000 characters"
	}
	if utf8.RuneCountInString(in.Description) > 200 {
		problems["description"] = "at most 200 characters"
	}
	var types []string
	for _, t := range in.EventTypes {
		if !slices.Contains(WebhookEventTypes, t) {
			problems["event_types"] = "unknown event type " + t
		} else if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	in.EventTypes = types
	if len(problems) > 0 {
		return in, &ValidationError{Fields: problems}
	}
	return in, nil
}

// CreateWebhookEndpoint registers an endpoint and returns it with its
// secret (shown to the operator once).
func (s *Store) CreateWebhookEndpoint(ctx context.Context, actor Actor, in WebhookEndpointInput) (WebhookEndpoint, error) {
	in, err := ValidateWebhookEndpoint(in)
	if err != nil {
		return WebhookEndpoint{}, err
	}
	secret, err := newWebhookSecret()
	if err != nil {
		return WebhookEndpoint{}, err
	}
	var ep WebhookEndpoint
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		now := s.Now()
		var id int64
		if err := tx.GetContext(ctx, &id, insertWebhookEndpoint, in.URL, in.Description, pq.StringArray(orEmpty(in.EventTypes)),
			secret, actorLabel(actor), now); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &ep, webhookEndpointSQL, id); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{Actor: actor, Action: "webhook_endpoint.create", TargetType: "webhook_endpoint",
			TargetID: itoa(id), After: map[string]any{"url": in.URL, "event_types": orEmpty(in.EventTypes)}})
	})
	return ep, err
}

// WebhookEndpoints lists every endpoint with its delivery counts.
func (s *Store) WebhookEndpoints(ctx context.Context) ([]WebhookEndpoint, error) {
	var out []WebhookEndpoint
	err := s.db.SelectContext(ctx, &out, webhookEndpointsSQL)
	return out, err
}

// WebhookEndpoint loads one endpoint.
func (s *Store) WebhookEndpoint(ctx context.Context, id int64) (WebhookEndpoint, error) {
	var ep WebhookEndpoint
	err := s.db.GetContext(ctx, &ep, webhookEndpointSQL, id)
	if errors.Is(err, sql.ErrNoRows) {
		return ep, ErrNotFound
	}
	return ep, err
}

// SetWebhookEndpointEnabled turns an endpoint on or off. Turned on again,
// its pending deliveries go out at once.
func (s *Store) SetWebhookEndpointEnabled(ctx context.Context, actor Actor, id int64, enabled bool, reason string) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		return setWebhookEnabled(ctx, tx, s.Now(), actor, id, enabled, reason)
	})
}

const dueNowSQL = `UPDATE webhook_delivery SET next_attempt_at = $2 WHERE endpoint_id = $1 AND status = 'pending'`

func setWebhookEnabled(ctx context.Context, tx *sqlx.Tx, now time.Time, actor Actor, id int64, enabled bool, reason string) error {
	var ep WebhookEndpoint
	err := tx.GetContext(ctx, &ep, webhookEndpointSQL+` FOR UPDATE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil || ep.Enabled == enabled {
		return err
	}
	if _, err := tx.ExecContext(ctx, setWebhookEnabledSQL, id, enabled, reason); err != nil {
		return err
	}
	if enabled {
		if _, err := tx.ExecContext(ctx, dueNowSQL, id, now); err != nil {
			return err
		}
	}
	action := "webhook_endpoint.disable"
	if enabled {
		action = "webhook_endpoint.enable"
	}
	return audit(ctx, tx, now, AuditEvent{Actor: actor, Action: action, TargetType: "webhook_endpoint", TargetID: itoa(id),
		After: map[string]any{"url": ep.URL, "reason": reason}})
}

// RotateWebhookSecret gives the endpoint a new secret and returns it (shown
// once). The old secret keeps signing, beside the new one, for
// WebhookSecretOverlap, so that receivers can switch without losing events.
func (s *Store) RotateWebhookSecret(ctx context.Context, actor Actor, id int64) (string, error) {
	secret, err := newWebhookSecret()
	if err != nil {
		return "", err
	}
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		now := s.Now()
		res, err := tx.ExecContext(ctx, rotateWebhookSecretSQL, id, secret, now.Add(WebhookSecretOverlap))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return audit(ctx, tx, now, AuditEvent{Actor: actor, Action: "webhook_endpoint.rotate_secret",
			TargetType: "webhook_endpoint", TargetID: itoa(id),
			After: map[string]any{"previous_valid_until": now.Add(WebhookSecretOverlap)}})
	})
	return secret, err
}
