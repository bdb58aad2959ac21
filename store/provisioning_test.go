package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// provEnv is Globex (team, 10 seats, 7 assigned by hand: 3 free) with a
// SCIM token.
type provEnv struct {
	t     *testing.T
	s     *store.Store
	ctx   context.Context
	owner store.Principal
	tok   store.SCIMToken
	sub   int64
}

func newProvEnv(t *testing.T) *provEnv {
	t.Helper()
	s := storetest.NewDemo(t, nil)
	e := &provEnv{t: t, s: s, ctx: context.Background(), owner: storetest.Principal(t, s, "owner@globex.test")}
	tok, err := s.CreateSCIMToken(e.ctx, e.owner, "Okta")
	if err != nil {
		t.Fatal(err)
	}
	e.tok = tok.SCIMToken
	pools, _ := s.SeatPools(e.ctx, e.owner.AccountID)
	e.sub = pools[0].SubscriptionID
	return e
}

func (e *provEnv) user(userName string) store.SCIMUser {
	e.t.Helper()
	doc, _ := json.Marshal(map[string]any{"userName": userName, "active": true})
	u, err := e.s.CreateSCIMUser(e.ctx, e.tok, store.SCIMUserInput{UserName: userName, Email: userName, Active: true, Attributes: doc})
	if err != nil {
		e.t.Fatalf("create %s: %v", userName, err)
	}
	return u
}

func (e *provEnv) group(name string, members ...store.SCIMUser) store.SCIMGroup {
	e.t.Helper()
	var ids []string
	for _, m := range members {
		ids = append(ids, m.ID)
	}
	g, err := e.s.CreateSCIMGroup(e.ctx, e.tok, store.SCIMGroupInput{DisplayName: name, Attributes: []byte(`{}`)}, ids)
	if err != nil {
		e.t.Fatalf("group %s: %v", name, err)
	}
	return g
}

func (e *provEnv) rule(g store.SCIMGroup, role, product string, priority int) {
	e.t.Helper()
	if _, err := e.s.ChangeProvisioningRules(e.ctx, e.owner, store.RuleChange{Add: &store.RuleInput{GroupID: g.GroupID,
		Role: role, ProductKey: product, Priority: priority}}, false); err != nil {
		e.t.Fatalf("rule: %v", err)
	}
}

func (e *provEnv) reconcile() store.ReconcileReport {
	e.t.Helper()
	rep, err := e.s.Reconcile(e.ctx, e.owner.AccountID, store.ReconcileOptions{})
	if err != nil {
		e.t.Fatalf("reconcile: %v", err)
	}
	return rep
}

// seats lists who holds a seat of Globex's pool, by email, with its source.
func (e *provEnv) seats() map[string]string {
	e.t.Helper()
	rows, err := e.s.DB().Query(`SELECT u.email, sa.source, sa.pinned FROM seat_assignment sa
		JOIN membership m ON m.id = sa.membership_id JOIN app_user u ON u.id = m.user_id WHERE sa.subscription_id = $1`, e.sub)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var email, source string
		var pinned bool
		_ = rows.Scan(&email, &source, &pinned)
		if pinned {
			source += "+pinned"
		}
		out[email] = source
	}
	return out
}

func (e *provEnv) waiting() []string {
	e.t.Helper()
	var out []string
	if err := e.s.DB().Select(&out, `SELECT u.email FROM waiting_entry w JOIN membership m ON m.id = w.membership_id
		JOIN app_user u ON u.id = m.user_id WHERE w.subscription_id = $1 ORDER BY w.position`, e.sub); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *provEnv) status(email string) string {
	e.t.Helper()
	var st string
	if err := e.s.DB().Get(&st, `SELECT m.status || '/' || m.role FROM membership m JOIN app_user u ON u.id = m.user_id
		WHERE m.account_id = $1 AND lower(u.email) = lower($2)`, e.owner.AccountID, email); err != nil {
		e.t.Fatal(err)
	}
	return st
}

func TestRulesGiveSeatsAndWaitingListServesThem(t *testing.T) {
	t.Parallel()
	e := newProvEnv(t)
	var eng []store.SCIMUser
	for i := range 5 {
		eng = append(eng, e.user(fmt.Sprintf("eng%d@globex.test", i)))
	}
	g := e.group("Engineering", eng...)
	e.rule(g, "admin", "analytics", 10) // the rule change reconciles in its own transaction
	seats := e.seats()
	ruleSeats := 0
	for _, src := range seats {
		if src == "rule" {
			ruleSeats++
		}
	}
	if ruleSeats != 3 || len(seats) != 10 {
		t.Fatalf("seats after the rule: %v", seats)
	}
	if w := e.waiting(); len(w) != 2 || w[0] != "eng3@globex.test" || w[1] != "eng4@globex.test" {
		t.Fatalf("waiting = %v", w)
	}
	if st := e.status("eng0@globex.test"); st != "active/admin" {
		t.Errorf("eng0 = %s", st)
	}
	if rep := e.reconcile(); len(rep.Changes) != 0 {
		t.Fatalf("steady state has changes: %v", rep.Changes)
	}

	// Deprovisioning eng0 frees a seat at once; the reconciler serves eng3.
	_, err := e.s.UpdateSCIMUser(e.ctx, e.tok, eng[0].ID, func(cur store.SCIMUser) (store.SCIMUserInput, error) {
		return store.SCIMUserInput{UserName: cur.UserName, Email: cur.UserName, Active: false, Attributes: cur.Attributes}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, held := e.seats()["eng0@globex.test"]; held {
		t.Fatal("a deactivated user keeps a seat")
	}
	if st := e.status("eng0@globex.test"); st != "deactivated/admin" {
		t.Errorf("eng0 after deactivation = %s", st)
	}
	rep := e.reconcile()
	if rep.Drifts != 0 || e.seats()["eng3@globex.test"] != "rule" {
		t.Fatalf("after deactivation: %+v, seats %v", rep, e.seats())
	}
	if w := e.waiting(); len(w) != 1 || w[0] != "eng4@globex.test" {
		t.Fatalf("waiting = %v", w)
	}

	// A drift planted behind the application's back: a deactivated user
	// given a seat. The reconciler repairs and counts it.
	if _, err := e.s.DB().Exec(`INSERT INTO seat_assignment (account_id, subscription_id, membership_id, source)
		VALUES ($1, $2, $3, 'rule')`, e.owner.AccountID, e.sub, eng[0].MembershipID); err != nil {
		t.Fatal(err)
	}
	rep = e.reconcile()
	if rep.Drifts != 1 || !strings.Contains(rep.Changes[0].Cause(), "drift repaired: seat held by a deactivated user") {
		t.Fatalf("drift repair: %+v", rep)
	}
	f, _ := e.s.ProvisioningFigures(e.ctx, e.owner.AccountID)
	if f.Drifts != 1 {
		t.Errorf("drift counter = %d", f.Drifts)
	}
	if brk, _, err := e.s.VerifyAudit(e.ctx); err != nil || brk != nil {
		t.Fatalf("audit chain: %v %v", brk, err)
	}
}

func TestUserNameIsUniqueCaseInsensitively(t *testing.T) {
	t.Parallel()
	e := newProvEnv(t)
	e.user("Bob@Globex.test")
	doc := []byte(`{"userName":"bob@globex.TEST"}`)
	_, err := e.s.CreateSCIMUser(e.ctx, e.tok, store.SCIMUserInput{UserName: "bob@globex.TEST", Email: "other@globex.test", Active: true, Attributes: doc})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate userName: %v", err)
	}
	users, total, err := e.s.SCIMUsers(e.ctx, e.owner.AccountID, store.SCIMUserQuery{UserName: ptr("BOB@GLOBEX.TEST"), Limit: 10})
	if err != nil || total != 1 || users[0].UserName != "Bob@Globex.test" {
		t.Fatalf("filter: %v %d %v", users, total, err)
	}
}

func TestLinkingAManualMemberKeepsTheOwner(t *testing.T) {
	t.Parallel()
	e := newProvEnv(t)
	owner := e.user("owner@globex.test")
	g := e.group("Staff", owner)
	e.rule(g, "member", "", 5)
	if st := e.status("owner@globex.test"); st != "active/owner" {
		t.Fatalf("owner after a member rule = %s", st)
	}
	_ = licensing.Owner
}

func ptr(s string) *string { return &s }

// A new provisioned person's standing, decided as the user is created, is
// the one the rules decide: the reconciler finds nothing to change.
func TestNewUsersStandingIsWhatTheRulesDecide(t *testing.T) {
	t.Parallel()
	e := newProvEnv(t)
	create := func(name string, active bool) {
		doc, _ := json.Marshal(map[string]any{"userName": name, "active": active})
		if _, err := e.s.CreateSCIMUser(e.ctx, e.tok, store.SCIMUserInput{UserName: name, Email: name, Active: active, Attributes: doc}); err != nil {
			t.Fatal(err)
		}
	}
	create("on@globex.test", true)
	create("off@globex.test", false)
	if _, err := e.s.ChangeProvisioningRules(e.ctx, e.owner, store.RuleChange{Unmatched: licensing.UnmatchedDeny}, false); err != nil {
		t.Fatal(err)
	}
	create("denied@globex.test", true)
	for email, want := range map[string]string{"on@globex.test": "deactivated/member", "off@globex.test": "deactivated/member",
		"denied@globex.test": "deactivated/member"} {
		if got := e.status(email); got != want {
			t.Errorf("%s = %s, want %s", email, got, want)
		}
	}
	if rep, err := e.s.Reconcile(e.ctx, e.owner.AccountID, store.ReconcileOptions{DryRun: true}); err != nil || len(rep.Changes) != 0 {
		t.Fatalf("the reconciler disagrees: %v %v", rep.Changes, err)
	}
	if _, err := e.s.ChangeProvisioningRules(e.ctx, e.owner, store.RuleChange{Unmatched: licensing.UnmatchedMember}, false); err != nil {
		t.Fatal(err)
	}
	create("admitted@globex.test", true)
	if got := e.status("admitted@globex.test"); got != "active/member" {
		t.Errorf("admitted = %s", got)
	}
	if got := e.status("on@globex.test"); got != "active/member" {
		t.Errorf("on@ after the policy is member again = %s", got)
	}
	if rep, _ := e.s.Reconcile(e.ctx, e.owner.AccountID, store.ReconcileOptions{DryRun: true}); len(rep.Changes) != 0 {
		t.Fatalf("the reconciler disagrees: %v", rep.Changes)
	}
}
