-- +goose Up
-- The insights figures read every seat of an account with its holder's
-- last sign-in on each load: these two indexes carry what the counts need,
-- so both sides are read from the indexes (index-only scans) rather than the
-- tables' pages. Seat last use is written in batches off the request path,
-- so the lost HOT updates on seat_assignment cost little.
CREATE INDEX seat_assignment_activity_idx ON seat_assignment (account_id, subscription_id)
  INCLUDE (membership_id, assigned_at, last_used_at);
CREATE INDEX membership_sign_in_idx ON membership (account_id, id) INCLUDE (user_id, last_sign_in_at);

-- +goose Down
DROP INDEX membership_sign_in_idx;
DROP INDEX seat_assignment_activity_idx;
