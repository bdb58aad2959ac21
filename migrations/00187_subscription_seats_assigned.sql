-- +goose Up
-- subscription.seats_assigned is how many seat_assignment rows name the
-- subscription. Every signed-in page shows it (the banners' and the member
-- list's seat pools), and counting it there read one index entry per seat
-- held: 5,000 entries, about 1 ms, on every page of an account with 5,000
-- seats. Triggers keep it in the same statement as the seats it counts, so
-- no code path can forget it, and a transaction sees its own seats counted.
-- They lock the subscriptions they count in id order first: a statement
-- that frees seats in several products (a member removed) and another that
-- frees them in the same products then wait for each other in one order.
-- Assigning a seat still counts the seats under the subscription's lock:
-- the pool's limit does not rest on a figure kept elsewhere. No code moves
-- a seat to another subscription (an UPDATE of subscription_id would not
-- be counted); every test's database is checked for a count that drifted
-- (storetest), so code that did would fail its tests.
ALTER TABLE subscription ADD COLUMN seats_assigned integer NOT NULL DEFAULT 0 CHECK (seats_assigned >= 0);
UPDATE subscription s SET seats_assigned = (SELECT count(*) FROM seat_assignment sa WHERE sa.subscription_id = s.id);

-- +goose StatementBegin
-- count_seats adds the seats in the statement's transition table "changed"
-- to their subscriptions' counts, times the trigger's sign: 1 for seats
-- given, -1 for seats taken.
CREATE FUNCTION count_seats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM subscription WHERE id IN (SELECT subscription_id FROM changed) ORDER BY id FOR NO KEY UPDATE;
    UPDATE subscription s SET seats_assigned = s.seats_assigned + TG_ARGV[0]::int * c.n
    FROM (SELECT subscription_id, count(*) AS n FROM changed GROUP BY subscription_id) c
    WHERE s.id = c.subscription_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER seat_assignment_given AFTER INSERT ON seat_assignment
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_seats(1);
CREATE TRIGGER seat_assignment_taken AFTER DELETE ON seat_assignment
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_seats('-1');

-- +goose Down
DROP TRIGGER seat_assignment_taken ON seat_assignment;
DROP TRIGGER seat_assignment_given ON seat_assignment;
DROP FUNCTION count_seats();
ALTER TABLE subscription DROP COLUMN seats_assigned;
