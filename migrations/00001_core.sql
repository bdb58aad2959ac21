-- +goose Up
-- The core domain model (DESIGN.md, "Domain model"). Every tenant-owned row
-- carries account_id, so every query can be scoped by it and a sharded
-- PostgreSQL can distribute by it.

-- Catalog: vendor data loaded by `entitle catalog apply`.
CREATE TABLE product (
    id         bigserial PRIMARY KEY,
    key        text NOT NULL UNIQUE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE feature (
    id         bigserial PRIMARY KEY,
    product_id bigint NOT NULL REFERENCES product (id),
    key        text NOT NULL,
    name       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('boolean', 'limit', 'metered')),
    period     text NOT NULL DEFAULT '' CHECK (period IN ('', 'day', 'month', 'year')),
    position   int NOT NULL DEFAULT 0,
    UNIQUE (product_id, key)
);

CREATE TABLE plan (
    id         bigserial PRIMARY KEY,
    product_id bigint NOT NULL REFERENCES product (id),
    key        text NOT NULL,
    UNIQUE (product_id, key)
);

-- A plan's content lives in versions: changing a plan that has subscribers
-- creates a new version, and subscribers keep theirs until moved.
CREATE TABLE plan_version (
    id          bigserial PRIMARY KEY,
    plan_id     bigint NOT NULL REFERENCES plan (id),
    version     int NOT NULL,
    name        text NOT NULL,
    rank        int NOT NULL,
    seat_based  boolean NOT NULL,
    trial_days  int NOT NULL DEFAULT 0,
    fingerprint text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (plan_id, version)
);

CREATE TABLE plan_price (
    id              bigserial PRIMARY KEY,
    plan_version_id bigint NOT NULL REFERENCES plan_version (id),
    stripe_price_id text NOT NULL,
    billing_interval text NOT NULL CHECK (billing_interval IN ('month', 'year')),
    unit_amount     bigint NOT NULL,
    currency        text NOT NULL
);
CREATE INDEX plan_price_stripe_idx ON plan_price (stripe_price_id);

CREATE TABLE plan_feature (
    plan_version_id bigint NOT NULL REFERENCES plan_version (id),
    feature_id      bigint NOT NULL REFERENCES feature (id),
    enabled         boolean NOT NULL,
    limit_value     bigint,  -- NULL: unlimited
    PRIMARY KEY (plan_version_id, feature_id)
);

-- Tenants.
CREATE TABLE account (
    id                 bigserial PRIMARY KEY,
    slug               text NOT NULL UNIQUE,
    name               text NOT NULL,
    stripe_customer_id text UNIQUE,
    support_access     boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE app_user (
    id            bigserial PRIMARY KEY,
    email         text NOT NULL,
    name          text NOT NULL DEFAULT '',
    password_hash text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX app_user_email_idx ON app_user (lower(email));

CREATE TABLE membership (
    id              bigserial PRIMARY KEY,
    account_id      bigint NOT NULL REFERENCES account (id),
    user_id         bigint NOT NULL REFERENCES app_user (id),
    role            text NOT NULL CHECK (role IN ('owner', 'admin', 'billing', 'member')),
    status          text NOT NULL CHECK (status IN ('invited', 'active', 'deactivated')),
    source          text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'scim')),
    last_sign_in_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, user_id),
    UNIQUE (account_id, id)
);
CREATE INDEX membership_user_idx ON membership (user_id);

CREATE TABLE subscription (
    id                        bigserial PRIMARY KEY,
    account_id                bigint NOT NULL REFERENCES account (id),
    product_id                bigint NOT NULL REFERENCES product (id),
    plan_version_id           bigint NOT NULL REFERENCES plan_version (id),
    status                    text NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'suspended', 'canceled')),
    seats                     int NOT NULL DEFAULT 0 CHECK (seats >= 0),
    trial_ends_at             timestamptz,
    past_due_since            timestamptz,
    current_period_end        timestamptz,
    cancel_at_period_end      boolean NOT NULL DEFAULT false,
    scheduled_plan_version_id bigint REFERENCES plan_version (id),
    scheduled_seats           int,
    stripe_subscription_id    text UNIQUE,
    last_event_created        timestamptz,  -- Stripe `created` of the last applied event: the ordering guard
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, product_id),
    UNIQUE (account_id, id)
);

-- Assigned <= purchased is held by the assigning transaction, which locks the
-- subscription row and counts inside the lock.
CREATE TABLE seat_assignment (
    id              bigserial PRIMARY KEY,
    account_id      bigint NOT NULL REFERENCES account (id),
    subscription_id bigint NOT NULL,
    membership_id   bigint NOT NULL,
    assigned_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (account_id, subscription_id) REFERENCES subscription (account_id, id),
    FOREIGN KEY (account_id, membership_id) REFERENCES membership (account_id, id),
    UNIQUE (subscription_id, membership_id)
);
CREATE INDEX seat_assignment_membership_idx ON seat_assignment (account_id, membership_id);

-- Vendor-made overrides.
CREATE TABLE entitlement_grant (
    id          bigserial PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES account (id),
    kind        text NOT NULL CHECK (kind IN ('feature', 'extra_limit', 'extra_seats')),
    feature_id  bigint REFERENCES feature (id),
    product_id  bigint REFERENCES product (id),
    enabled     boolean NOT NULL DEFAULT true,
    amount      bigint NOT NULL DEFAULT 0,
    reason      text NOT NULL,
    expires_at  timestamptz,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX entitlement_grant_account_idx ON entitlement_grant (account_id);

-- Metered usage, idempotent per key.
CREATE TABLE usage_event (
    id              bigserial PRIMARY KEY,
    account_id      bigint NOT NULL REFERENCES account (id),
    feature_id      bigint NOT NULL REFERENCES feature (id),
    quantity        bigint NOT NULL CHECK (quantity > 0),
    idempotency_key text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, idempotency_key)
);
CREATE INDEX usage_event_period_idx ON usage_event (account_id, feature_id, occurred_at);

-- The Stripe inbox: an event is stored once by id, then applied by a worker.
CREATE TABLE stripe_event (
    id              text PRIMARY KEY,
    type            text NOT NULL,
    api_version     text NOT NULL DEFAULT '',
    account_id      bigint REFERENCES account (id),
    created         timestamptz NOT NULL,
    payload         jsonb NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    processed_at    timestamptz,
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text NOT NULL DEFAULT ''
);
CREATE INDEX stripe_event_pending_idx ON stripe_event (next_attempt_at) WHERE processed_at IS NULL;

-- Vendor staff and support impersonation.
CREATE TABLE staff_user (
    id            bigserial PRIMARY KEY,
    email         text NOT NULL,
    name          text NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('support', 'support_admin', 'operator', 'admin')),
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX staff_user_email_idx ON staff_user (lower(email));

CREATE TABLE impersonation_session (
    id         bigserial PRIMARY KEY,
    staff_id   bigint NOT NULL REFERENCES staff_user (id),
    account_id bigint NOT NULL REFERENCES account (id),
    reason     text NOT NULL CHECK (reason <> ''),
    mode       text NOT NULL CHECK (mode IN ('read', 'write')),
    started_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    ended_at   timestamptz
);
CREATE INDEX impersonation_session_account_idx ON impersonation_session (account_id);

-- Server-side sessions: the cookie holds a random id, the table its hash, so a
-- removed member or a disabled staff user is signed out on their next request.
CREATE TABLE web_session (
    id_hash      bytea PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('customer', 'staff')),
    user_id      bigint REFERENCES app_user (id),
    account_id   bigint REFERENCES account (id),
    staff_id     bigint REFERENCES staff_user (id),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    CHECK ((kind = 'customer' AND user_id IS NOT NULL AND account_id IS NOT NULL)
        OR (kind = 'staff' AND staff_id IS NOT NULL))
);
CREATE INDEX web_session_user_idx ON web_session (account_id, user_id);
CREATE INDEX web_session_staff_idx ON web_session (staff_id);

-- Failed sign-ins, kept in the database so that every instance slows down the
-- same attacker.
CREATE TABLE login_failure (
    id        bigserial PRIMARY KEY,
    key       text NOT NULL,  -- 'email:<lower email>' or 'ip:<address>'
    failed_at timestamptz NOT NULL
);
CREATE INDEX login_failure_key_idx ON login_failure (key, failed_at);

-- The audit log: append-only and hash-chained per account (account_id 0 is
-- the vendor's own chain). Each row's hash covers the previous row's hash and
-- its own content, so an edit anywhere breaks every later link.
CREATE TABLE audit_entry (
    id           bigserial PRIMARY KEY,
    account_id   bigint NOT NULL DEFAULT 0,
    seq          bigint NOT NULL,
    at           timestamptz NOT NULL,
    actor_type   text NOT NULL,   -- user, staff, stripe, scim, system
    actor_id     text NOT NULL DEFAULT '',
    actor_label  text NOT NULL DEFAULT '',
    impersonator text NOT NULL DEFAULT '',
    action       text NOT NULL,
    target_type  text NOT NULL DEFAULT '',
    target_id    text NOT NULL DEFAULT '',
    before       jsonb,
    after        jsonb,
    prev_hash    text NOT NULL,
    hash         text NOT NULL,
    UNIQUE (account_id, seq)
);
CREATE INDEX audit_entry_account_at_idx ON audit_entry (account_id, at DESC, id DESC);

-- +goose StatementBegin
CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_entry_no_update BEFORE UPDATE OR DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only();
