-- +goose Up
-- Promotion codes of the catalog (the local billing simulator's; with Stripe
-- the codes are Stripe's). A code removed from the catalog file is made
-- inactive, not deleted: its redemptions point at it.
CREATE TABLE promotion (
    id              bigserial PRIMARY KEY,
    product_id      bigint NOT NULL REFERENCES product (id),
    code            text NOT NULL UNIQUE CHECK (code = upper(code)),
    percent_off     int NOT NULL DEFAULT 0 CHECK (percent_off BETWEEN 0 AND 100),
    amount_off      bigint NOT NULL DEFAULT 0 CHECK (amount_off >= 0),
    currency        text NOT NULL DEFAULT '',
    duration        text NOT NULL CHECK (duration IN ('once', 'repeating', 'forever')),
    duration_months int NOT NULL DEFAULT 0,
    expires_on      date,            -- the last day the code is accepted (UTC)
    max_redemptions int NOT NULL DEFAULT 0,  -- 0: no cap
    plans           text[] NOT NULL DEFAULT '{}',  -- empty: every plan of the product
    active          boolean NOT NULL DEFAULT true,
    times_redeemed  int NOT NULL DEFAULT 0 CHECK (times_redeemed >= 0)
);

-- One redemption per account and code: a double click or a retried request
-- cannot count twice.
CREATE TABLE promotion_redemption (
    promotion_id bigint NOT NULL REFERENCES promotion (id),
    account_id   bigint NOT NULL REFERENCES account (id),
    plan_key     text NOT NULL,
    redeemed_at  timestamptz NOT NULL,
    PRIMARY KEY (promotion_id, account_id)
);

-- The simulator keeps a subscription's discount as Stripe keeps its coupon:
-- the terms as they were when applied, and when they stop (repeating).
ALTER TABLE billing_sim_subscription
    ADD COLUMN discount_code        text NOT NULL DEFAULT '',
    ADD COLUMN discount_percent_off int NOT NULL DEFAULT 0,
    ADD COLUMN discount_amount_off  bigint NOT NULL DEFAULT 0,
    ADD COLUMN discount_currency    text NOT NULL DEFAULT '',
    ADD COLUMN discount_duration    text NOT NULL DEFAULT '',
    ADD COLUMN discount_end         timestamptz;
-- An invoice's amount_due is after the discount; the discount is its own line.
ALTER TABLE billing_sim_invoice
    ADD COLUMN discount_code   text NOT NULL DEFAULT '',
    ADD COLUMN discount_amount bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE billing_sim_invoice DROP COLUMN discount_code, DROP COLUMN discount_amount;
ALTER TABLE billing_sim_subscription DROP COLUMN discount_code, DROP COLUMN discount_percent_off,
    DROP COLUMN discount_amount_off, DROP COLUMN discount_currency, DROP COLUMN discount_duration,
    DROP COLUMN discount_end;
DROP TABLE promotion_redemption;
DROP TABLE promotion;
