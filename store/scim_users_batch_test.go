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
