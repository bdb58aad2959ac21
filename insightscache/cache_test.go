package insightscache_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/insightscache"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// globex is the demo at a fixed moment, Globex's id, and a checker of its
// state as the check cache would hand it out.
func globex(t *testing.T) (*store.Store, *storetest.Clock, int64, *licensing.Checker) {
	t.Helper()
	clock := storetest.NewClock(time.Date(2026, 4, 11, 10, 0, 0, 0, time.UTC))
	s := storetest.NewDemo(t, clock)
	acct, err := s.AccountBySlug(context.Background(), "globex")
	if err != nil {
		t.Fatal(err)
	}
	return s, clock, acct.ID, checkerOf(t, s, acct.ID)
}

func checkerOf(t *testing.T, s *store.Store, accountID int64) *licensing.Checker {
	t.Helper()
	state, err := s.AccountState(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	return licensing.NewChecker(state)
}

// ask is one viewer's ask for the account's figures.
func ask(t *testing.T, c *insightscache.Cache, accountID int64, checker *licensing.Checker) store.AccountInsights {
	t.Helper()
	in, err := c.Insights(context.Background(), accountID, checker)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// figures is the first product's seat figures: assigned, active, idle.
func figures(t *testing.T, in store.AccountInsights) [3]int {
	t.Helper()
	if len(in.Products) == 0 {
		t.Fatal("no product in the figures")
	}
	p := in.Products[0]
	return [3]int{p.Pool.Assigned, p.Active, p.IdleCount}
}

func TestViewersOfAnUnchangedAccountShareOneRead(t *testing.T) {
	t.Parallel()
	s, clock, id, checker := globex(t)
	c := insightscache.New(s)
	want, err := s.Insights(context.Background(), id, checker)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	seen := make([]store.AccountInsights, 8)
	errs := make([]error, len(seen))
	for i := range seen {
		wg.Go(func() { seen[i], errs[i] = c.Insights(context.Background(), id, checker) })
	}
	wg.Wait()
	clock.Advance(insightscache.MaxAge - time.Millisecond)
	in, err := c.Insights(context.Background(), id, checker)
	seen, errs = append(seen, in), append(errs, err)
	for i, in := range seen {
		if errs[i] != nil {
			t.Fatalf("viewer %d: %v", i, errs[i])
		}
		if got := figures(t, in); got != figures(t, want) {
			t.Errorf("viewer %d saw %v, want %v", i, got, figures(t, want))
		}
	}
	if n := c.Reads(); n != 1 {
		t.Errorf("nine viewers within %s cost %d reads of the seats, want 1", insightscache.MaxAge, n)
	}
}

// assignErin gives Erin, who holds none, a seat of Globex's first product,
// as Globex's admin.
func assignErin(t *testing.T, s *store.Store, subscriptionID int64) {
	t.Helper()
	var admin store.Principal
	var erin int64
	if err := s.DB().QueryRow(`SELECT m.account_id, m.id, u.id, u.email FROM membership m JOIN app_user u ON u.id = m.user_id
		WHERE u.email = 'admin@globex.test'`).Scan(&admin.AccountID, &admin.MembershipID, &admin.UserID, &admin.Email); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Get(&erin, `SELECT m.id FROM membership m JOIN app_user u ON u.id = m.user_id WHERE u.email = 'erin@globex.test'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AssignSeats(context.Background(), admin, subscriptionID, []int64{erin}); err != nil {
		t.Fatal(err)
	}
}

// TestAWriteShowsOnThePageThatMadeIt: a change committed after the figures
// were kept shows on the next ask, even with the checker of before (the
// check cache hears of a change from its listener, a moment after the
// commit: a page rendered by the request that made the change, or by its
// redirect, may come first).
func TestAWriteShowsOnThePageThatMadeIt(t *testing.T) {
	t.Parallel()
	s, _, id, checker := globex(t)
	c := insightscache.New(s)
	in := ask(t, c, id, checker)
	before := figures(t, in)
	assignErin(t, s, in.Products[0].Pool.SubscriptionID)
	in = ask(t, c, id, checker)
	if after := figures(t, in); after[0] != before[0]+1 {
		t.Errorf("after assigning Erin a seat the figures say %d assigned, want %d", after[0], before[0]+1)
	}
}

// TestMeteredFiguresFollowTheChecker: the metered figures are the
// checker's, so figures computed with another checker are not served.
func TestMeteredFiguresFollowTheChecker(t *testing.T) {
	t.Parallel()
	s, _, id, checker := globex(t)
	c := insightscache.New(s)
	used := func(in store.AccountInsights) int64 {
		for _, p := range in.Products {
			for _, m := range p.Metered {
				if m.Feature == "api_calls" {
					return m.Used
				}
			}
		}
		t.Fatal("no api_calls in Globex's figures")
		return 0
	}
	in := ask(t, c, id, checker)
	before := used(in)
	next := checker.WithUsage(in.Products[0].Pool.ProductKey, "api_calls", 5) // as the check cache applies a report
	if next == nil {
		t.Fatal("the checker cannot count api_calls")
	}
	in = ask(t, c, id, next)
	if got := used(in); got != before+5 {
		t.Errorf("with the next checker %d api calls, want %d", got, before+5)
	}
}

// TestFiguresFollowTheClock: what moves the figures without a change
// announced (a sign-in, days passing) shows once MaxAge has passed.
func TestFiguresFollowTheClock(t *testing.T) {
	t.Parallel()
	s, clock, id, checker := globex(t)
	c := insightscache.New(s)
	in := ask(t, c, id, checker)
	idle := figures(t, in)[2]
	if idle == 0 {
		t.Fatal("the demo's Globex has no idle seat")
	}
	// One idle holder signs in.
	if _, err := s.Authenticate(context.Background(), "carol@globex.test", store.DemoPassword, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(insightscache.MaxAge)
	in = ask(t, c, id, checker)
	if got := figures(t, in)[2]; got != idle-1 {
		t.Errorf("%s after Carol signed in, %d idle seats, want %d", insightscache.MaxAge, got, idle-1)
	}
	// Sixty days on, every seat not used since is idle.
	clock.Advance(60 * 24 * time.Hour)
	want, err := s.Insights(context.Background(), id, checker)
	if err != nil {
		t.Fatal(err)
	}
	in = ask(t, c, id, checker)
	if got := figures(t, in); got != figures(t, want) || got[2] <= idle {
		t.Errorf("sixty days on the figures are %v, want %v (more than %d idle)", got, figures(t, want), idle)
	}
}

func TestAFailedReadIsNotKept(t *testing.T) {
	t.Parallel()
	s, _, _, checker := globex(t)
	c := insightscache.New(s)
	for range 2 {
		if _, err := c.Insights(context.Background(), -1, checker); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an account that does not exist: %v", err)
		}
	}
	if n := c.Reads(); n != 2 {
		t.Errorf("two asks for a missing account read %d times, want 2", n)
	}
}
