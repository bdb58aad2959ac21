package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// fixedClock is a clock tests can move.
type fixedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fixedClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func TestMigrateTwiceAtOnceAppliesEachMigrationOnce(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t) // already migrated from the template: run again, twice, concurrently
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = store.Migrate(context.Background(), db)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`); err != nil {
		t.Fatal(err)
	}
	if want := countMigrations(t); n != want {
		t.Fatalf("goose_db_version has %d applied rows, want %d", n, want)
	}
}

func countMigrations(t *testing.T) int {
	t.Helper()
	entries, err := migrationsDir()
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestDemoGlobexOverviewFigures(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	acct, err := s.AccountBySlug(ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	state, err := s.AccountState(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	p := state.Products[0]
	if p.Plan == nil || p.Plan.Key != "team" || p.Subscription.Status != licensing.Active {
		t.Fatalf("Globex plan = %+v %+v, want team active", p.Plan, p.Subscription)
	}
	if p.Seats != 10 || p.SeatsAssigned != 7 {
		t.Fatalf("Globex seats = %d/%d, want 7 of 10", p.SeatsAssigned, p.Seats)
	}
	got := map[string]licensing.Reason{}
	for _, fd := range p.Evaluate(s.Now()) {
		got[fd.Feature.Key] = fd.Decision.Reason
	}
	want := map[string]licensing.Reason{"dashboards": "ok", "exports": "not_in_plan", "sso": "not_in_plan", "api_calls": "ok", "projects": "ok"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("feature %s: reason %q, want %q", k, got[k], w)
		}
	}
}

func TestAccountStateIsScopedToTheAccount(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	for slug, plan := range map[string]string{"globex": "team", "initech": "business", "umbrella": "team"} {
		acct, err := s.AccountBySlug(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		state, err := s.AccountState(ctx, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		if state.Account != slug || state.Products[0].Plan.Key != plan {
			t.Errorf("%s: state for %s on %s", slug, state.Account, state.Products[0].Plan.Key)
		}
	}
	initech, _ := s.AccountBySlug(ctx, "initech")
	state, _ := s.AccountState(ctx, initech.ID)
	if used := state.Products[0].Usage["api_calls"]; used != 900 {
		t.Errorf("Initech api_calls used = %d, want its own 900 (not another account's)", used)
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	if _, err := s.Authenticate(ctx, "Owner@Globex.test", store.DemoPassword, "10.0.0.1"); err != nil {
		t.Fatalf("right password, email in other case: %v", err)
	}
	_, errWrongPassword := s.Authenticate(ctx, "owner@globex.test", "nope", "10.0.0.1")
	_, errUnknownEmail := s.Authenticate(ctx, "nobody@globex.test", "nope", "10.0.0.1")
	if !errors.Is(errWrongPassword, store.ErrBadCredentials) || !errors.Is(errUnknownEmail, store.ErrBadCredentials) ||
		errWrongPassword.Error() != errUnknownEmail.Error() {
		t.Fatalf("wrong password gave %v, unknown email gave %v: want the same ErrBadCredentials", errWrongPassword, errUnknownEmail)
	}
}

func TestRepeatedFailuresAreThrottledEvenWithTheRightPassword(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{now: time.Now().UTC()}
	s := storetest.NewDemo(t, clock)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := s.Authenticate(ctx, "owner@globex.test", "guess", "10.0.0.9"); !errors.Is(err, store.ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	_, err := s.Authenticate(ctx, "owner@globex.test", store.DemoPassword, "10.0.0.9")
	if !errors.Is(err, store.ErrThrottled) {
		t.Fatalf("6th attempt with the right password: %v, want throttled", err)
	}
	// Another email from another address is not affected.
	if _, err := s.Authenticate(ctx, "owner@initech.test", store.DemoPassword, "10.0.0.10"); err != nil {
		t.Fatalf("other email: %v", err)
	}
	clock.mu.Lock()
	clock.now = clock.now.Add(16 * time.Minute)
	clock.mu.Unlock()
	if _, err := s.Authenticate(ctx, "owner@globex.test", store.DemoPassword, "10.0.0.9"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestRemovedMembershipEndsTheSession(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	login, err := s.Authenticate(ctx, "alice@globex.test", store.DemoPassword, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.CreateCustomerSession(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	if sess, err := s.CustomerSession(ctx, token); err != nil || sess.Email != "alice@globex.test" {
		t.Fatalf("session = %+v, %v", sess, err)
	}
	if _, err := s.DB().Exec(`UPDATE membership SET status = 'deactivated' WHERE id = $1`, login.MembershipID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CustomerSession(ctx, token); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session after deactivation: %v, want ErrNotFound", err)
	}
	if _, err := s.CustomerSession(ctx, "forged-token"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("forged token: %v", err)
	}
}

func TestAuditLogRefusesUpdateAndDelete(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	for _, q := range []string{
		`UPDATE audit_entry SET action = 'forged' WHERE seq = 1`,
		`DELETE FROM audit_entry WHERE seq = 1`,
		`TRUNCATE audit_entry`,
	} {
		_, err := s.DB().Exec(q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want refused as append-only", q, err)
		}
	}
}

// Changes racing to one account's audit log each find the head the one
// before them left: the chain stays one line, numbered without gaps.
func TestRacingChangesAppendToOneAuditChain(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	owner := storetest.Principal(t, s, "owner@globex.test")
	var before int
	if err := s.DB().Get(&before, `SELECT count(*) FROM audit_entry WHERE account_id = $1`, owner.AccountID); err != nil {
		t.Fatal(err)
	}
	start := make(chan struct{})
	errs := make([]error, 40)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			e := store.AuditEvent{AccountID: owner.AccountID, Actor: store.SystemActor("test"), Action: "test.race",
				TargetType: "test", TargetID: fmt.Sprint(i)}
			<-start
			errs[i] = s.AppendAudit(ctx, i%2 == 0, e)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	var chain struct {
		N   int   `db:"n"`
		Max int64 `db:"max"`
	}
	if err := s.DB().Get(&chain, `SELECT count(*) AS n, max(seq) AS max FROM audit_entry WHERE account_id = $1`,
		owner.AccountID); err != nil {
		t.Fatal(err)
	}
	if chain.N < before+len(errs) || int64(chain.N) != chain.Max {
		t.Fatalf("%d entries numbered up to %d, want at least %d numbered without gaps", chain.N, chain.Max, before+len(errs))
	}
	if brk, _, err := s.VerifyAudit(ctx); err != nil || brk != nil {
		t.Fatalf("audit chain after the race: %v %v", brk, err)
	}
}

func TestAuditVerifyFindsTheFirstBrokenLink(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	brk, n, err := s.VerifyAudit(ctx)
	if err != nil || brk != nil || n == 0 {
		t.Fatalf("fresh chain: break %v, %d entries, err %v", brk, n, err)
	}
	// Tamper behind the database's back, as a superuser could.
	var id int64
	if err := s.DB().Get(&id, `SELECT id FROM audit_entry WHERE account_id <> 0 AND seq = 3 ORDER BY account_id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_update`,
		`UPDATE audit_entry SET after = '{"role": "owner"}' WHERE id = ` + itoa(id),
		`ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_no_update`,
	} {
		if _, err := s.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	brk, _, err = s.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if brk == nil || brk.EntryID != id || !strings.Contains(brk.Problem, "altered") {
		t.Fatalf("break = %+v, want entry %d reported as altered", brk, id)
	}
}
