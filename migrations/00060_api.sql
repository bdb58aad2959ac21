-- +goose Up
-- The entitlement API for vendors' applications: API keys per
-- account, the Ed25519 keys that sign offline licences, and which API key
-- reported each usage event.

-- An API key is shown once; only its SHA-256 is kept, with a visible prefix
-- so people can tell keys apart.
CREATE TABLE api_key (
    id           bigserial PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES account (id),
    name         text NOT NULL CHECK (name <> ''),
    prefix       text NOT NULL UNIQUE,
    hash         bytea NOT NULL UNIQUE,
    scopes       text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['check', 'usage', 'license']),
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,  -- written in batches, off the request path
    revoked_at   timestamptz,
    UNIQUE (account_id, id)
);
CREATE INDEX api_key_account_idx ON api_key (account_id, created_at DESC);

-- Licence signing keys. The newest key that is not retired signs; every key
-- not retired verifies, so a rotation does not invalidate licences already
-- issued. private_key is the 64-byte Ed25519 key, or, when sealed, that key
-- encrypted with AES-256-GCM under SIGNING_KEY_SECRET (nonce first).
CREATE TABLE signing_key (
    id          text PRIMARY KEY,
    algorithm   text NOT NULL DEFAULT 'ed25519' CHECK (algorithm = 'ed25519'),
    public_key  bytea NOT NULL CHECK (length(public_key) = 32),
    private_key bytea NOT NULL,
    sealed      boolean NOT NULL,
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz
);

-- Usage events are their own append-only ledger (one row per idempotency
-- key); this records which key reported each.
ALTER TABLE usage_event ADD COLUMN api_key_id bigint,
    ADD FOREIGN KEY (account_id, api_key_id) REFERENCES api_key (account_id, id);
