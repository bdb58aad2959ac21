-- +goose Up
-- The front door: sign-up, password reset and staff set-password links
-- (single use, expiring, only a hash of the token kept); where each session
-- was started from, for "sign out the others"; TOTP two-factor for staff
-- and customers with hashed recovery codes.

CREATE TABLE email_token (
    id         bigserial PRIMARY KEY,
    purpose    text NOT NULL CHECK (purpose IN ('signup', 'password_reset', 'staff_password')),
    email      text NOT NULL,
    user_id    bigint REFERENCES app_user (id),
    staff_id   bigint REFERENCES staff_user (id),
    token_hash bytea NOT NULL UNIQUE,
    payload    jsonb NOT NULL DEFAULT '{}',  -- sign-up: name, company, plan, password hash
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX email_token_email_idx ON email_token (purpose, lower(email));

ALTER TABLE web_session
    ADD COLUMN ip         text NOT NULL DEFAULT '',
    ADD COLUMN user_agent text NOT NULL DEFAULT '';
CREATE INDEX web_session_person_idx ON web_session (user_id);

-- A staff member invited from the console or made with `entitle staff
-- create` has no password until they follow their link ('' never matches).
ALTER TABLE staff_user ALTER COLUMN password_hash SET DEFAULT '';

-- TOTP: the shared secret (base32) once enrolment is confirmed, and the last
-- time step a code was accepted in, so a code cannot be used twice.
ALTER TABLE staff_user
    ADD COLUMN totp_secret     text NOT NULL DEFAULT '',
    ADD COLUMN totp_enabled_at timestamptz,
    ADD COLUMN totp_last_step  bigint NOT NULL DEFAULT 0;
ALTER TABLE app_user
    ADD COLUMN totp_secret     text NOT NULL DEFAULT '',
    ADD COLUMN totp_enabled_at timestamptz,
    ADD COLUMN totp_last_step  bigint NOT NULL DEFAULT 0;

CREATE TABLE recovery_code (
    id        bigserial PRIMARY KEY,
    staff_id  bigint REFERENCES staff_user (id),
    user_id   bigint REFERENCES app_user (id),
    code_hash bytea NOT NULL,
    used_at   timestamptz,
    CHECK ((staff_id IS NULL) <> (user_id IS NULL))
);
CREATE INDEX recovery_code_staff_idx ON recovery_code (staff_id);
CREATE INDEX recovery_code_user_idx ON recovery_code (user_id);

-- +goose Down
DROP TABLE recovery_code;
ALTER TABLE app_user DROP COLUMN totp_secret, DROP COLUMN totp_enabled_at, DROP COLUMN totp_last_step;
ALTER TABLE staff_user DROP COLUMN totp_secret, DROP COLUMN totp_enabled_at, DROP COLUMN totp_last_step;
ALTER TABLE staff_user ALTER COLUMN password_hash DROP DEFAULT;
DROP INDEX web_session_person_idx;
ALTER TABLE web_session DROP COLUMN ip, DROP COLUMN user_agent;
DROP TABLE email_token;
