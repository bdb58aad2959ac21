-- +goose Up
-- signup_seat names the owner of an account made by sign-up until its first
-- subscription exists. The subscription is made by billing's events, after
-- the account (a trial's or a checkout's, asynchronously), and the row that
-- applies the first one gives this owner a seat of it in the same
-- transaction: the person who signed up is the one who will use the plan.
-- Accounts the vendor creates, and the demo's, have no row.
CREATE TABLE signup_seat (
    account_id    bigint PRIMARY KEY REFERENCES account (id) ON DELETE CASCADE,
    membership_id bigint NOT NULL,
    FOREIGN KEY (account_id, membership_id) REFERENCES membership (account_id, id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE signup_seat;
