package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// addRule adds a rule as an owner would (the rule's own transaction
// allocates seats at once).
func addRule(t testing.TB, s *store.Store, slug, ownerEmail string, groupID int64, role string, priority int) {
	t.Helper()
	var p store.Principal
	if err := s.DB().QueryRow(`SELECT m.account_id, m.id, u.id, u.email FROM membership m JOIN app_user u ON u.id = m.user_id
		JOIN account a ON a.id = m.account_id WHERE a.slug = $1 AND u.email = $2`, slug, ownerEmail).
		Scan(&p.AccountID, &p.MembershipID, &p.UserID, &p.Email); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChangeProvisioningRules(context.Background(), p, store.RuleChange{Add: &store.RuleInput{
		GroupID: groupID, Role: role, ProductKey: "analytics", Priority: priority}}, false); err != nil {
		t.Fatal(err)
	}
}

func groupRowID(t testing.TB, s *store.Store, scimID string) int64 {
	t.Helper()
	var id int64
	if err := s.DB().Get(&id, `SELECT id FROM idp_group WHERE scim_id = $1`, scimID); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestFiftyConcurrentSCIMAddsForFiveFreeSeats: 50 identity-provider
// requests add 50 people at once to a group whose rule has 5 free seats:
// exactly 5 get a seat and 45 wait, the pool is never exceeded on the way,
// and the background reconciler alone got there.
func TestFiftyConcurrentSCIMAddsForFiveFreeSeats(t *testing.T) {
	t.Parallel()
	p := newSCIMPortal(t)
	if _, err := p.store.DB().Exec(`UPDATE subscription SET seats = 12 WHERE account_id = $1`, p.globex); err != nil {
		t.Fatal(err) // 12 purchased, 7 given by hand: 5 free
	}
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = p.idp.do(http.MethodPost, "/Users", fmt.Sprintf(`{"userName":"racer%02d@globex.test","active":true}`, i)).
			ok(t, http.StatusCreated).str("id")
	}
	gid := p.idp.do(http.MethodPost, "/Groups", `{"displayName":"Racers","members":[]}`).ok(t, http.StatusCreated).str("id")
	addRule(t, p.store, "globex", "owner@globex.test", groupRowID(t, p.store, gid), "member", 10)

	var over atomic.Int64
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() { // the pool must never be exceeded, at any moment
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			default:
			}
			var n int64
			if err := p.store.DB().Get(&n, `SELECT count(*) FROM seat_assignment WHERE account_id = $1`, p.globex); err == nil && n > 12 {
				over.Store(n)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			p.idp.do(http.MethodPatch, "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations":[{"op":"add","path":"members","value":[{"value":"`+id+`"}]}]}`).ok(t, http.StatusNoContent)
		}()
	}
	close(start)
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.reconciler.Idle(ctx); err != nil {
		t.Fatal(err)
	}
	close(stop)
	<-watched
	if n := over.Load(); n > 0 {
		t.Fatalf("the pool of 12 held %d seats at one moment", n)
	}
	seats, waiting := seatsAndWaiting(t, p.store, p.globex)
	if seats != 5 || waiting != 45 {
		t.Fatalf("%d rule seats and %d waiting, want 5 and 45", seats, waiting)
	}
	// The reconciler kicked by the requests did it all: nothing is left.
	rep, err := p.store.Reconcile(ctx, p.globex, store.ReconcileOptions{DryRun: true})
	if err != nil || len(rep.Changes) != 0 {
		t.Fatalf("left for a later run: %v %v", rep.Changes, err)
	}
	g := p.idp.get("/Groups/"+gid).ok(t, http.StatusOK)
	if len(g.at("members").([]any)) != 50 {
		t.Fatalf("the group has %d members", len(g.at("members").([]any)))
	}
	// Positions are 1..45 without gaps, in standing order.
	var positions []int
	if err := p.store.DB().Select(&positions, `SELECT position FROM waiting_entry WHERE account_id = $1 ORDER BY position`, p.globex); err != nil {
		t.Fatal(err)
	}
	for i, pos := range positions {
		if pos != i+1 {
			t.Fatalf("positions %v", positions)
		}
	}

	// A seat bought serves the first waiter at once.
	if _, err := p.store.DB().Exec(`UPDATE subscription SET seats = 13 WHERE account_id = $1`, p.globex); err != nil {
		t.Fatal(err)
	}
	settle(t, p.store, p.reconciler, p.globex)
	if seats, waiting := seatsAndWaiting(t, p.store, p.globex); seats != 6 || waiting != 44 {
		t.Fatalf("after buying a seat: %d seats, %d waiting", seats, waiting)
	}
}

// TestDeprovisioningDeniesChecks: an identity provider's deactivation
// revokes the person's seats, ends their portal sessions and makes checks
// through the API's cache deny, all at once (one transaction, audited with
// the SCIM token's name), for three leavers in turn.
func TestDeprovisioningDeniesChecks(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	idp := scimClient{t: t, base: a.url, token: newSCIMToken(t, a.store, "globex", "Okta production")}
	globex := a.accountID("globex")
	var members []string
	ids := map[string]string{}
	for _, name := range []string{"leaver", "second", "third"} {
		ids[name] = idp.do(http.MethodPost, "/Users", `{"userName":"`+name+`@globex.test","active":true}`).ok(t, http.StatusCreated).str("id")
		members = append(members, `{"value":"`+ids[name]+`"}`)
	}
	gid := idp.do(http.MethodPost, "/Groups", `{"displayName":"Analysts","members":[`+strings.Join(members, ",")+`]}`).ok(t, http.StatusCreated).str("id")
	addRule(t, a.store, "globex", "owner@globex.test", groupRowID(t, a.store, gid), "member", 10)
	key := a.newKey("globex", store.ScopeCheck)
	checkOf := func(name string) string {
		return "/api/v1/accounts/globex/entitlements/dashboards?user=" + name + "@globex.test"
	}
	for name := range ids {
		if c := a.get(checkOf(name), key).check(t); !c.HasAccess {
			t.Fatalf("%s before: %+v", name, c)
		}
	}
	// The leaver has a portal session.
	if _, err := a.store.DB().Exec(`UPDATE app_user SET password_hash = $1 WHERE email = 'leaver@globex.test'`, mustHash(t)); err != nil {
		t.Fatal(err)
	}
	portal := a.portal(t)
	leaver := portal.login("leaver@globex.test")

	for _, name := range []string{"leaver", "second", "third"} {
		idp.do(http.MethodPatch, "/Users/"+ids[name], `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"replace","value":{"active":false}}]}`).ok(t, http.StatusOK)
		if !waitForChange(t, []*apiInstance{a}, []string{key}, checkOf(name), func(c checkAnswer) bool {
			return !c.HasAccess && c.Reason == licensing.ReasonNoSeat
		})[0] {
			t.Fatalf("%s's checks are not denied", name)
		}
	}

	if res, _ := portal.get(leaver, "/"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("the leaver's session still opens the portal: %d", res.StatusCode)
	}
	var actors []string
	if err := a.store.DB().Select(&actors, `SELECT action || ' by ' || actor_label FROM audit_entry
		WHERE account_id = $1 AND actor_type = 'scim' AND action IN ('scim.user.deactivate', 'seat.unassign', 'member.dismiss')
		  AND target_id = (SELECT id::text FROM membership WHERE scim_id = $2)
		ORDER BY seq`, globex, ids["leaver"]); err != nil {
		t.Fatal(err)
	}
	if strings.Join(actors, ", ") != "seat.unassign by Okta production, member.dismiss by Okta production, scim.user.deactivate by Okta production" {
		t.Errorf("audit: %v", actors)
	}
}

func mustHash(t testing.TB) string {
	t.Helper()
	h, err := store.HashPassword(store.DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestDriftPlantedBehindTheApplicationsBackIsRepaired: rows changed with
// plain SQL (a seat given to a deactivated user, a waiting entry nobody is
// entitled to, a dismissed person made active again) are found by the
// reconciler, repaired in one transaction with an audit entry naming each
// cause, and counted; the console shows the count.
func TestDriftPlantedBehindTheApplicationsBackIsRepaired(t *testing.T) {
	t.Parallel()
	p := newSCIMPortal(t)
	uid := p.idp.do(http.MethodPost, "/Users", `{"userName":"gone@globex.test","active":false}`).ok(t, http.StatusCreated).str("id")
	settle(t, p.store, p.reconciler, p.globex)
	var membership, sub, frank int64
	if err := p.store.DB().QueryRow(`SELECT m.id, s.id FROM membership m JOIN subscription s ON s.account_id = m.account_id
		WHERE m.scim_id = $1`, uid).Scan(&membership, &sub); err != nil {
		t.Fatal(err)
	}
	if err := p.store.DB().Get(&frank, `SELECT m.id FROM membership m JOIN app_user u ON u.id = m.user_id WHERE u.email = 'frank@globex.test'`); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO seat_assignment (account_id, subscription_id, membership_id, source) VALUES ($1, $2, $3, 'rule')`,
			[]any{p.globex, sub, membership}},
		{`UPDATE membership SET status = 'active' WHERE account_id = $1 AND id = $2`, []any{p.globex, membership}},
		{`INSERT INTO waiting_entry (account_id, subscription_id, membership_id, since, reason, position)
		  VALUES ($1, $2, $3, now(), 'planted', 1)`, []any{p.globex, sub, frank}},
	} {
		if _, err := p.store.DB().Exec(q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	rep, err := p.store.Reconcile(context.Background(), p.globex, store.ReconcileOptions{DryRun: true})
	if err != nil || len(rep.Changes) != 3 || rep.Drifts != 3 {
		t.Fatalf("dry run: %+v %v", rep, err)
	}
	settle(t, p.store, nil, p.globex)
	var causes []string
	if err := p.store.DB().Select(&causes, `SELECT action || ': ' || (after->>'cause') FROM audit_entry
		WHERE account_id = $1 AND actor_label = 'reconciler' ORDER BY seq`, p.globex); err != nil {
		t.Fatal(err)
	}
	want := []string{"seat.unassign: drift repaired: seat held by a deactivated user",
		"seat.unwait: drift repaired: no rule entitles this person to wait any more",
		"member.dismiss: drift repaired: deactivated in the identity provider"}
	if strings.Join(causes, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit causes:\n%s\nwant\n%s", strings.Join(causes, "\n"), strings.Join(want, "\n"))
	}
	if rep, _ := p.store.Reconcile(context.Background(), p.globex, store.ReconcileOptions{DryRun: true}); len(rep.Changes) != 0 {
		t.Errorf("drift left: %v", rep.Changes)
	}
	if brk, _, err := p.store.VerifyAudit(context.Background()); err != nil || brk != nil {
		t.Errorf("audit chain: %v %v", brk, err)
	}
	c := p.staffLogin("support@acme.test")
	_, doc := p.get(c, "/admin/accounts/globex")
	if got, _ := doc.Find(`[data-testid="admin-drifts"]`).Attr("data-count"); got != "3" {
		t.Errorf("console drift count = %q, want 3", got)
	}
}
