package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// The demo's team plan has a floating pool of 3 desktop_floating leases
// (120 s TTL) and 2 workstations per seat holder.

func TestFortyConcurrentCheckoutsForAPoolOfFiveHandOutFive(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	globex := accountID(t, s, "globex")
	// Two more slots from a vendor grant: the pool is the plan's 3 + 2.
	if _, err := s.DB().Exec(`INSERT INTO entitlement_grant (account_id, kind, feature_id, amount, reason, created_by)
		SELECT $1, 'extra_limit', id, 2, 'pilot', 'ops@acme.test' FROM feature WHERE key = 'desktop_floating'`, globex); err != nil {
		t.Fatal(err)
	}
	// A second Store on the same database stands for a second instance.
	other := store.New(s.DB(), nil)
	const racers = 40
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := s
			if i%2 == 1 {
				st = other
			}
			<-start
			_, errs[i] = st.CheckOutLease(ctx, globex, store.LeaseRequest{Feature: "desktop_floating", User: "racer", Machine: "m"})
		}()
	}
	close(start)
	wg.Wait()
	granted, full := 0, 0
	for i, err := range errs {
		var refused *store.DeviceRefusedError
		switch {
		case err == nil:
			granted++
		case errors.As(err, &refused) && refused.Full():
			full++
			if refused.Decision.Limit == nil || *refused.Decision.Limit != 5 || refused.NextExpiry.IsZero() {
				t.Errorf("refusal %d: limit %v, next expiry %v", i, refused.Decision.Limit, refused.NextExpiry)
			}
		default:
			t.Fatalf("checkout %d: %v", i, err)
		}
	}
	if granted != 5 || full != 35 {
		t.Fatalf("granted %d, refused as full %d; want 5 and 35", granted, full)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM lease WHERE account_id = $1 AND released_at IS NULL`, globex); n != 5 {
		t.Fatalf("%d live leases in the database, want 5", n)
	}
	if n := queryInt(t, s, `SELECT coalesce(sum(denials), 0) FROM lease_denial WHERE account_id = $1`, globex); n != 35 {
		t.Fatalf("%d denials counted, want 35", n)
	}
}

func TestLeasesExpireWithoutHeartbeatAndHeartbeatsKeepThem(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := &fixedClock{now: t0}
	s := storetest.NewDemo(t, clock)
	ctx := context.Background()
	globex := accountID(t, s, "globex")
	checkout := func(user string) (store.Lease, error) {
		return s.CheckOutLease(ctx, globex, store.LeaseRequest{Feature: "desktop_floating", User: user})
	}
	var leases []store.Lease
	for _, u := range []string{"ann", "bob", "cy"} {
		l, err := checkout(u)
		if err != nil {
			t.Fatalf("checkout %s: %v", u, err)
		}
		if !l.ExpiresAt.Equal(t0.Add(2 * time.Minute)) {
			t.Fatalf("lease expires %v, want the catalog's 120 s TTL", l.ExpiresAt)
		}
		leases = append(leases, l)
	}
	_, err := checkout("dee")
	var refused *store.DeviceRefusedError
	if !errors.As(err, &refused) || !refused.Full() || !refused.NextExpiry.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("fourth checkout: %v (%+v), want pool full until the first lease expires", err, refused)
	}

	clock.now = t0.Add(100 * time.Second)
	renewed, err := s.HeartbeatLease(ctx, globex, leases[0].Token)
	if err != nil || !renewed.Equal(clock.now.Add(2*time.Minute)) {
		t.Fatalf("heartbeat: %v %v", renewed, err)
	}
	clock.now = t0.Add(119 * time.Second)
	if _, err := checkout("dee"); !errors.As(err, &refused) {
		t.Fatalf("a second before expiry the pool is still full, got %v", err)
	}

	clock.now = t0.Add(121 * time.Second)
	for _, u := range []string{"dee", "eve"} { // bob's and cy's slots expired
		if _, err := checkout(u); err != nil {
			t.Fatalf("checkout %s after expiry: %v", u, err)
		}
	}
	if _, err := checkout("fay"); !errors.As(err, &refused) {
		t.Fatalf("ann's renewed lease still holds its slot, got %v", err)
	}
	// An expired lease stays dead: its late heartbeat cannot take back the
	// slot another application now holds.
	var gone *store.LeaseGoneError
	if _, err := s.HeartbeatLease(ctx, globex, leases[1].Token); !errors.As(err, &gone) || gone.Reason != "expired" {
		t.Fatalf("heartbeat of an expired lease: %v", err)
	}
	live, err := s.LiveLeases(ctx, globex)
	if err != nil || len(live) != 3 || live[0].User != "ann" {
		t.Fatalf("live leases %+v, %v", live, err)
	}
	// Checking in frees the slot at once; checking in twice is harmless.
	if err := s.CheckInLease(ctx, globex, leases[0].Token); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckInLease(ctx, globex, leases[0].Token); err != nil {
		t.Fatalf("second check-in: %v", err)
	}
	if _, err := checkout("fay"); err != nil {
		t.Fatalf("checkout after a check-in: %v", err)
	}
	if err := s.CheckInLease(ctx, globex, "lease_nonesuch"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown lease: %v", err)
	}
}

func TestAdminsForceReleaseLeasesAuditedAndTheAppIsTold(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	owner := storetest.Principal(t, s, "owner@globex.test")
	l, err := s.CheckOutLease(ctx, owner.AccountID, store.LeaseRequest{Feature: "desktop_floating", User: "ann", Machine: "ws-7"})
	if err != nil {
		t.Fatal(err)
	}
	member := storetest.Principal(t, s, "alice@globex.test")
	if err := s.ForceReleaseLease(ctx, member, l.ID); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("a member force-releases: %v", err)
	}
	initech := storetest.Principal(t, s, "owner@initech.test")
	if err := s.ForceReleaseLease(ctx, initech, l.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account's owner force-releases: %v", err)
	}
	if err := s.ForceReleaseLease(ctx, owner, l.ID); err != nil {
		t.Fatal(err)
	}
	if n := auditCount(t, s, owner.AccountID, "lease.force_release"); n != 1 {
		t.Fatalf("%d audit entries, want 1", n)
	}
	var gone *store.LeaseGoneError
	if _, err := s.HeartbeatLease(ctx, owner.AccountID, l.Token); !errors.As(err, &gone) || gone.Reason != "forced" {
		t.Fatalf("heartbeat after force release: %v", err)
	}
	if err := s.ForceReleaseLease(ctx, owner, l.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("releasing twice: %v", err)
	}
	if _, err := s.HeartbeatLease(ctx, initech.AccountID, l.Token); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account heartbeats the lease: %v", err)
	}
}

func TestCheckoutRefusesWhatThePlanLacks(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	globex := accountID(t, s, "globex")
	_, err := s.CheckOutLease(ctx, globex, store.LeaseRequest{Feature: "dashboards"})
	var ve *store.ValidationError
	if !errors.As(err, &ve) || ve.Fields["feature"] == "" {
		t.Fatalf("leasing a boolean feature: %v", err)
	}
	if _, err := s.CheckOutLease(ctx, globex, store.LeaseRequest{Feature: "nope"}); !errors.Is(err, licensing.ErrUnknownFeature) {
		t.Fatalf("unknown feature: %v", err)
	}
	// A vendor grant switching the feature off: refused, and not as "full".
	if _, err := s.DB().Exec(`INSERT INTO entitlement_grant (account_id, kind, feature_id, enabled, reason, created_by)
		SELECT $1, 'feature', id, false, 'licence audit', 'ops@acme.test' FROM feature WHERE key = 'desktop_floating'`, globex); err != nil {
		t.Fatal(err)
	}
	_, err = s.CheckOutLease(ctx, globex, store.LeaseRequest{Feature: "desktop_floating"})
	var refused *store.DeviceRefusedError
	if !errors.As(err, &refused) || refused.Full() || refused.Decision.Reason != licensing.ReasonNotInPlan {
		t.Fatalf("checkout of a feature switched off: %v", err)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM lease_denial WHERE account_id = $1`, globex); n != 0 {
		t.Fatalf("a refusal for no access counted as a full pool: %d", n)
	}
}

func TestLeaseUsageShowsPeakPerDayAgainstThePoolAndDenials(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 6, 10, 9, 0, 0, 0, time.UTC)
	clock := &fixedClock{now: t0.AddDate(0, 0, -1)}
	s := storetest.NewDemo(t, clock)
	ctx := context.Background()
	globex := accountID(t, s, "globex")
	take := func(n int) {
		for range n {
			if _, err := s.CheckOutLease(ctx, globex, store.LeaseRequest{Feature: "desktop_floating"}); err != nil {
				var refused *store.DeviceRefusedError
				if !errors.As(err, &refused) {
					t.Fatal(err)
				}
			}
		}
	}
	take(5) // yesterday: 3 held, 2 refused; they expire two minutes later
	clock.now = t0
	take(1)
	usage, err := s.LeaseUsage(ctx, globex, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(usage) != 1 || usage[0].Feature != "desktop_floating" || usage[0].Pool == nil || *usage[0].Pool != 3 || usage[0].InUse != 1 {
		t.Fatalf("usage = %+v", usage)
	}
	var peaks, denials []int
	for _, d := range usage[0].Days {
		peaks, denials = append(peaks, d.Peak), append(denials, d.Denials)
	}
	if fmt.Sprint(peaks) != "[0 3 1]" || fmt.Sprint(denials) != "[0 2 0]" {
		t.Fatalf("peaks %v denials %v, want [0 3 1] and [0 2 0]", peaks, denials)
	}
}
