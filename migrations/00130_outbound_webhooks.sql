-- +goose Up
-- Outbound webhooks: the vendor's endpoints, the events written in the
-- transaction of the change they describe (an outbox), one delivery per
-- event and endpoint, and every attempt for the console's delivery log.

CREATE TABLE webhook_endpoint (
    id                   bigserial PRIMARY KEY,
    url                  text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    description          text NOT NULL DEFAULT '',
    event_types          text[] NOT NULL DEFAULT '{}', -- empty: every type
    secret               text NOT NULL,                -- whsec_<base64>; needed to sign, shown once
    previous_secret      text,                         -- still signed with until previous_expires_at
    previous_expires_at  timestamptz,
    enabled              boolean NOT NULL DEFAULT true,
    disabled_reason      text NOT NULL DEFAULT '',
    failing_since        timestamptz,                  -- first failure since the last success
    created_by           text NOT NULL,
    created_at           timestamptz NOT NULL
);

-- Per-account sequence numbers, so receivers can order an account's events.
-- The account_id columns of these tables carry no foreign key on purpose:
-- they are written under the account's audit lock, and a key check would
-- take a share lock on the account row, which other transactions lock
-- before taking the audit lock (a deadlock). Accounts are never deleted.
CREATE TABLE webhook_sequence (
    account_id bigint PRIMARY KEY,
    last_seq   bigint NOT NULL
);

CREATE TABLE webhook_event (
    id          bigserial PRIMARY KEY,
    message_id  text NOT NULL UNIQUE, -- webhook-id: receivers de-duplicate by it
    account_id  bigint,               -- null: a test event
    seq         bigint NOT NULL,      -- 0 for a test event
    type        text NOT NULL,
    payload     jsonb NOT NULL,       -- the whole body as sent
    created_at  timestamptz NOT NULL,
    UNIQUE (account_id, seq)
);
CREATE INDEX webhook_event_created_idx ON webhook_event (created_at);

-- An account whose evaluated entitlements changed and whose
-- entitlements.changed event is still to be written (by the dispatcher,
-- which evaluates the state once for many changes in a row).
CREATE TABLE webhook_entitlements_pending (
    account_id bigint PRIMARY KEY,
    since      timestamptz NOT NULL
);

CREATE TABLE webhook_delivery (
    id               bigserial PRIMARY KEY,
    event_id         bigint NOT NULL REFERENCES webhook_event (id),
    endpoint_id      bigint NOT NULL REFERENCES webhook_endpoint (id),
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         int NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    delivered_at     timestamptz,
    last_status_code int,
    last_error       text NOT NULL DEFAULT '',
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_delivery_due_idx ON webhook_delivery (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_delivery_endpoint_idx ON webhook_delivery (endpoint_id, id DESC);

CREATE TABLE webhook_attempt (
    id           bigserial PRIMARY KEY,
    delivery_id  bigint NOT NULL REFERENCES webhook_delivery (id),
    attempted_at timestamptz NOT NULL,
    status_code  int,          -- null: no HTTP answer (refused, timeout, blocked address)
    latency_ms   int NOT NULL,
    response     text NOT NULL DEFAULT '', -- the first bytes of the answer
    error        text NOT NULL DEFAULT ''
);
CREATE INDEX webhook_attempt_delivery_idx ON webhook_attempt (delivery_id, id);

-- +goose Down
DROP TABLE webhook_attempt;
DROP TABLE webhook_delivery;
DROP TABLE webhook_entitlements_pending;
DROP TABLE webhook_event;
DROP TABLE webhook_sequence;
DROP TABLE webhook_endpoint;
