-- +goose Up
-- Members and seats: invitations (single-use, expiring, only a hash of the
-- token kept), the mail outbox, the account's invitation domain rules, the
-- auto-assign option per subscription, and the indexes that keep the members
-- page and the audit page fast for accounts with 10,000 members.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Invitation domain rules: empty means any address may be invited.
ALTER TABLE account ADD COLUMN invite_domains text[] NOT NULL DEFAULT '{}';

-- Give a free seat to each new member as they join.
ALTER TABLE subscription ADD COLUMN auto_assign boolean NOT NULL DEFAULT false;

CREATE TABLE invitation (
    id            bigserial PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES account (id),
    membership_id bigint NOT NULL,
    token_hash    bytea NOT NULL UNIQUE,
    invited_by    bigint REFERENCES app_user (id),
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    revoked_at    timestamptz,  -- a newer invitation or the member's removal replaced it
    FOREIGN KEY (account_id, membership_id) REFERENCES membership (account_id, id)
);
CREATE INDEX invitation_membership_idx ON invitation (account_id, membership_id);

-- Every mail is written here in the transaction that causes it; a worker
-- delivers it through SMTP when configured, else to the log, and marks it.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    account_id      bigint REFERENCES account (id),
    kind            text NOT NULL,
    to_address      text NOT NULL,
    subject         text NOT NULL,
    body            text NOT NULL,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    transport       text NOT NULL DEFAULT '' CHECK (transport IN ('', 'smtp', 'log')),
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX outbox_created_idx ON outbox (created_at DESC, id DESC);

-- The members page sorts by name (the address for people who have not set
-- one yet) with keyset pagination on (sort_key, user id), and searches names
-- and addresses by substring (trigram index). Both keys are stored generated
-- columns: computing lower() per row at query time costs more than the rest
-- of the page at 10,000 members.
ALTER TABLE app_user
    ADD COLUMN sort_key text GENERATED ALWAYS AS (lower(coalesce(nullif(name, ''), email))) STORED,
    ADD COLUMN search_text text GENERATED ALWAYS AS (lower(name || ' ' || email)) STORED;
CREATE INDEX app_user_sort_idx ON app_user (sort_key, id);
CREATE INDEX app_user_search_idx ON app_user USING gin (search_text gin_trgm_ops);
CREATE INDEX membership_account_status_idx ON membership (account_id, status, role);
CREATE INDEX seat_assignment_subscription_idx ON seat_assignment (subscription_id, assigned_at);

-- The audit page filters by action (and by date, served by the foundation's
-- (account_id, at, id) index).
CREATE INDEX audit_entry_account_action_idx ON audit_entry (account_id, action, at DESC, id DESC);
