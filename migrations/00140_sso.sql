-- +goose Up
-- Single sign-on through a customer's own OpenID provider: the account's
-- provider settings (the client secret sealed when SIGNING_KEY_SECRET is
-- set), the email domains it claims, the people linked by (issuer, subject),
-- the sign-ins on their way to the provider, and refused callbacks.

CREATE TABLE sso_config (
    account_id       bigint PRIMARY KEY REFERENCES account (id),
    issuer           text NOT NULL CHECK (issuer <> ''),
    client_id        text NOT NULL CHECK (client_id <> ''),
    client_secret    bytea NOT NULL,
    secret_sealed    boolean NOT NULL DEFAULT false,
    default_role     text NOT NULL DEFAULT 'member' CHECK (default_role IN ('admin', 'billing', 'member')),
    require_sso      boolean NOT NULL DEFAULT false,
    -- the one owner who may still sign in with a password under "require SSO"
    break_glass_id   bigint,
    -- the period end of the downgrade the owners were told about, so that
    -- they are told once per downgrade
    downgrade_notice timestamptz,
    updated_at       timestamptz NOT NULL,
    FOREIGN KEY (account_id, break_glass_id) REFERENCES membership (account_id, id)
);

-- A domain is claimed once verified (DNS TXT record or a vendor operator);
-- any number of accounts may ask for one, but only one account holds it.
CREATE TABLE sso_domain (
    id          bigserial PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES account (id),
    domain      text NOT NULL CHECK (domain = lower(domain) AND domain <> ''),
    token       text NOT NULL,
    created_at  timestamptz NOT NULL,
    verified_at timestamptz,
    verified_by text NOT NULL DEFAULT '',
    UNIQUE (account_id, domain)
);
CREATE UNIQUE INDEX sso_domain_claimed_idx ON sso_domain (domain) WHERE verified_at IS NOT NULL;

-- A person as the provider knows them: linked by (issuer, subject), never by
-- email alone.
CREATE TABLE sso_identity (
    account_id      bigint NOT NULL,
    membership_id   bigint NOT NULL,
    issuer          text NOT NULL,
    subject         text NOT NULL,
    created_at      timestamptz NOT NULL,
    last_sign_in_at timestamptz,
    PRIMARY KEY (account_id, issuer, subject),
    FOREIGN KEY (account_id, membership_id) REFERENCES membership (account_id, id)
);
CREATE INDEX sso_identity_membership_idx ON sso_identity (account_id, membership_id);

-- The role a person created just in time gets when no provisioning rule
-- sets one.
ALTER TABLE membership ADD COLUMN jit_role text CHECK (jit_role IN ('admin', 'billing', 'member'));

-- A sign-in sent to the provider: the state (hashed), the nonce and the PKCE
-- verifier, used once.
CREATE TABLE sso_login (
    state_hash  bytea PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES account (id),
    nonce       text NOT NULL,
    verifier    text NOT NULL,
    email       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX sso_login_expires_idx ON sso_login (expires_at);

-- Refused callbacks with their reason; account_id is NULL when the callback
-- named no sign-in of ours.
CREATE TABLE sso_failure (
    id         bigserial PRIMARY KEY,
    account_id bigint REFERENCES account (id),
    at         timestamptz NOT NULL,
    reason     text NOT NULL,
    detail     text NOT NULL DEFAULT '',
    email      text NOT NULL DEFAULT ''
);
CREATE INDEX sso_failure_account_idx ON sso_failure (account_id, at DESC, id DESC);

-- +goose Down
DROP TABLE sso_failure;
DROP TABLE sso_login;
ALTER TABLE membership DROP COLUMN jit_role;
DROP TABLE sso_identity;
DROP TABLE sso_domain;
DROP TABLE sso_config;
