package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// insightsDemo is the demo on a clock ten days into a 30-day month, with
// every Globex seat used a day ago and nobody signed in.
func insightsDemo(t *testing.T) (*store.Store, *fixedClock, store.Principal, int64) {
	t.Helper()
	clock := &fixedClock{now: time.Date(2026, 4, 11, 0, 0, 0, 0, time.UTC)}
	s := storetest.NewDemo(t, clock)
	owner := storetest.Principal(t, s, "owner@globex.test")
	if _, err := s.DB().Exec(`UPDATE membership SET last_sign_in_at = NULL WHERE account_id = $1`, owner.AccountID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec(`UPDATE seat_assignment SET last_used_at = $2, assigned_at = $3 WHERE account_id = $1`,
		owner.AccountID, clock.now.Add(-24*time.Hour), clock.now.AddDate(0, 0, -60)); err != nil {
		t.Fatal(err)
	}
	pools, err := s.SeatPools(context.Background(), owner.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	return s, clock, owner, pools[0].SubscriptionID
}

func lastUsed(t *testing.T, s *store.Store, email string, at time.Time) {
	t.Helper()
	if _, err := s.DB().Exec(`UPDATE seat_assignment SET last_used_at = $2 WHERE membership_id = $1`, membershipOf(t, s, email), at); err != nil {
		t.Fatal(err)
	}
}

func idleEmails(t *testing.T, s *store.Store, accountID int64) []string {
	t.Helper()
	in, err := s.Insights(context.Background(), accountID, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range in.Products[0].Idle {
		out = append(out, a.Email)
	}
	return out
}

func TestIdleSeatsAtTheNDayBoundary(t *testing.T) {
	t.Parallel()
	s, clock, owner, _ := insightsDemo(t)
	ctx := context.Background()
	lastUsed(t, s, "carol@globex.test", clock.now.AddDate(0, 0, -30))                 // exactly 30 days
	lastUsed(t, s, "dave@globex.test", clock.now.AddDate(0, 0, -30).Add(time.Second)) // a second short
	if got := strings.Join(idleEmails(t, s, owner.AccountID), ","); got != "carol@globex.test" {
		t.Fatalf("idle at 30 days: %q", got)
	}
	// A sign-in counts as activity.
	if _, err := s.DB().Exec(`UPDATE membership SET last_sign_in_at = $2 WHERE id = $1`, membershipOf(t, s, "carol@globex.test"), clock.now); err != nil {
		t.Fatal(err)
	}
	if got := idleEmails(t, s, owner.AccountID); len(got) != 0 {
		t.Fatalf("idle after a sign-in: %q", got)
	}
	// The account's own threshold.
	if err := s.SetInsightsSettings(ctx, owner, 7, 0); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(idleEmails(t, s, owner.AccountID), ","); got != "dave@globex.test" {
		t.Fatalf("idle at 7 days: %q", got)
	}
	in, _ := s.Insights(ctx, owner.AccountID, nil)
	p := in.Products[0]
	if p.Pool.Purchased != 10 || p.Pool.Assigned != 7 || p.Active != 7 {
		t.Fatalf("figures: purchased %d assigned %d active %d", p.Pool.Purchased, p.Pool.Assigned, p.Active)
	}
}

// TestIdleHoldersAreListedLeastRecentlyActiveFirst: a holder never active
// comes first, then the longest idle; a sign-in counts as their latest
// activity, and the active holders are not listed.
func TestIdleHoldersAreListedLeastRecentlyActiveFirst(t *testing.T) {
	t.Parallel()
	s, clock, owner, sub := insightsDemo(t)
	var holders []string
	if err := s.DB().Select(&holders, `
SELECT u.email FROM seat_assignment sa JOIN membership m ON m.id = sa.membership_id JOIN app_user u ON u.id = m.user_id
WHERE sa.account_id = $1 ORDER BY u.email LIMIT 4`, owner.AccountID); err != nil || len(holders) != 4 {
		t.Fatalf("Globex's seat holders: %v, %v", holders, err)
	}
	// Not in the order of their addresses, so that no tie-break can pass.
	never, oldest, older, signedIn := holders[3], holders[1], holders[0], holders[2]
	if _, err := s.DB().Exec(`UPDATE seat_assignment SET last_used_at = NULL WHERE membership_id = $1`, membershipOf(t, s, never)); err != nil {
		t.Fatal(err)
	}
	lastUsed(t, s, oldest, clock.now.AddDate(0, 0, -90))
	lastUsed(t, s, older, clock.now.AddDate(0, 0, -45))
	lastUsed(t, s, signedIn, clock.now.AddDate(0, 0, -80))
	if _, err := s.DB().Exec(`UPDATE membership SET last_sign_in_at = $2 WHERE id = $1`, membershipOf(t, s, signedIn), clock.now.AddDate(0, 0, -40)); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(idleEmails(t, s, owner.AccountID), ",")
	if want := strings.Join([]string{never, oldest, older, signedIn}, ","); got != want {
		t.Fatalf("idle holders listed %s, want %s (never active, then 90, 45 and 40 days idle)", got, want)
	}
	// With more idle than the list shows, the list keeps the least recently
	// active: IdleListed more who were never active push the other three out.
	if _, err := s.DB().Exec(`
WITH u AS (INSERT INTO app_user (email) SELECT 'idle' || i || '@globex.test' FROM generate_series(1, $3::int) i RETURNING id),
m AS (INSERT INTO membership (account_id, user_id, role, status) SELECT $1, u.id, 'member', 'active' FROM u RETURNING id)
INSERT INTO seat_assignment (account_id, subscription_id, membership_id, assigned_at) SELECT $1, $2, m.id, $4 FROM m`,
		owner.AccountID, sub, store.IdleListed, clock.now.AddDate(0, 0, -60)); err != nil {
		t.Fatal(err)
	}
	listed := idleEmails(t, s, owner.AccountID)
	if len(listed) != store.IdleListed || listed[0] != never || strings.Contains(strings.Join(listed, ","), oldest) {
		t.Fatalf("with %d more never active, %d listed starting %v; want %d starting with %s, without %s", store.IdleListed,
			len(listed), listed[:min(3, len(listed))], store.IdleListed, never, oldest)
	}
}

func TestReclaimTakesOnlyIdleSeatsAuditedAndNotified(t *testing.T) {
	t.Parallel()
	s, clock, owner, sub := insightsDemo(t)
	ctx := context.Background()
	lastUsed(t, s, "carol@globex.test", clock.now.AddDate(0, 0, -45))
	lastUsed(t, s, "dave@globex.test", clock.now.AddDate(0, 0, -45))
	carol, dave, bob := membershipOf(t, s, "carol@globex.test"), membershipOf(t, s, "dave@globex.test"), membershipOf(t, s, "bob@globex.test")

	preview, err := s.ReclaimIdleSeats(ctx, owner, sub, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	reclaimed := 0
	for _, r := range preview {
		if r.Outcome == store.SeatReclaimed {
			reclaimed++
		}
	}
	if reclaimed != 2 || queryInt(t, s, `SELECT count(*) FROM seat_assignment WHERE subscription_id = $1`, sub) != 7 {
		t.Fatalf("preview: %d to reclaim, and it must change nothing", reclaimed)
	}

	results, err := s.ReclaimIdleSeats(ctx, owner, sub, []int64{carol, bob}, false)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	for _, r := range results {
		got[r.MembershipID] = r.Outcome
	}
	if got[carol] != store.SeatReclaimed || got[bob] != store.SeatNotIdle || len(got) != 2 {
		t.Fatalf("results %v", got)
	}
	if queryInt(t, s, `SELECT count(*) FROM seat_assignment WHERE membership_id = ANY(ARRAY[$1, $2]::bigint[])`, carol, dave) != 1 {
		t.Fatal("carol keeps her seat, or dave (not named) lost his")
	}
	if queryInt(t, s, `SELECT count(*) FROM audit_entry WHERE action = 'seat.reclaim' AND target_id = $1`, itoa(carol)) != 1 ||
		auditCount(t, s, owner.AccountID, "seat.reclaim") != 1 {
		t.Fatal("the reclaim is not audited once")
	}
	if queryInt(t, s, `SELECT count(*) FROM outbox WHERE kind = 'seat_reclaimed' AND to_address = 'carol@globex.test'`) != 1 {
		t.Fatal("carol is not told")
	}
	// Another account's pool is not found, and nothing changes.
	umbrella := storetest.Principal(t, s, "owner@umbrella.test")
	if _, err := s.ReclaimIdleSeats(ctx, umbrella, sub, nil, false); err == nil {
		t.Fatal("Umbrella reclaimed Globex's seats")
	}
	// Members may not reclaim.
	if _, err := s.ReclaimIdleSeats(ctx, storetest.Principal(t, s, "billing@globex.test"), sub, nil, false); err == nil {
		t.Fatal("billing reclaimed seats")
	}
}

func TestAutoReclaimPolicy(t *testing.T) {
	t.Parallel()
	s, clock, owner, sub := insightsDemo(t)
	ctx := context.Background()
	lastUsed(t, s, "carol@globex.test", clock.now.AddDate(0, 0, -45))
	lastUsed(t, s, "dave@globex.test", clock.now.AddDate(0, 0, -20))
	if n, err := s.AutoReclaim(ctx); err != nil || n != 0 {
		t.Fatalf("no policy: %d reclaimed, %v", n, err)
	}
	if err := s.SetInsightsSettings(ctx, owner, 30, 40); err != nil {
		t.Fatal(err)
	}
	if n, err := s.AutoReclaim(ctx); err != nil || n != 1 {
		t.Fatalf("policy of 40 days: %d reclaimed, %v", n, err)
	}
	if queryInt(t, s, `SELECT count(*) FROM seat_assignment WHERE subscription_id = $1`, sub) != 6 ||
		queryInt(t, s, `SELECT count(*) FROM audit_entry WHERE action = 'seat.reclaim' AND actor_type = 'system'`) != 1 {
		t.Fatal("carol's seat is not reclaimed by the system")
	}
}

func TestForecastOfMeteredUsage(t *testing.T) {
	t.Parallel()
	s, _, owner, _ := insightsDemo(t) // 10 of April's 30 days gone; demo Globex used 4200 api_calls
	in, err := s.Insights(context.Background(), owner.AccountID, nil)
	if err != nil {
		t.Fatal(err)
	}
	var m *store.MeteredInsight
	for i, x := range in.Products[0].Metered {
		if x.Feature == "api_calls" {
			m = &in.Products[0].Metered[i]
		}
	}
	if m == nil || m.Used != 4200 || m.Forecast != 12600 || !m.PeriodEnd.Equal(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("api_calls: %+v", m)
	}
}

func TestComplianceStatusForEachState(t *testing.T) {
	t.Parallel()
	s, _, owner, sub := insightsDemo(t)
	ctx := context.Background()
	status := func(accountID int64) licensing.ComplianceKind {
		in, err := s.Insights(ctx, accountID, nil)
		if err != nil {
			t.Fatal(err)
		}
		return in.Compliance.Kind
	}
	if got := status(owner.AccountID); got != licensing.CompliantStatus {
		t.Fatalf("Globex: %s", got)
	}
	if got := status(storetest.Principal(t, s, "owner@umbrella.test").AccountID); got != licensing.PastDueStatus {
		t.Fatalf("Umbrella: %s", got)
	}
	if _, err := s.DB().Exec(`UPDATE subscription SET seats = 5 WHERE id = $1`, sub); err != nil {
		t.Fatal(err)
	}
	if got := status(owner.AccountID); got != licensing.OverAllocatedStatus {
		t.Fatalf("Globex with 7 of 5 seats: %s", got)
	}
}

func TestComplianceReportRowsAgainstTheDatabase(t *testing.T) {
	t.Parallel()
	s, _, owner, sub := insightsDemo(t)
	ctx := context.Background()
	frank := membershipOf(t, s, "frank@globex.test")
	if _, err := s.UnassignSeats(ctx, owner, sub, []int64{membershipOf(t, s, "owner@globex.test")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AssignSeats(ctx, owner, sub, []int64{frank}); err != nil {
		t.Fatal(err)
	}
	rows, err := s.ComplianceReport(ctx, owner.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != queryInt(t, s, `SELECT count(*) FROM seat_assignment WHERE account_id = $1`, owner.AccountID) {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		if !r.AuditID.Valid {
			t.Fatalf("%s has no audit entry", r.Email)
		}
		if queryInt(t, s, `SELECT count(*) FROM audit_entry WHERE id = $1 AND account_id = $2 AND action = 'seat.assign'
			AND target_id = $3 AND after->>'subscription' = $4`, r.AuditID.Int64, owner.AccountID, itoa(r.MembershipID), itoa(r.SubscriptionID)) != 1 {
			t.Fatalf("%s: audit entry %d is not its assignment", r.Email, r.AuditID.Int64)
		}
		want := "demo seed"
		if r.MembershipID == frank {
			want = "manual"
		}
		if r.How() != want {
			t.Errorf("%s got the seat by %q, want %q", r.Email, r.How(), want)
		}
	}
}

func TestSeatUseAndSnapshots(t *testing.T) {
	t.Parallel()
	s, clock, owner, _ := insightsDemo(t)
	ctx := context.Background()
	carol := storetest.Principal(t, s, "carol@globex.test")
	lastUsed(t, s, "carol@globex.test", clock.now.AddDate(0, 0, -45))
	err := s.RecordSeatUse(ctx, map[store.SeatUse]time.Time{
		{AccountID: owner.AccountID, Product: "analytics", User: "Carol@Globex.test"}: clock.now,
		{AccountID: owner.AccountID, Product: "analytics", User: itoa(carol.UserID)}:  clock.now.Add(-time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	var at time.Time
	if err := s.DB().QueryRow(`SELECT last_used_at FROM seat_assignment WHERE membership_id = $1`, carol.MembershipID).Scan(&at); err != nil || !at.Equal(clock.now) {
		t.Fatalf("carol's last use %v, %v", at, err)
	}
	// One row per live subscription of the demo (the demo grows beside
	// Globex, Initech and Umbrella, so the count is read, not written here).
	var live int64
	if err := s.DB().QueryRow(`SELECT count(*) FROM subscription WHERE status <> 'canceled'`).Scan(&live); err != nil || live < 3 {
		t.Fatalf("live subscriptions %d, %v", live, err)
	}
	if n, err := s.SnapshotInsights(ctx); err != nil || n != live {
		t.Fatalf("snapshot wrote %d rows for %d subscriptions, %v", n, live, err)
	}
	if n, err := s.SnapshotInsights(ctx); err != nil || n != live { // rewritten, not doubled
		t.Fatalf("second snapshot wrote %d rows, %v", n, err)
	}
	days, err := s.InsightsHistory(ctx, owner.AccountID, 7)
	if err != nil || len(days) != 7 { // the demo's history and today's snapshot
		t.Fatalf("history %+v, %v", days, err)
	}
	// Usage is the day's, not the period's 4,200 so far.
	today := int64(queryInt(t, s, `SELECT coalesce(sum(quantity), 0) FROM usage_event WHERE account_id = $1 AND occurred_at >= $2`, owner.AccountID, clock.now))
	if last := days[6]; !last.Day.Equal(clock.now) || last.Purchased != 10 || last.Assigned != 7 || last.Active != 7 || last.Usage != today || today >= 4200 {
		t.Fatalf("today's snapshot %+v, today's use %d", last, today)
	}
}

// TestWaitingListAndDriftFromProvisioning: the waiting list (#8) shows per
// product, and a drift the reconciler repaired in the last day makes the
// status drift_found.
func TestWaitingListAndDriftFromProvisioning(t *testing.T) {
	t.Parallel()
	s, clock, owner, sub := insightsDemo(t)
	ctx := context.Background()
	if _, err := s.DB().Exec(`INSERT INTO waiting_entry (account_id, subscription_id, membership_id, since, reason, position)
		VALUES ($1, $2, $3, $4, 'no seat left', 1)`, owner.AccountID, sub, membershipOf(t, s, "frank@globex.test"), clock.now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec(`INSERT INTO audit_entry (account_id, seq, at, actor_type, action, after, prev_hash, hash)
		VALUES ($1, 999999, $2, 'system', 'seat.assign', '{"cause": "drift repaired: seat missing"}', '', '')`,
		owner.AccountID, clock.now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	in, err := s.Insights(ctx, owner.AccountID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if in.Products[0].Waiting != 1 || in.Compliance.Kind != licensing.DriftFoundStatus {
		t.Fatalf("waiting %d, status %s", in.Products[0].Waiting, in.Compliance.Kind)
	}
	v, err := s.VendorInsights(ctx)
	if err != nil || v.DriftRepairs != 1 {
		t.Fatalf("vendor drift repairs %d, %v", v.DriftRepairs, err)
	}
}
