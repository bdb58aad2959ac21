-- +goose Up
-- Insights (issue #9): each seat's last use (written in batches by the
-- entitlement API), the account's idle threshold and optional automatic
-- reclaim, and the daily snapshots the trend charts draw.

ALTER TABLE seat_assignment ADD COLUMN last_used_at timestamptz;

ALTER TABLE account
    ADD COLUMN idle_days int NOT NULL DEFAULT 30 CHECK (idle_days BETWEEN 1 AND 365),
    ADD COLUMN auto_reclaim_days int CHECK (auto_reclaim_days IS NULL OR auto_reclaim_days BETWEEN 1 AND 365);

-- One row per account, product and UTC day, written by the snapshot job
-- (`entitle insights snapshot`, and daily by serve); the charts read these,
-- never the events.
CREATE TABLE insights_snapshot (
    account_id bigint NOT NULL REFERENCES account (id),
    product_id bigint NOT NULL REFERENCES product (id),
    day        date NOT NULL,
    purchased  int NOT NULL,
    assigned   int NOT NULL,
    active     int NOT NULL,
    usage      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, product_id, day)
);
CREATE INDEX insights_snapshot_day_idx ON insights_snapshot (day);
