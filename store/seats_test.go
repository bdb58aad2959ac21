package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// inviteMany adds n invited members to the principal's account and returns
// their membership ids.
func inviteMany(t *testing.T, s *store.Store, p store.Principal, n int) []int64 {
	t.Helper()
	addresses := ""
	for i := 0; i < n; i++ {
		addresses += fmt.Sprintf("racer%02d@globex.test\n", i)
	}
	results, err := s.Invite(context.Background(), p, store.InviteRequest{Addresses: addresses, Role: licensing.Member, BaseURL: "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, 0, n)
	for _, r := range results {
		ids = append(ids, r.MembershipID)
	}
	return ids
}

func TestFiftyConcurrentAssignsForTheLastFiveSeats(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	owner := storetest.Principal(t, s, "owner@globex.test")
	admin := storetest.Principal(t, s, "admin@globex.test")
	pool, _ := s.SeatPools(ctx, owner.AccountID)
	sub := pool[0].SubscriptionID
	if pool[0].Free() != 3 {
		t.Fatalf("demo Globex has %d free seats", pool[0].Free())
	}
	// Two more seats from a vendor grant: the pool is purchased + granted.
	if _, err := s.DB().Exec(`INSERT INTO entitlement_grant (account_id, kind, product_id, amount, reason, created_by)
		SELECT $1, 'extra_seats', product_id, 2, 'pilot', 'ops@acme.test' FROM subscription WHERE id = $2`, owner.AccountID, sub); err != nil {
		t.Fatal(err)
	}
	ids := inviteMany(t, s, owner, 50)

	start := make(chan struct{})
	var wg sync.WaitGroup
	outcomes := make([]string, len(ids))
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := owner
			if i%2 == 1 {
				p = admin
			}
			<-start
			res, err := s.AssignSeats(ctx, p, sub, []int64{id})
			errs[i] = err
			if err == nil {
				outcomes[i] = res[0].Outcome
			}
		}()
	}
	close(start)
	wg.Wait()
	count := map[string]int{}
	for i := range ids {
		if errs[i] != nil {
			t.Fatalf("assign %d: %v", i, errs[i])
		}
		count[outcomes[i]]++
	}
	if count[store.SeatAssigned] != 5 || count[store.SeatNoSeatLeft] != 45 {
		t.Fatalf("outcomes = %v, want 5 assigned and 45 no_seat_left", count)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM seat_assignment WHERE subscription_id = $1`, sub); n != 12 {
		t.Fatalf("%d seats assigned in the database, want 12 (10 purchased + 2 granted)", n)
	}
	if n := auditCount(t, s, owner.AccountID, "seat.assign"); n != 7+5 {
		t.Fatalf("seat.assign audit entries = %d, want 12", n)
	}
	if brk, _, err := s.VerifyAudit(ctx); err != nil || brk != nil {
		t.Fatalf("audit chain after the race: %v %v", brk, err)
	}
}

func TestSeatCSVPreviewChangesNothingAndApplyAssignsTheValidRows(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	owner := storetest.Principal(t, s, "owner@globex.test")
	pools, _ := s.SeatPools(ctx, owner.AccountID)
	sub := pools[0].SubscriptionID
	// frank (no seat), alice (holds one), a stranger, a broken row, dave's
	// duplicate... and billing + admin for the last free seats.
	csv := "email\nfrank@globex.test\nalice@globex.test\nstranger@globex.test\nnot an address\nbilling@globex.test\nfrank@globex.test\nadmin@globex.test\n"
	// admin and billing already hold seats in the demo (owner first, 7
	// assigned: owner, admin, billing, alice, bob, carol, dave).
	preview, err := s.PreviewSeatCSV(ctx, owner, sub, []byte(csv))
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, r := range preview {
		got += fmt.Sprintf("%d:%s ", r.Line, r.Outcome)
	}
	want := "2:assigned 3:already_held 4:unknown_member 5:malformed 6:already_held 7:duplicate 8:already_held "
	if got != want {
		t.Fatalf("preview = %s\nwant      %s", got, want)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM seat_assignment WHERE subscription_id = $1`, sub); n != 7 {
		t.Fatalf("preview changed the seats: %d", n)
	}
	res, err := s.AssignSeatsByEmail(ctx, owner, sub, []string{"frank@globex.test", "erin@globex.test", "stranger@globex.test"})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != store.SeatAssigned || res[1].Outcome != store.SeatAssigned || res[2].Outcome != store.SeatUnknownMember {
		t.Fatalf("apply = %+v", res)
	}
	// One seat left: a two-row file gets one assigned, one no seat left.
	more := inviteMany(t, s, owner, 2)
	_ = more
	res, err = s.AssignSeatsByEmail(ctx, owner, sub, []string{"racer00@globex.test", "racer01@globex.test"})
	if err != nil || res[0].Outcome != store.SeatAssigned || res[1].Outcome != store.SeatNoSeatLeft {
		t.Fatalf("last seat: %+v, %v", res, err)
	}
}

func TestOverAllocatedPoolRefusesNewSeatsAndKeepsHolders(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	owner := storetest.Principal(t, s, "owner@globex.test")
	pools, _ := s.SeatPools(ctx, owner.AccountID)
	sub := pools[0].SubscriptionID
	// A seat reduction lands (as Stripe would apply it): 5 seats, 7 held.
	if _, err := s.DB().Exec(`UPDATE subscription SET seats = 5 WHERE id = $1`, sub); err != nil {
		t.Fatal(err)
	}
	pools, _ = s.SeatPools(ctx, owner.AccountID)
	if p := pools[0]; p.Over() != 2 || p.Free() != 0 || p.Assigned != 7 {
		t.Fatalf("pool = %+v (over %d)", p, p.Over())
	}
	res, err := s.AssignSeats(ctx, owner, sub, []int64{membershipOf(t, s, "frank@globex.test")})
	if err != nil || res[0].Outcome != store.SeatNoSeatLeft {
		t.Fatalf("assign while over-allocated: %+v, %v", res, err)
	}
	holders, err := s.SeatHolders(ctx, owner.AccountID, sub, 100)
	if err != nil || len(holders) != 7 {
		t.Fatalf("holders = %d, %v", len(holders), err)
	}
	// The owner signed in most recently in the demo? Nobody has: all are
	// never-signed-in, so the latest assigned come first. Sign the owner in
	// and they move to the end of the suggestions.
	if _, err := s.Authenticate(ctx, "owner@globex.test", store.DemoPassword, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	holders, _ = s.SeatHolders(ctx, owner.AccountID, sub, 100)
	if holders[len(holders)-1].Email != "owner@globex.test" {
		t.Errorf("the active owner is suggested for unassigning: %+v", holders[len(holders)-1])
	}
	// Unassigning two brings the pool back to full, not over.
	if _, err := s.UnassignSeats(ctx, owner, sub, []int64{holders[0].MembershipID, holders[1].MembershipID}); err != nil {
		t.Fatal(err)
	}
	pools, _ = s.SeatPools(ctx, owner.AccountID)
	if pools[0].Over() != 0 || pools[0].Assigned != 5 {
		t.Fatalf("after unassigning two: %+v", pools[0])
	}
}

func TestSeatChangesStayInsideTheAccount(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	owner := storetest.Principal(t, s, "owner@globex.test")
	umbrellaOwner := storetest.Principal(t, s, "owner@umbrella.test")
	globexPools, _ := s.SeatPools(ctx, owner.AccountID)
	umbrellaPools, _ := s.SeatPools(ctx, umbrellaOwner.AccountID)
	frank := membershipOf(t, s, "frank@globex.test")
	umbrellaAlice := membershipOf(t, s, "alice@umbrella.test")
	before := queryInt(t, s, `SELECT count(*) FROM seat_assignment`)
	for name, try := range map[string]func() error{
		"their subscription": func() error {
			_, err := s.AssignSeats(ctx, owner, umbrellaPools[0].SubscriptionID, []int64{frank})
			return err
		},
		"their member": func() error {
			_, err := s.AssignSeats(ctx, owner, globexPools[0].SubscriptionID, []int64{frank, umbrellaAlice})
			return err
		},
		"unassign their member": func() error {
			_, err := s.UnassignSeats(ctx, owner, globexPools[0].SubscriptionID, []int64{umbrellaAlice})
			return err
		},
		"their auto-assign": func() error { return s.SetAutoAssign(ctx, owner, umbrellaPools[0].SubscriptionID, true) },
	} {
		if err := try(); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	if after := queryInt(t, s, `SELECT count(*) FROM seat_assignment`); after != before {
		t.Fatalf("seats changed: %d → %d", before, after)
	}
	billing := storetest.Principal(t, s, "billing@globex.test")
	if _, err := s.AssignSeats(ctx, billing, globexPools[0].SubscriptionID, []int64{frank}); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("billing assigns a seat: %v", err)
	}
}
