package billing_test

import (
	"strings"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// newTeamVersion applies the demo catalog with the team plan changed by
// edit, making version 2 (Globex and Umbrella are on version 1).
func (e *env) newTeamVersion(edit func(string) string) {
	e.t.Helper()
	cat, err := store.ParseCatalog([]byte(edit(string(store.DemoCatalog()))))
	if err != nil {
		e.t.Fatal(err)
	}
	products, err := cat.Validate()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.ApplyCatalog(e.ctx, store.SystemActor("test"), products); err != nil {
		e.t.Fatal(err)
	}
}

// scheduleTeamMove schedules Globex's move to team version 2 at a fixed
// date, with notice, leaving Umbrella out.
func (e *env) scheduleTeamMove(at time.Time, notice time.Duration) {
	e.t.Helper()
	target, err := e.store.PlanMigrationTarget(e.ctx, "analytics", "team", 2)
	if err != nil {
		e.t.Fatal(err)
	}
	timing := licensing.MigrationTiming{At: at, Notice: notice}
	var moves []store.MigrationMove
	for _, c := range target.Candidates {
		if c.Slug == "umbrella" {
			continue
		}
		effective, err := timing.EffectiveAt(c.PeriodEnd.Time, e.clock.Now())
		if err != nil {
			e.t.Fatal(err)
		}
		moves = append(moves, store.MigrationMove{Candidate: c, NotifyAt: timing.NoticeAt(effective), EffectiveAt: effective})
	}
	if len(moves) != 1 {
		e.t.Fatalf("candidates = %+v, want Globex (and Umbrella, excluded)", target.Candidates)
	}
	if _, err := e.store.SchedulePlanMigration(e.ctx, store.SystemActor("test"), target, false, int(notice/(24*time.Hour)), moves); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) teamVersion(slug string) int {
	e.t.Helper()
	var v int
	if err := e.store.DB().Get(&v, `
SELECT pv.version FROM subscription s JOIN account a ON a.id = s.account_id JOIN plan_version pv ON pv.id = s.plan_version_id
WHERE a.slug = $1`, slug); err != nil {
		e.t.Fatal(err)
	}
	return v
}

func (e *env) migrationMail(to string) (subject, body string, n int) {
	e.t.Helper()
	var rows []struct {
		Subject string `db:"subject"`
		Body    string `db:"body"`
	}
	if err := e.store.DB().Select(&rows, `SELECT subject, body FROM outbox WHERE kind = 'plan_migration' AND to_address = $1`, to); err != nil {
		e.t.Fatal(err)
	}
	if len(rows) == 0 {
		return "", "", 0
	}
	return rows[0].Subject, rows[0].Body, len(rows)
}

func TestSubscribersMoveToANewVersionWithNotice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.newTeamVersion(func(c string) string { return strings.Replace(c, "api_calls: 50000", "api_calls: 40000", 1) })
	day := 24 * time.Hour
	start := e.clock.Now()
	at := start.Add(20 * day).Truncate(24 * time.Hour)
	e.scheduleTeamMove(at, 14*day)

	run := func() (int, int) {
		t.Helper()
		n, m, err := e.b.RunPlanMigrations(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n, m
	}
	// Before the notice date nothing happens.
	if n, m := run(); n != 0 || m != 0 {
		t.Fatalf("before the notice: %d notices, %d moves", n, m)
	}
	e.clock.Advance(7 * day) // past the notice date (20 - 14 days)
	if n, m := run(); n != 1 || m != 0 {
		t.Fatalf("at the notice: %d notices, %d moves, want 1 and 0", n, m)
	}
	subject, body, count := e.migrationMail("owner@globex.test")
	if count != 1 || !strings.Contains(subject, "Your Team plan changes on "+at.UTC().Format("2 January 2006")) ||
		!strings.Contains(body, "API calls: 50,000 → 40,000") {
		t.Fatalf("notice mail (%d): %q\n%s", count, subject, body)
	}
	if _, _, n := e.migrationMail("owner@umbrella.test"); n != 0 {
		t.Error("the excluded account was mailed")
	}
	if n, _ := run(); n != 0 {
		t.Errorf("the notice went out again: %d", n)
	}
	if v := e.teamVersion("globex"); v != 1 {
		t.Fatalf("Globex moved before the date: version %d", v)
	}

	e.clock.Advance(14 * day) // past the date
	if _, m := run(); m != 1 {
		t.Fatalf("at the date: %d moves, want 1", m)
	}
	if v, u := e.teamVersion("globex"), e.teamVersion("umbrella"); v != 2 || u != 1 {
		t.Fatalf("after the date: Globex on version %d (want 2), Umbrella on %d (want 1: excluded)", v, u)
	}
	state, err := e.store.AccountState(e.ctx, e.accountID("globex"))
	if err != nil {
		t.Fatal(err)
	}
	if l := state.Products[0].Values["api_calls"].Limit; l == nil || *l != 40000 {
		t.Errorf("Globex's api_calls limit after the move = %v, want 40000", l)
	}
	if _, m := run(); m != 0 {
		t.Errorf("the move ran twice: %d", m)
	}
	var actions []string
	e.store.DB().Select(&actions, `SELECT action FROM audit_entry WHERE account_id = $1 AND action LIKE 'subscription.migration_%' ORDER BY seq`, e.accountID("globex"))
	if strings.Join(actions, " ") != "subscription.migration_scheduled subscription.migration_notice subscription.migration_moved" {
		t.Errorf("audit = %v", actions)
	}
}

func TestAMoveThatChangesThePriceGoesThroughTheProvider(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.newTeamVersion(func(c string) string {
		return strings.Replace(c, "{stripe_price_id: price_analytics_team_monthly, interval: month, unit_amount: 1200, currency: usd}",
			"{stripe_price_id: price_analytics_team_v2_monthly, interval: month, unit_amount: 1500, currency: usd}", 1)
	})
	day := 24 * time.Hour
	e.scheduleTeamMove(e.clock.Now().Add(3*day), 0)
	e.clock.Advance(4 * day)
	if _, m, err := e.b.RunPlanMigrations(e.ctx); err != nil || m != 1 {
		t.Fatalf("moves: %d, %v", m, err)
	}
	var outcome string
	e.store.DB().Get(&outcome, `SELECT outcome FROM plan_migration_account`)
	if outcome != "sent_to_provider" {
		t.Fatalf("outcome = %q, want sent_to_provider", outcome)
	}
	if v := e.teamVersion("globex"); v != 1 {
		t.Fatalf("Globex moved before the provider's event landed: version %d", v)
	}
	e.drain() // the simulator's webhook moves the version, as for any plan change
	if v := e.teamVersion("globex"); v != 2 {
		t.Fatalf("after the provider's event Globex is on version %d, want 2", v)
	}
}
