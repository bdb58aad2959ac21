-- +goose Up
-- Identity-driven provisioning (issue #8): SCIM tokens, the identity
-- provider's users (kept on their membership) and groups, the rules that turn
-- groups into roles and seats, where each seat came from, the waiting list,
-- and the reconciler's drift counter (DESIGN.md, "Provisioning").

-- A SCIM token is a bearer token bound to one account; only its SHA-256 is
-- kept, with a short prefix so that a person can tell tokens apart.
CREATE TABLE scim_token (
    id           bigserial PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES account (id),
    name         text NOT NULL CHECK (name <> ''),
    token_hash   bytea NOT NULL UNIQUE,
    prefix       text NOT NULL,
    created_by   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX scim_token_account_idx ON scim_token (account_id, created_at DESC);

-- A provisioned user is a membership with source 'scim'. scim_id is the SCIM
-- resource id (NULL once the identity provider deleted the user, so the id
-- answers 404 from then on and userName is free again); scim_attributes is
-- the resource as stored, userName kept as sent; scim_active is the
-- provider's "active". The membership's status is the reconciler's to
-- decide from it and the rules.
ALTER TABLE membership
    ADD COLUMN scim_id text,
    ADD COLUMN external_id text,
    ADD COLUMN scim_user_name text,
    ADD COLUMN scim_attributes jsonb,
    ADD COLUMN scim_active boolean NOT NULL DEFAULT true,
    ADD COLUMN scim_created_at timestamptz,
    ADD COLUMN scim_updated_at timestamptz;
CREATE UNIQUE INDEX membership_scim_id_idx ON membership (account_id, scim_id) WHERE scim_id IS NOT NULL;
-- userName is unique per account, case-insensitively, under concurrent
-- creates too: the index decides, not a check before the insert.
CREATE UNIQUE INDEX membership_scim_user_name_idx ON membership (account_id, lower(scim_user_name))
    WHERE scim_user_name IS NOT NULL;
CREATE INDEX membership_external_id_idx ON membership (account_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX membership_scim_list_idx ON membership (account_id, id) WHERE scim_id IS NOT NULL;

-- Groups pushed by the identity provider. A deleted group keeps its row
-- (deleted_at), so the rules naming it say so instead of vanishing.
CREATE TABLE idp_group (
    id           bigserial PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES account (id),
    scim_id      text NOT NULL,
    display_name text NOT NULL,
    external_id  text,
    attributes   jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    deleted_at   timestamptz,
    UNIQUE (account_id, scim_id),
    UNIQUE (account_id, id)
);
CREATE INDEX idp_group_name_idx ON idp_group (account_id, lower(display_name)) WHERE deleted_at IS NULL;
CREATE INDEX idp_group_external_idx ON idp_group (account_id, external_id) WHERE deleted_at IS NULL;

-- since orders short pools: at equal rule priority, the earliest member first.
CREATE TABLE idp_group_member (
    account_id    bigint NOT NULL,
    group_id      bigint NOT NULL,
    membership_id bigint NOT NULL,
    since         timestamptz NOT NULL,
    PRIMARY KEY (group_id, membership_id),
    FOREIGN KEY (account_id, group_id) REFERENCES idp_group (account_id, id),
    FOREIGN KEY (account_id, membership_id) REFERENCES membership (account_id, id)
);
CREATE INDEX idp_group_member_membership_idx ON idp_group_member (account_id, membership_id);

-- Members of group_id get role (empty: none) and a seat of product_id (NULL:
-- none). A lower priority number wins.
CREATE TABLE provisioning_rule (
    id         bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES account (id),
    group_id   bigint NOT NULL,
    role       text NOT NULL DEFAULT '' CHECK (role IN ('', 'admin', 'billing', 'member')),
    product_id bigint REFERENCES product (id),
    priority   int NOT NULL CHECK (priority BETWEEN 1 AND 1000000),
    created_at timestamptz NOT NULL,
    CHECK (role <> '' OR product_id IS NOT NULL),
    FOREIGN KEY (account_id, group_id) REFERENCES idp_group (account_id, id),
    UNIQUE (account_id, id)
);
CREATE INDEX provisioning_rule_account_idx ON provisioning_rule (account_id, priority, id);

-- What happens to a provisioned user who matches no rule, and the
-- reconciler's figures for the console.
ALTER TABLE account
    ADD COLUMN unmatched_policy text NOT NULL DEFAULT 'member' CHECK (unmatched_policy IN ('member', 'deny')),
    ADD COLUMN drifts_repaired bigint NOT NULL DEFAULT 0,
    ADD COLUMN reconciled_at timestamptz;

-- Where a seat came from: by hand ('manual') or from a rule (rule_id; NULL
-- when that rule was deleted). A pinned seat is never taken by the rules.
ALTER TABLE seat_assignment
    ADD COLUMN source text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'rule')),
    ADD COLUMN rule_id bigint REFERENCES provisioning_rule (id) ON DELETE SET NULL,
    ADD COLUMN pinned boolean NOT NULL DEFAULT false;

-- People a rule entitles to a seat that no free seat is left for, served in
-- position order (kept by the reconciler) as seats free up.
CREATE TABLE waiting_entry (
    account_id      bigint NOT NULL,
    subscription_id bigint NOT NULL,
    membership_id   bigint NOT NULL,
    rule_id         bigint REFERENCES provisioning_rule (id) ON DELETE SET NULL,
    since           timestamptz NOT NULL,
    reason          text NOT NULL,
    position        int NOT NULL,
    PRIMARY KEY (subscription_id, membership_id),
    FOREIGN KEY (account_id, subscription_id) REFERENCES subscription (account_id, id),
    FOREIGN KEY (account_id, membership_id) REFERENCES membership (account_id, id)
);
CREATE INDEX waiting_entry_account_idx ON waiting_entry (account_id, subscription_id, position);
