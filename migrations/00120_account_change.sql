-- +goose Up
-- A per-account change sequence: every transaction that announces a change
-- on the changes channel also stamps the account here (account 0 stands for
-- the catalog) with a new number, just before it commits. An instance whose
-- change listener dropped compares these numbers with the ones it loaded its
-- states under and reloads exactly what changed meanwhile, since the
-- notifications sent while it was away are lost.
CREATE SEQUENCE account_change_seq;
CREATE TABLE account_change (
    account_id bigint PRIMARY KEY,
    seq        bigint NOT NULL
);

-- +goose Down
DROP TABLE account_change;
DROP SEQUENCE account_change_seq;
