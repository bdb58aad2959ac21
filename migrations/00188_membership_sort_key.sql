-- +goose Up
-- membership.sort_key is its person's app_user.sort_key, copied so that an
-- account's members in list order are one range of one index
-- (membership_sort_idx), whatever the account's size and however many other
-- accounts' people the database holds. Ordered by app_user's key, the
-- list's best plan was a walk of every person's sort key that kept the
-- account's (right for an account with most of the people) or a sort of
-- every member (right for a small one), so it was planned for each account
-- on every page; in one index range it has one plan for every account, and
-- the list most visits open is prepared (store/memberlist.go).
-- Triggers keep the copy in the statement that changes it: a membership
-- takes its person's key when it is made, and a rename or a new address
-- carries the key to every membership of that person. Every test's database
-- is checked for a copy that differs (storetest).
ALTER TABLE membership ADD COLUMN sort_key text;
UPDATE membership m SET sort_key = u.sort_key FROM app_user u WHERE u.id = m.user_id;
ALTER TABLE membership ALTER COLUMN sort_key SET NOT NULL;
CREATE INDEX membership_sort_idx ON membership (account_id, sort_key, user_id);

-- +goose StatementBegin
CREATE FUNCTION membership_takes_sort_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT sort_key INTO NEW.sort_key FROM app_user WHERE id = NEW.user_id;
    RETURN NEW;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION app_user_gives_sort_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE membership SET sort_key = NEW.sort_key WHERE user_id = NEW.id;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER membership_sort_key BEFORE INSERT OR UPDATE OF user_id ON membership
    FOR EACH ROW EXECUTE FUNCTION membership_takes_sort_key();
CREATE TRIGGER app_user_sort_key AFTER UPDATE OF name, email ON app_user
    FOR EACH ROW WHEN (OLD.sort_key IS DISTINCT FROM NEW.sort_key) EXECUTE FUNCTION app_user_gives_sort_key();

-- +goose Down
DROP TRIGGER app_user_sort_key ON app_user;
DROP TRIGGER membership_sort_key ON membership;
DROP FUNCTION app_user_gives_sort_key();
DROP FUNCTION membership_takes_sort_key();
DROP INDEX membership_sort_idx;
ALTER TABLE membership DROP COLUMN sort_key;
