-- +goose Up
-- Software that runs on devices: floating licences (a plan's concurrent
-- feature is a pool of leases) and node-locked machines (a plan's machines
-- feature caps activations per seat holder or per account).
ALTER TABLE feature DROP CONSTRAINT feature_kind_check;
ALTER TABLE feature ADD CONSTRAINT feature_kind_check
    CHECK (kind IN ('boolean', 'limit', 'metered', 'concurrent', 'machines'));
ALTER TABLE feature ADD COLUMN lease_ttl_seconds int NOT NULL DEFAULT 0 CHECK (lease_ttl_seconds >= 0);
ALTER TABLE feature ADD COLUMN machines_per text NOT NULL DEFAULT '' CHECK (machines_per IN ('', 'seat', 'account'));

-- A lease holds one slot of a concurrent feature's pool until it is checked
-- in, force-released, or expires (expires_at passed without a heartbeat).
-- A lease is active while released_at IS NULL AND expires_at > now; a
-- checkout marks the expired ones released (reason 'expired') under the
-- pool's lock, so a late heartbeat can never revive a slot already handed
-- out again.
CREATE TABLE lease (
    id             bigserial PRIMARY KEY,
    account_id     bigint NOT NULL REFERENCES account (id),
    feature_id     bigint NOT NULL REFERENCES feature (id),
    token          text NOT NULL UNIQUE,
    user_ref       text NOT NULL DEFAULT '',
    machine        text NOT NULL DEFAULT '',
    ttl_seconds    int NOT NULL CHECK (ttl_seconds > 0),
    checked_out_at timestamptz NOT NULL,
    heartbeat_at   timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    released_at    timestamptz,
    release_reason text CHECK (release_reason IN ('checked_in', 'forced', 'expired')),
    released_by    text NOT NULL DEFAULT ''
);
CREATE INDEX lease_live_idx ON lease (account_id, feature_id, expires_at) WHERE released_at IS NULL;
CREATE INDEX lease_history_idx ON lease (account_id, feature_id, checked_out_at);

-- Checkouts refused because the pool was full, per day: the figure that
-- tells a customer the pool is too small.
CREATE TABLE lease_denial (
    account_id bigint NOT NULL REFERENCES account (id),
    feature_id bigint NOT NULL REFERENCES feature (id),
    day        date NOT NULL,
    denials    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, feature_id, day)
);

-- An activated machine. Only the fingerprint's hash is kept. One active
-- activation per fingerprint, feature and account.
CREATE TABLE machine (
    id               bigserial PRIMARY KEY,
    account_id       bigint NOT NULL REFERENCES account (id),
    feature_id       bigint NOT NULL REFERENCES feature (id),
    public_id        text NOT NULL UNIQUE,
    fingerprint_hash text NOT NULL,
    name             text NOT NULL,
    platform         text NOT NULL DEFAULT '',
    membership_id    bigint,
    activated_at     timestamptz NOT NULL,
    activated_by     text NOT NULL,
    last_seen_at     timestamptz NOT NULL,
    deactivated_at   timestamptz,
    deactivated_by   text NOT NULL DEFAULT '',
    FOREIGN KEY (account_id, membership_id) REFERENCES membership (account_id, id)
);
CREATE UNIQUE INDEX machine_active_fingerprint_key ON machine (account_id, feature_id, fingerprint_hash)
    WHERE deactivated_at IS NULL;
CREATE INDEX machine_account_idx ON machine (account_id, feature_id) WHERE deactivated_at IS NULL;

-- +goose Down
DROP TABLE machine;
DROP TABLE lease_denial;
DROP TABLE lease;
ALTER TABLE feature DROP COLUMN machines_per;
ALTER TABLE feature DROP COLUMN lease_ttl_seconds;
ALTER TABLE feature DROP CONSTRAINT feature_kind_check;
ALTER TABLE feature ADD CONSTRAINT feature_kind_check CHECK (kind IN ('boolean', 'limit', 'metered'));
