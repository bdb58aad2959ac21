-- +goose Up
-- Billing through Stripe (DESIGN.md, "How Stripe drives the database").

-- Two ordering guards per subscription: last_event_created (core) guards the
-- fields a subscription object carries; status_event_created guards the
-- status, which invoice events change too. Each field group takes the value
-- of the newest event that carries it, so any delivery order converges.
-- event_seq counts applied events: the portal's "pending" polls it.
ALTER TABLE subscription ADD COLUMN status_event_created timestamptz;
ALTER TABLE subscription ADD COLUMN event_seq bigint NOT NULL DEFAULT 0;

-- The inbox: failed_at parks an event (a permanent error, or too many
-- attempts) until an operator retries it; outcome says what applying did
-- (applied, skipped_older, ignored).
ALTER TABLE stripe_event ADD COLUMN failed_at timestamptz;
ALTER TABLE stripe_event ADD COLUMN outcome text NOT NULL DEFAULT '';
CREATE INDEX stripe_event_account_pending_idx ON stripe_event (account_id) WHERE processed_at IS NULL;
-- The worker claims the oldest due event, then more of the same account.
CREATE INDEX stripe_event_due_idx ON stripe_event (created, id) WHERE processed_at IS NULL AND failed_at IS NULL;
CREATE INDEX stripe_event_account_due_idx ON stripe_event (account_id, created, id)
    WHERE processed_at IS NULL AND failed_at IS NULL;

-- A trial is once per account and plan: recorded when Stripe says the
-- subscription is trialing on that plan.
CREATE TABLE billing_trial (
    account_id bigint NOT NULL REFERENCES account (id),
    plan_id    bigint NOT NULL REFERENCES plan (id),
    started_at timestamptz NOT NULL,
    event_id   text NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, plan_id)
);

-- The local billing simulator's own state: what Stripe would hold. Only the
-- simulator reads and writes these; the portal learns of changes through
-- the signed events it sends to /webhooks/stripe.
CREATE TABLE billing_sim_customer (
    id                   text PRIMARY KEY,
    account_id           bigint NOT NULL UNIQUE REFERENCES account (id),
    email                text NOT NULL DEFAULT '',
    has_payment_method   boolean NOT NULL DEFAULT false,
    payments_fail        boolean NOT NULL DEFAULT false,
    clock_offset_seconds bigint NOT NULL DEFAULT 0,  -- the simulated clock runs this far ahead
    created_at           timestamptz NOT NULL
);

CREATE TABLE billing_sim_subscription (
    id                      text PRIMARY KEY,
    account_id              bigint NOT NULL REFERENCES account (id),
    customer_id             text NOT NULL REFERENCES billing_sim_customer (id),
    price_id                text NOT NULL,
    quantity                int NOT NULL CHECK (quantity >= 0),
    status                  text NOT NULL,  -- Stripe's: trialing, active, past_due, unpaid, canceled
    trial_end               timestamptz,
    trial_fallback_price_id text NOT NULL DEFAULT '',
    current_period_start    timestamptz NOT NULL,
    current_period_end      timestamptz NOT NULL,
    cancel_at_period_end    boolean NOT NULL DEFAULT false,
    scheduled_price_id      text NOT NULL DEFAULT '',
    scheduled_quantity      int NOT NULL DEFAULT 0,
    last_event_created      timestamptz,
    created_at              timestamptz NOT NULL
);
CREATE INDEX billing_sim_subscription_customer_idx ON billing_sim_subscription (customer_id);

CREATE TABLE billing_sim_invoice (
    id              text PRIMARY KEY,
    account_id      bigint NOT NULL REFERENCES account (id),
    customer_id     text NOT NULL REFERENCES billing_sim_customer (id),
    subscription_id text NOT NULL,
    amount_due      bigint NOT NULL,
    currency        text NOT NULL,
    status          text NOT NULL CHECK (status IN ('open', 'paid', 'void')),
    billing_reason  text NOT NULL,
    attempts        int NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    paid_at         timestamptz
);
CREATE INDEX billing_sim_invoice_customer_idx ON billing_sim_invoice (customer_id, created_at);
