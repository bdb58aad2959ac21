-- +goose Up
-- Alerts before anyone hits a wall: customer admins are mailed (and the
-- vendor gets a webhook) when metered usage reaches 80% and 100% of its
-- limit, when a seat pool is full with people waiting, and when a trial
-- ends in 3 days. Each alert goes once per period and threshold; each
-- person can switch them off for an account.
ALTER TABLE membership ADD COLUMN alerts boolean NOT NULL DEFAULT true;

-- No foreign key on account_id: rows are written under the account's audit
-- lock (see 00130).
CREATE TABLE alert_sent (
    account_id bigint NOT NULL,
    kind       text NOT NULL,  -- usage_threshold, seat_pool_full, trial_ending
    subject    text NOT NULL,  -- feature:threshold, or the subscription id
    period     text NOT NULL,  -- the usage period's start, the billing period's end, the trial's end
    sent_at    timestamptz NOT NULL,
    PRIMARY KEY (account_id, kind, subject, period)
);

-- +goose Down
DROP TABLE alert_sent;
ALTER TABLE membership DROP COLUMN alerts;
