package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

func membershipOf(t *testing.T, s *store.Store, email string) int64 {
	t.Helper()
	return storetest.Principal(t, s, email).MembershipID
}

func queryInt(t *testing.T, s *store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func auditCount(t *testing.T, s *store.Store, accountID int64, action string) int {
	t.Helper()
	return queryInt(t, s, `SELECT count(*) FROM audit_entry WHERE account_id = $1 AND action = $2`, accountID, action)
}

func TestMembersListPagesByNameWithFilters(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	owner := storetest.Principal(t, s, "owner@globex.test")

	var names []string
	page, err := s.ListMembers(ctx, owner.AccountID, store.MemberFilter{Limit: 4})
	for err == nil {
		for _, r := range page.Rows {
			names = append(names, r.Name)
		}
		if page.Next == "" {
			break
		}
		page, err = s.ListMembers(ctx, owner.AccountID, store.MemberFilter{Limit: 4, After: page.Next})
	}
	if err != nil {
		t.Fatal(err)
	}
	want := "[Alice Adams Bea Counter Bob Brown Carol Chen Dave Diaz Erin Evans Frank Fox Hank Scorpio Owner of Globex]"
	if got := fmt.Sprint(names); got != want || page.Total != 9 {
		t.Fatalf("pages = %s (total %d), want %s", got, page.Total, want)
	}
	// Going back from the last page gives the page before it.
	back, err := s.ListMembers(ctx, owner.AccountID, store.MemberFilter{Limit: 4, Before: page.Prev})
	if err != nil || len(back.Rows) != 4 || back.Rows[0].Name != "Dave Diaz" || back.Next == "" || back.Prev == "" {
		t.Fatalf("previous page = %+v, %v", back, err)
	}

	for _, c := range []struct {
		f    store.MemberFilter
		want int
	}{
		{store.MemberFilter{Query: "ALI"}, 1},
		{store.MemberFilter{Query: "globex.test"}, 9},
		{store.MemberFilter{Query: "100%_"}, 0},
		{store.MemberFilter{Role: "member"}, 6},
		{store.MemberFilter{Seat: "with"}, 7},
		{store.MemberFilter{Seat: "without"}, 2},
		{store.MemberFilter{Status: "invited"}, 0},
	} {
		got, err := s.ListMembers(ctx, owner.AccountID, c.f)
		if err != nil || got.Total != c.want || len(got.Rows) != c.want {
			t.Errorf("%+v: total %d rows %d, want %d (%v)", c.f, got.Total, len(got.Rows), c.want, err)
		}
	}
	alice, _ := s.ListMembers(ctx, owner.AccountID, store.MemberFilter{Query: "alice"})
	if r := alice.Rows[0]; r.Email != "alice@globex.test" || fmt.Sprint(r.Products) != "[Acme Analytics]" {
		t.Errorf("alice row = %+v", r)
	}
}

func TestTheLastOwnerCannotBeDemotedOrRemoved(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	owner := storetest.Principal(t, s, "owner@globex.test")
	admin := storetest.Principal(t, s, "admin@globex.test")

	if err := s.ChangeRole(ctx, owner, owner.MembershipID, licensing.Admin); !errors.Is(err, store.ErrLastOwner) {
		t.Fatalf("demote the last owner: %v", err)
	}
	if err := s.RemoveMember(ctx, owner, owner.MembershipID); !errors.Is(err, store.ErrLastOwner) {
		t.Fatalf("remove the last owner: %v", err)
	}
	// Admins never touch owners, nor make them.
	if err := s.ChangeRole(ctx, admin, owner.MembershipID, licensing.Member); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("admin demotes owner: %v", err)
	}
	if err := s.ChangeRole(ctx, admin, admin.MembershipID, licensing.Owner); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("admin makes themself owner: %v", err)
	}
	// With a second owner, the first may step down; then the second is last.
	if err := s.ChangeRole(ctx, owner, admin.MembershipID, licensing.Owner); err != nil {
		t.Fatal(err)
	}
	if err := s.ChangeRole(ctx, owner, owner.MembershipID, licensing.Member); err != nil {
		t.Fatalf("step down with another owner: %v", err)
	}
	if err := s.RemoveMember(ctx, admin, admin.MembershipID); !errors.Is(err, store.ErrLastOwner) {
		t.Fatalf("remove the new last owner: %v", err)
	}
	// The former owner is a member now: their next change is refused.
	if err := s.ChangeRole(ctx, owner, owner.MembershipID, licensing.Owner); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("a member promotes themself: %v", err)
	}
	if n := auditCount(t, s, owner.AccountID, "member.role"); n != 2 {
		t.Errorf("member.role audit entries = %d, want 2", n)
	}
}

func TestRemovingAMemberFreesSeatsAndEndsSessions(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	owner := storetest.Principal(t, s, "owner@globex.test")
	login, err := s.Authenticate(ctx, "alice@globex.test", store.DemoPassword, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	token, _ := s.CreateCustomerSession(ctx, login)
	if err := s.RemoveMember(ctx, owner, login.MembershipID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CustomerSession(ctx, token); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session after removal: %v", err)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM web_session WHERE user_id = $1`, login.UserID); n != 0 {
		t.Errorf("%d session rows left", n)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM seat_assignment WHERE membership_id = $1`, login.MembershipID); n != 0 {
		t.Errorf("%d seats left", n)
	}
	if auditCount(t, s, owner.AccountID, "member.remove") != 1 || auditCount(t, s, owner.AccountID, "seat.unassign") != 1 {
		t.Error("removal not audited with its freed seat")
	}
	if _, err := s.Authenticate(ctx, "alice@globex.test", store.DemoPassword, "10.0.0.1"); !errors.Is(err, store.ErrBadCredentials) {
		t.Errorf("removed member signs in: %v", err)
	}
	// Another account's member is not found, and nothing changes.
	umbrella := storetest.Principal(t, s, "alice@umbrella.test")
	if err := s.RemoveMember(ctx, owner, umbrella.MembershipID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("remove another account's member: %v", err)
	}
	if n := queryInt(t, s, `SELECT count(*) FROM membership WHERE id = $1 AND status = 'active'`, umbrella.MembershipID); n != 1 {
		t.Error("another account's member was changed")
	}
}

func TestInviteDomainRules(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	owner := storetest.Principal(t, s, "owner@globex.test")
	if err := s.SetInviteDomains(ctx, owner, "globex.test, globex.com"); err != nil {
		t.Fatal(err)
	}
	var ve *store.ValidationError
	if err := s.SetInviteDomains(ctx, owner, "globex.test, ???"); !errors.As(err, &ve) {
		t.Fatalf("bad rule: %v", err)
	}
	got, err := s.InviteDomains(ctx, owner.AccountID)
	if err != nil || fmt.Sprint(got) != "[globex.test globex.com]" {
		t.Fatalf("domains = %v, %v", got, err)
	}
	member := storetest.Principal(t, s, "bob@globex.test")
	if err := s.SetInviteDomains(ctx, member, ""); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("member changes domain rules: %v", err)
	}
}

// A total counted for one page is reused by the next only while the
// account's change numbers stand where they were: a change made through
// the store moves them and the list counts again, and a total is never
// taken for another filter or another account.
func TestAMembersTotalIsReusedOnlyUntilTheAccountChanges(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	owner := storetest.Principal(t, s, "owner@globex.test")
	list := func(f store.MemberFilter) store.MemberPage {
		t.Helper()
		page, err := s.ListMembers(ctx, owner.AccountID, f)
		if err != nil {
			t.Fatal(err)
		}
		return page
	}
	first := list(store.MemberFilter{})
	if first.Total != 9 || !first.Counted.Reusable() || first.Counted.Total != 9 {
		t.Fatalf("first page: total %d, counted %+v", first.Total, first.Counted)
	}
	// A row changed behind the store's back moves no change number, so
	// a page given the total before it shows that total: it did not count.
	if _, err := s.DB().Exec(`UPDATE membership SET status = 'deactivated' WHERE id = $1`, membershipOf(t, s, "bob@globex.test")); err != nil {
		t.Fatal(err)
	}
	if got := list(store.MemberFilter{Counted: first.Counted}).Total; got != 9 {
		t.Fatalf("with the total held and nothing announced: %d, want the held 9", got)
	}
	if got := list(store.MemberFilter{}).Total; got != 8 {
		t.Fatalf("counted afresh: %d, want 8", got)
	}
	// Another filter's total, or another account's, is not taken.
	if got := list(store.MemberFilter{Role: "member", Counted: first.Counted}).Total; got != 5 {
		t.Errorf("members only, given the whole list's total: %d, want 5", got)
	}
	umbrella := storetest.Principal(t, s, "alice@umbrella.test")
	theirs, err := s.ListMembers(ctx, umbrella.AccountID, store.MemberFilter{Counted: first.Counted})
	if err != nil || theirs.Total != len(theirs.Rows) {
		t.Errorf("Umbrella given Globex's total: %d for %d rows (%v)", theirs.Total, len(theirs.Rows), err)
	}
	// A change made through the store moves the numbers: counted again.
	if _, err := s.Invite(ctx, owner, store.InviteRequest{Addresses: "new@globex.test", Role: licensing.Member, BaseURL: "http://portal.test"}); err != nil {
		t.Fatal(err)
	}
	after := list(store.MemberFilter{Counted: first.Counted})
	if after.Total != 9 || after.Counted.Seq == first.Counted.Seq {
		t.Fatalf("after an invitation: total %d (want 8 active and 1 invited), numbers %+v then %+v",
			after.Total, first.Counted.Seq, after.Counted.Seq)
	}
	// A search's total is never offered for reuse.
	if found := list(store.MemberFilter{Query: "alice"}); found.Counted.Reusable() {
		t.Errorf("a search's total is offered for reuse: %+v", found.Counted)
	}
}

func TestAPersonsNewNameMovesThemInTheListOfEveryAccountTheyBelongTo(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	pat := storetest.Principal(t, s, "pat@partners.test")
	var accounts []int64
	if err := s.DB().Select(&accounts, `SELECT account_id FROM membership WHERE user_id = $1 ORDER BY account_id`, pat.UserID); err != nil || len(accounts) != 2 {
		t.Fatalf("Pat's accounts: %v (%v), want two", accounts, err)
	}
	emails := func(accountID int64, f store.MemberFilter) []string {
		t.Helper()
		page, err := s.ListMembers(ctx, accountID, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range page.Rows {
			out = append(out, r.Email)
		}
		return out
	}
	for _, name := range []string{"Aaron Abbott", "Zoe Zimmer"} {
		if err := s.SetName(ctx, pat.UserID, name); err != nil {
			t.Fatal(err)
		}
		for _, id := range accounts {
			// The default list and a search (every address has a dot)
			// are different statements.
			for _, f := range []store.MemberFilter{{}, {Query: "."}} {
				got := emails(id, f)
				at := slices.Index(got, "pat@partners.test")
				if want := map[string]int{"Aaron Abbott": 0, "Zoe Zimmer": len(got) - 1}[name]; at != want || len(got) < 2 {
					t.Errorf("account %d %+v after the rename to %s: %v, want Pat at %d", id, f, name, got, want)
				}
			}
		}
	}
	// Someone invited has no name yet: they sort by their address, and
	// take their place by name when they give one.
	owner := storetest.Principal(t, s, "owner@globex.test")
	if _, err := s.Invite(ctx, owner, store.InviteRequest{Addresses: "aaa@globex.test", Role: licensing.Member, BaseURL: "http://portal.test"}); err != nil {
		t.Fatal(err)
	}
	if got := emails(owner.AccountID, store.MemberFilter{}); got[0] != "aaa@globex.test" {
		t.Errorf("after inviting aaa@: %v, want them first", got)
	}
	if err := s.SetName(ctx, int64(queryInt(t, s, `SELECT id FROM app_user WHERE email = 'aaa@globex.test'`)), "Zed Last"); err != nil {
		t.Fatal(err)
	}
	if got := emails(owner.AccountID, store.MemberFilter{}); got[len(got)-1] != "aaa@globex.test" {
		t.Errorf("after aaa@ named themselves Zed Last: %v, want them last", got)
	}
}
