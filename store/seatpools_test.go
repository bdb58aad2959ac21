package store_test

import (
	"context"
	"testing"

	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// A pool's assigned figure, which every page shows and which the database
// keeps beside the seats instead of counting them per page, follows every
// statement that gives or takes seats: one seat, a removal, many rows in
// one statement, and not a transaction that was rolled back. (Every test's
// database is also checked for a kept figure that drifted when the test
// ends: storetest.)
func TestAPoolsAssignedSeatsFollowEveryStatementThatGivesOrTakesThem(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	owner := storetest.Principal(t, s, "owner@globex.test")
	pool := func() store.SeatPool {
		t.Helper()
		pools, err := s.SeatPools(ctx, owner.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		return pools[0]
	}
	first := pool()
	sub, before := first.SubscriptionID, first.Assigned
	assigned := func(step string, want int) {
		t.Helper()
		if got := pool().Assigned; got != want {
			t.Errorf("%s: the pool shows %d assigned, want %d", step, got, want)
		}
	}
	ids := inviteMany(t, s, owner, 6)

	if _, err := s.AssignSeats(ctx, owner, sub, ids[:2]); err != nil {
		t.Fatal(err)
	}
	assigned("two seats assigned", before+2)
	if err := s.RemoveMember(ctx, owner, ids[0]); err != nil {
		t.Fatal(err)
	}
	assigned("a holder removed", before+1)

	// Many rows in one statement, as an import or the demo's seeding writes them.
	if _, err := s.DB().Exec(`INSERT INTO seat_assignment (account_id, subscription_id, membership_id)
		SELECT $1, $2, unnest($3::bigint[])`, owner.AccountID, sub, pq.Array(ids[2:])); err != nil {
		t.Fatal(err)
	}
	assigned("four rows in one statement", before+5)
	if _, err := s.DB().Exec(`DELETE FROM seat_assignment WHERE subscription_id = $1 AND membership_id = ANY($2)`, sub, pq.Array(ids[1:5])); err != nil {
		t.Fatal(err)
	}
	assigned("four taken in one statement", before+1)

	tx, err := s.DB().Beginx()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO seat_assignment (account_id, subscription_id, membership_id) VALUES ($1, $2, $3)`, owner.AccountID, sub, ids[1]); err != nil {
		t.Fatal(err)
	}
	var inTx int
	if err := tx.Get(&inTx, `SELECT seats_assigned FROM subscription WHERE id = $1`, sub); err != nil || inTx != before+2 {
		t.Errorf("inside the transaction that gave a seat: %d (%v), want %d", inTx, err, before+2)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	assigned("a seat given in a transaction rolled back", before+1)
}
