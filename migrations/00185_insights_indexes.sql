-- +goose Up
-- The insights figures join every seat of an account with its holder's
-- last sign-in on each load. These two indexes hold what the counts read,
-- both in membership order within the account, so that when the account is
-- a part of a table the join is a merge of two index-only range scans
-- rather than reads of both tables' pages (when one account is nearly the
-- whole table, a sequential scan stays cheaper and the planner takes it).
-- Seat last use is written in batches off the request path, so the HOT
-- updates this index costs on seat_assignment matter little.
CREATE INDEX seat_assignment_activity_idx ON seat_assignment (account_id, membership_id)
  INCLUDE (subscription_id, assigned_at, last_used_at);
CREATE INDEX membership_sign_in_idx ON membership (account_id, id) INCLUDE (user_id, last_sign_in_at);

-- +goose Down
DROP INDEX membership_sign_in_idx;
DROP INDEX seat_assignment_activity_idx;
