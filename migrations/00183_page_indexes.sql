-- +goose Up
-- The members page lists an account's open invitations on every load: this
-- index answers them (with what the list shows of the membership) without
-- reading the table's pages of active members.
CREATE INDEX membership_pending_idx ON membership (account_id, user_id) INCLUDE (id, role, created_at)
  WHERE status = 'invited' AND source = 'manual';

-- +goose Down
DROP INDEX membership_pending_idx;
