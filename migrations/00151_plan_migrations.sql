-- +goose Up
-- Moving subscribers of a plan onto another of its versions, with notice:
-- one row per move, one row per account moved. The owners are mailed at
-- notify_at; the move happens at effective_at (through the billing provider
-- when the price changes, in place otherwise). outcome says what happened.
CREATE TABLE plan_migration (
    id            bigserial PRIMARY KEY,
    plan_id       bigint NOT NULL REFERENCES plan (id),
    to_version_id bigint NOT NULL REFERENCES plan_version (id),
    at_period_end boolean NOT NULL,
    notice_days   int NOT NULL CHECK (notice_days >= 0),
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE plan_migration_account (
    migration_id    bigint NOT NULL REFERENCES plan_migration (id),
    account_id      bigint NOT NULL REFERENCES account (id),
    subscription_id bigint NOT NULL,
    from_version_id bigint NOT NULL REFERENCES plan_version (id),
    notify_at       timestamptz NOT NULL,
    effective_at    timestamptz NOT NULL,
    notified_at     timestamptz,
    done_at         timestamptz,
    outcome         text NOT NULL DEFAULT '' CHECK (outcome IN ('', 'moved', 'sent_to_provider', 'skipped')),
    PRIMARY KEY (migration_id, account_id),
    FOREIGN KEY (account_id, subscription_id) REFERENCES subscription (account_id, id)
);
-- One move waiting per subscription at a time.
CREATE UNIQUE INDEX plan_migration_account_waiting_idx ON plan_migration_account (subscription_id) WHERE done_at IS NULL;
CREATE INDEX plan_migration_account_due_idx ON plan_migration_account (notify_at, effective_at) WHERE done_at IS NULL;

-- +goose Down
DROP TABLE plan_migration_account;
DROP TABLE plan_migration;
