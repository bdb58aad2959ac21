-- +goose Up
-- The vendor console: support impersonation, grants, failed
-- webhook events, the mail outbox, the global audit log, staff disabling.

-- An impersonation belongs to the staff member's own console session: the
-- staff cookie is never replaced, its session row points at the active
-- impersonation, and ending it returns the staff member where they were.
ALTER TABLE web_session ADD COLUMN impersonation_id bigint REFERENCES impersonation_session (id);
CREATE INDEX web_session_impersonation_idx ON web_session (impersonation_id) WHERE impersonation_id IS NOT NULL;

ALTER TABLE impersonation_session
    ADD COLUMN return_to text NOT NULL DEFAULT '/admin',
    ADD COLUMN end_reason text NOT NULL DEFAULT ''
        CHECK (end_reason IN ('', 'ended', 'expired', 'replaced', 'signed_out', 'staff_disabled'));
CREATE INDEX impersonation_session_active_idx ON impersonation_session (staff_id) WHERE ended_at IS NULL;

-- The console lists failed inbox rows without scanning the processed ones.
CREATE INDEX stripe_event_failed_idx ON stripe_event (received_at DESC)
    WHERE processed_at IS NULL AND last_error <> '';
CREATE INDEX stripe_event_account_idx ON stripe_event (account_id, created DESC);

