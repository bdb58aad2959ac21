package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/entitle-dev/entitle/store"
)

// Creates sent together by one token share transactions; each still gets
// its own answer (a conflict fails that create alone) and its own audit
// entry, and the chain holds.
func TestConcurrentCreatesAreEachAnsweredAndAudited(t *testing.T) {
	t.Parallel()
	e := newProvEnv(t)
	e.user("taken@globex.test")

	type create struct{ userName, email string }
	var creates []create
	for i := range 40 {
		creates = append(creates, create{fmt.Sprintf("person%02d@globex.test", i), fmt.Sprintf("person%02d@globex.test", i)})
	}
	// Pairs that claim one userName (in another case, with another
	// address): one of each pair is made, the other is a conflict.
	for i := range 8 {
		creates = append(creates,
			create{fmt.Sprintf("pair%d@globex.test", i), fmt.Sprintf("pair%d@globex.test", i)},
			create{fmt.Sprintf("PAIR%d@Globex.test", i), fmt.Sprintf("pair%d.other@globex.test", i)})
	}
	// A userName in use before, and an address already provisioned.
	creates = append(creates, create{"TAKEN@globex.test", "someone@globex.test"}, create{"alias@globex.test", "taken@globex.test"})

	type answer struct {
		user store.SCIMUser
		err  error
	}
	answers := make([]answer, len(creates))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range creates {
		wg.Go(func() {
			doc, _ := json.Marshal(map[string]any{"userName": c.userName, "active": true})
			<-start
			u, err := e.s.CreateSCIMUser(e.ctx, e.tok, store.SCIMUserInput{UserName: c.userName, Email: c.email,
				Active: true, Attributes: doc})
			answers[i] = answer{u, err}
		})
	}
	close(start)
	wg.Wait()

	made := map[string]string{} // membership id → userName
	pairs := map[string]int{}
	for i, c := range creates {
		a := answers[i]
		key := strings.ToLower(c.userName)
		switch {
		case strings.HasPrefix(key, "person"):
			if a.err != nil || a.user.UserName != c.userName || a.user.ID == "" {
				t.Fatalf("create %s: %+v %v", c.userName, a.user, a.err)
			}
		case strings.HasPrefix(key, "pair"):
			if a.err == nil {
				pairs[key]++
				if a.user.UserName != c.userName {
					t.Fatalf("create %s answered %s", c.userName, a.user.UserName)
				}
			} else if !errors.Is(a.err, store.ErrConflict) {
				t.Fatalf("create %s: %v, want a conflict or a user", c.userName, a.err)
			}
		default:
			if !errors.Is(a.err, store.ErrConflict) {
				t.Fatalf("create %s (%s): %v, want a conflict", c.userName, c.email, a.err)
			}
			continue
		}
		if a.err == nil {
			if _, dup := made[itoa(a.user.MembershipID)]; dup {
				t.Fatalf("two creates answered membership %d", a.user.MembershipID)
			}
			made[itoa(a.user.MembershipID)] = c.userName
		}
	}
	for i := range 8 {
		if n := pairs[fmt.Sprintf("pair%d@globex.test", i)]; n != 1 {
			t.Fatalf("pair %d: %d creates made, want 1", i, n)
		}
	}
	if len(made) != 48 {
		t.Fatalf("%d creates made, want 48", len(made))
	}

	var audited []struct {
		TargetID string `db:"target_id"`
		After    []byte `db:"after"`
	}
	if err := e.s.DB().SelectContext(e.ctx, &audited, `SELECT target_id, after FROM audit_entry
WHERE account_id = $1 AND action = 'scim.user.create' AND target_id <> $2`, e.tok.AccountID,
		itoa(e.user("later@globex.test").MembershipID)); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range audited {
		var after struct {
			UserName string `json:"userName"`
		}
		_ = json.Unmarshal(a.After, &after)
		if after.UserName == "taken@globex.test" {
			continue
		}
		if made[a.TargetID] != after.UserName || seen[a.TargetID] {
			t.Fatalf("audit entry for membership %s names %q (made: %q, seen before: %v)", a.TargetID, after.UserName,
				made[a.TargetID], seen[a.TargetID])
		}
		seen[a.TargetID] = true
	}
	if len(seen) != len(made) {
		t.Fatalf("%d creates audited, want %d", len(seen), len(made))
	}
	if brk, _, err := e.s.VerifyAudit(e.ctx); err != nil || brk != nil {
		t.Fatalf("audit chain: %v %v", brk, err)
	}
}

// A batch of creates is answered as each create would be alone, whether
// every create in it is a new person (an initial import: one statement
// makes them all) or some are not (a login to use, a member to link, a
// conflict: made one at a time).
func TestABatchOfCreatesIsAnsweredAsEachAlone(t *testing.T) {
	t.Parallel()
	type create struct {
		userName, email, externalID string
		active                      bool
		want                        string // "made", "conflict"
		status                      string // the membership's standing when made
		named                       bool   // the login carries the name sent (a login of its own)
	}
	cases := []struct {
		name    string
		creates []create
	}{
		{"every create a new person", []create{
			{"n1@globex.test", "n1@globex.test", "00u1", true, "made", "active", true},
			{"N2@Globex.test", "n2@globex.test", "", true, "made", "active", true},
			{"n3@globex.test", "n3@globex.test", "00u3", false, "made", "deactivated", true},
			{"n4", "n4@globex.test", "00u4", true, "made", "active", true},
		}},
		{"a login of another account and a member by hand", []create{
			{"m1@globex.test", "m1@globex.test", "", true, "made", "active", true},
			{"peter@initech.test", "peter@initech.test", "00up", true, "made", "active", false},
			{"alice@globex.test", "alice@globex.test", "00ua", true, "made", "", false},
			{"m2@globex.test", "m2@globex.test", "", true, "made", "active", true},
		}},
		{"two creates of one address", []create{
			{"d1@globex.test", "d1@globex.test", "", true, "made", "active", true},
			{"twice@globex.test", "twice@globex.test", "", true, "made", "active", true},
			{"twice.alias", "TWICE@globex.test", "", true, "conflict", "", false},
		}},
		{"a userName in use", []create{
			{"u1@globex.test", "u1@globex.test", "", true, "made", "active", true},
			{"TAKEN@globex.test", "someone@globex.test", "", true, "conflict", "", false},
			{"u2@globex.test", "u2@globex.test", "", true, "made", "active", true},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newProvEnv(t)
			e.user("taken@globex.test")
			var ins []store.SCIMUserInput
			for _, c := range tc.creates {
				doc, _ := json.Marshal(map[string]any{"userName": c.userName, "active": c.active})
				ins = append(ins, store.SCIMUserInput{UserName: c.userName, Email: c.email, ExternalID: c.externalID,
					Name: "Name of " + c.userName, Active: c.active, Attributes: doc})
			}
			var eventsBefore int64
			if err := e.s.DB().GetContext(e.ctx, &eventsBefore, `SELECT coalesce(max(seq), 0) FROM webhook_event
WHERE account_id = $1`, e.tok.AccountID); err != nil {
				t.Fatal(err)
			}
			users, errs := e.s.CreateSCIMUsersTogether(e.tok, ins)
			for i, c := range tc.creates {
				u, err := users[i], errs[i]
				if c.want == "conflict" {
					if !errors.Is(err, store.ErrConflict) {
						t.Fatalf("create %s: %+v %v, want a conflict", c.userName, u, err)
					}
					continue
				}
				if err != nil || u.UserName != c.userName || u.ID == "" || u.Active != c.active ||
					u.ExternalID.String != c.externalID {
					t.Fatalf("create %s: %+v %v", c.userName, u, err)
				}
				var row struct {
					Status string `db:"status"`
					Email  string `db:"email"`
					Name   string `db:"name"`
					Source string `db:"source"`
				}
				if err := e.s.DB().GetContext(e.ctx, &row, `SELECT m.status, u.email, u.name, m.source FROM membership m
JOIN app_user u ON u.id = m.user_id WHERE m.account_id = $1 AND m.scim_id = $2`, e.tok.AccountID, u.ID); err != nil {
					t.Fatal(err)
				}
				if !strings.EqualFold(row.Email, c.email) || row.Source != "scim" || (c.status != "" && row.Status != c.status) ||
					(row.Name == "Name of "+c.userName) != c.named {
					t.Fatalf("create %s stored %+v, want %s, standing %q", c.userName, row, c.email, c.status)
				}
				// An active newcomer is announced to the vendor's webhooks
				// by the batch, once, as the member they are.
				var joined []struct {
					UserID int64  `db:"user_id"`
					Email  string `db:"email"`
					Status string `db:"status"`
				}
				if err := e.s.DB().SelectContext(e.ctx, &joined, `SELECT (payload->'data'->>'user_id')::bigint AS user_id,
       payload->'data'->>'email' AS email, payload->'data'->>'status' AS status
FROM webhook_event WHERE account_id = $1 AND seq > $2 AND type = 'member.joined'
  AND payload->'data'->>'membership_id' = $3`, e.tok.AccountID, eventsBefore, itoa(u.MembershipID)); err != nil {
					t.Fatal(err)
				}
				var userID int64
				if err := e.s.DB().GetContext(e.ctx, &userID, `SELECT user_id FROM membership WHERE id = $1`, u.MembershipID); err != nil {
					t.Fatal(err)
				}
				wantJoined := 0
				if row.Status == "active" {
					wantJoined = 1
				}
				if len(joined) != wantJoined || (wantJoined == 1 && (joined[0].UserID != userID ||
					!strings.EqualFold(joined[0].Email, c.email) || joined[0].Status != "active")) {
					t.Fatalf("create %s (%s): member.joined events %+v, want %d for user %d", c.userName, row.Status, joined,
						wantJoined, userID)
				}
				var audited int
				if err := e.s.DB().GetContext(e.ctx, &audited, `SELECT count(*) FROM audit_entry
WHERE account_id = $1 AND action = 'scim.user.create' AND target_id = $2`, e.tok.AccountID, itoa(u.MembershipID)); err != nil || audited != 1 {
					t.Fatalf("create %s audited %d times (%v), want once", c.userName, audited, err)
				}
			}
			var logins int
			if err := e.s.DB().GetContext(e.ctx, &logins, `SELECT count(*) FROM app_user WHERE lower(email) = 'twice@globex.test'`); err != nil || logins > 1 {
				t.Fatalf("%d logins for one address (%v)", logins, err)
			}
			if brk, _, err := e.s.VerifyAudit(e.ctx); err != nil || brk != nil {
				t.Fatalf("audit chain: %v %v", brk, err)
			}
		})
	}
}
