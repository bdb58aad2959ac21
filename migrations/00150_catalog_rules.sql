-- +goose Up
-- Catalog rules that are not part of a plan version, so that changing them
-- reaches every subscriber at once: where a feature or a plan may be used
-- (an allow or a deny list of ISO 3166-1 alpha-2 codes; both empty means
-- everywhere), who is offered a plan (public, pilot, retired), and the
-- export controls that remove features, or a whole product, for countries.
ALTER TABLE feature ADD COLUMN regions_allow text[] NOT NULL DEFAULT '{}';
ALTER TABLE feature ADD COLUMN regions_deny text[] NOT NULL DEFAULT '{}';
ALTER TABLE plan ADD COLUMN visibility text NOT NULL DEFAULT 'public'
    CHECK (visibility IN ('public', 'pilot', 'retired'));
ALTER TABLE plan ADD COLUMN regions_allow text[] NOT NULL DEFAULT '{}';
ALTER TABLE plan ADD COLUMN regions_deny text[] NOT NULL DEFAULT '{}';

CREATE TABLE export_control (
    id         bigserial PRIMARY KEY,
    product_id bigint NOT NULL REFERENCES product (id),
    position   int NOT NULL,
    countries  text[] NOT NULL CHECK (cardinality(countries) > 0),
    features   text[] NOT NULL DEFAULT '{}',  -- empty: the whole product
    UNIQUE (product_id, position)
);

-- The accounts a pilot plan is offered to, added by operators.
CREATE TABLE plan_pilot_account (
    plan_id    bigint NOT NULL REFERENCES plan (id),
    account_id bigint NOT NULL REFERENCES account (id),
    added_by   text NOT NULL,
    added_at   timestamptz NOT NULL,
    PRIMARY KEY (plan_id, account_id)
);
CREATE INDEX plan_pilot_account_account_idx ON plan_pilot_account (account_id);

-- +goose Down
DROP TABLE plan_pilot_account;
DROP TABLE export_control;
ALTER TABLE plan DROP COLUMN regions_deny;
ALTER TABLE plan DROP COLUMN regions_allow;
ALTER TABLE plan DROP COLUMN visibility;
ALTER TABLE feature DROP COLUMN regions_deny;
ALTER TABLE feature DROP COLUMN regions_allow;
