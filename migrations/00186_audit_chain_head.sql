-- +goose Up
-- audit_chain_head takes the lock that serialises appends to one account's
-- audit chain, then reads the chain's head, in one round trip for the
-- transaction that appends. It has to be a function, and a volatile one:
-- each query of a volatile function takes a new snapshot, so the head is
-- read after the lock is granted and includes what the transaction it
-- waited for committed. One query that locked and read would read with the
-- snapshot taken before it waited, and two entries would follow one head.
-- +goose StatementBegin
CREATE FUNCTION audit_chain_head(lock_class int, account bigint) RETURNS TABLE (seq bigint, hash text)
LANGUAGE sql VOLATILE AS $$
    SELECT pg_advisory_xact_lock(lock_class, account::int);
    SELECT e.seq, e.hash FROM audit_entry e WHERE e.account_id = account ORDER BY e.seq DESC LIMIT 1;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION audit_chain_head(int, bigint);
