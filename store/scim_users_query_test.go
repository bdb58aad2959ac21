package store_test

import (
	"testing"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// An identity provider asks for a userName before each create: it finds
// the one user in any case, with their groups, and only in the token's
// own account; a page past the match is empty but counts it.
func TestAUserNameFilterFindsTheOneUserInAnyCase(t *testing.T) {
	t.Parallel()
	e := newProvEnv(t)
	ann := e.user("ann@globex.test")
	e.user("anne@globex.test")
	e.group("Engineering", ann)

	name := func(s string) *string { return &s }
	users, total, err := e.s.SCIMUsers(e.ctx, e.tok.AccountID, store.SCIMUserQuery{UserName: name("ANN@Globex.TEST"), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if total != 1 || len(users) != 1 || users[0].ID != ann.ID {
		t.Fatalf("userName eq ANN@Globex.TEST found %d (total %d): %+v, want ann alone", len(users), total, users)
	}
	if len(users[0].Groups) != 1 || users[0].Groups[0].Display != "Engineering" {
		t.Fatalf("ann's groups: %+v, want Engineering", users[0].Groups)
	}

	users, total, err = e.s.SCIMUsers(e.ctx, e.tok.AccountID, store.SCIMUserQuery{UserName: name("ann@globex.test"), Offset: 1, Limit: 100})
	if err != nil || total != 1 || len(users) != 0 {
		t.Fatalf("the page after the match: %d users, total %d, err %v; want none, total 1", len(users), total, err)
	}
	users, total, err = e.s.SCIMUsers(e.ctx, e.tok.AccountID, store.SCIMUserQuery{UserName: name("ann@globex.test")})
	if err != nil || total != 1 || len(users) != 0 {
		t.Fatalf("count only: %d users, total %d, err %v; want none, total 1", len(users), total, err)
	}

	other := storetest.Principal(t, e.s, "owner@initech.test")
	users, total, err = e.s.SCIMUsers(e.ctx, other.AccountID, store.SCIMUserQuery{UserName: name("ann@globex.test"), Limit: 100})
	if err != nil || total != 0 || len(users) != 0 {
		t.Fatalf("another account asked for Globex's ann: %d users, total %d, err %v; want none", len(users), total, err)
	}
	users, total, err = e.s.SCIMUsers(e.ctx, e.tok.AccountID, store.SCIMUserQuery{UserName: name("nobody@globex.test"), Limit: 100})
	if err != nil || total != 0 || users == nil || len(users) != 0 {
		t.Fatalf("a newcomer: %v users, total %d, err %v; want an empty list", users, total, err)
	}
}
