package membertotals_test

import (
	"context"
	"testing"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/membertotals"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// Each filter's total is held between pages until the account changes:
// a row changed behind the store's back (no change announced) does not
// show, which is how the test sees that nothing was counted, and every
// change made through the store shows on the very next page.
func TestTotalsAreHeldPerFilterUntilTheAccountChanges(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	owner := storetest.Principal(t, s, "owner@globex.test")
	bob := storetest.Principal(t, s, "bob@globex.test")
	totals := membertotals.New()
	total := func(f store.MemberFilter) int {
		t.Helper()
		page, err := totals.Members(ctx, s, owner.AccountID, f)
		if err != nil {
			t.Fatal(err)
		}
		return page.Total
	}
	everyone, admins := store.MemberFilter{}, store.MemberFilter{Role: "admin"}
	if got := total(everyone); got != 9 {
		t.Fatalf("members: %d, want 9", got)
	}
	if got := total(admins); got != 1 {
		t.Fatalf("admins: %d, want 1", got)
	}
	if _, err := s.DB().Exec(`UPDATE membership SET role = 'admin' WHERE id = $1`, bob.MembershipID); err != nil {
		t.Fatal(err)
	}
	if got := total(admins); got != 1 {
		t.Fatalf("admins after a change nobody announced: %d, want the held 1", got)
	}
	// Carol made an admin through the store: both admins' and everyone's
	// totals are counted again (and now see Bob as well).
	if err := s.ChangeRole(ctx, owner, storetest.Principal(t, s, "carol@globex.test").MembershipID, licensing.Admin); err != nil {
		t.Fatal(err)
	}
	if got := total(admins); got != 3 {
		t.Errorf("admins after Carol's promotion: %d, want 3", got)
	}
	if err := s.RemoveMember(ctx, owner, bob.MembershipID); err != nil {
		t.Fatal(err)
	}
	if got := total(everyone); got != 8 {
		t.Errorf("members after Bob's removal: %d, want 8", got)
	}
	// A search is counted every time.
	if _, err := s.DB().Exec(`UPDATE app_user SET name = 'Alicia Adams' WHERE lower(email) = 'alice@globex.test'`); err != nil {
		t.Fatal(err)
	}
	if got := total(store.MemberFilter{Query: "alicia"}); got != 1 {
		t.Errorf("search after a rename: %d, want 1", got)
	}
	// Without totals (nil), every page counts.
	var none *membertotals.Totals
	page, err := none.Members(ctx, s, owner.AccountID, admins)
	if err != nil || page.Total != 2 {
		t.Errorf("admins without totals held: %d (%v), want 2", page.Total, err)
	}
}
