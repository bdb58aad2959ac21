-- +goose Up
-- Add-ons: sold on top of a plan, each with its own price. Not part of a
-- plan version: a change reaches the accounts holding one at once. An
-- add-on dropped from the catalog file is retired (no longer sold) and
-- stays for the accounts that hold it.
CREATE TABLE addon (
    id               bigserial PRIMARY KEY,
    product_id       bigint NOT NULL REFERENCES product (id),
    key              text NOT NULL,
    name             text NOT NULL,
    feature_id       bigint NOT NULL REFERENCES feature (id),
    quantity         bigint NOT NULL CHECK (quantity >= 0),   -- per unit; 0: switches a boolean feature on
    max_units        int NOT NULL CHECK (max_units >= 1),
    plans            text[] NOT NULL DEFAULT '{}',            -- empty: every plan it fits
    stripe_price_id  text NOT NULL,
    billing_interval text NOT NULL,
    unit_amount      bigint NOT NULL,
    currency         text NOT NULL,
    position         int NOT NULL,
    retired_at       timestamptz,
    UNIQUE (product_id, key)
);
CREATE INDEX addon_price_idx ON addon (stripe_price_id);

-- What a subscription holds, as its provider's events last said: an item
-- of the Stripe subscription per add-on, its quantity the units.
CREATE TABLE subscription_addon (
    account_id      bigint NOT NULL REFERENCES account (id),
    subscription_id bigint NOT NULL REFERENCES subscription (id),
    addon_id        bigint NOT NULL REFERENCES addon (id),
    units           int NOT NULL CHECK (units > 0),
    stripe_item_id  text NOT NULL DEFAULT '',
    added_at        timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (subscription_id, addon_id)
);
CREATE INDEX subscription_addon_account_idx ON subscription_addon (account_id);

-- The simulator's subscriptions carry their add-on items beside the plan's.
ALTER TABLE billing_sim_subscription ADD COLUMN addon_items jsonb NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE billing_sim_subscription DROP COLUMN addon_items;
DROP TABLE subscription_addon;
DROP TABLE addon;
