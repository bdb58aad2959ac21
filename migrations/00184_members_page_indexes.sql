-- +goose Up
-- The members page shows the latest pending invitations and their count on
-- every load: this index answers both from one range, newest first, so the
-- page reads ten entries whatever the number of open invitations. It
-- replaces membership_pending_idx, which ordered them by user and made the
-- page read every open invitation to pick the latest.
CREATE INDEX membership_pending_recent_idx ON membership (account_id, created_at DESC, id DESC) INCLUDE (user_id, role)
  WHERE status = 'invited' AND source = 'manual';
DROP INDEX membership_pending_idx;

-- Searching members finds users by name or address first (trigram index),
-- then each user's membership in this account: one probe on both keys. It
-- carries what the list and its count read of a membership, so the probes
-- are index-only; without that the planner reads the account's every
-- membership instead (a sequential scan, ~5x slower for a 10,000-member
-- account). The price: a sign-in's last_sign_in_at update is no longer a
-- HOT update. Its leading column serves every lookup of a user's
-- memberships, so membership_user_idx is redundant.
CREATE INDEX membership_user_account_idx ON membership (user_id, account_id)
  INCLUDE (id, status, role, source, last_sign_in_at);
DROP INDEX membership_user_idx;

-- +goose Down
CREATE INDEX membership_user_idx ON membership (user_id);
DROP INDEX membership_user_account_idx;
CREATE INDEX membership_pending_idx ON membership (account_id, user_id) INCLUDE (id, role, created_at)
  WHERE status = 'invited' AND source = 'manual';
DROP INDEX membership_pending_recent_idx;
