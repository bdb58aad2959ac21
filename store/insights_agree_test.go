package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/store"
)

// productInsight reads Globex's one product on the insights page.
func productInsight(t *testing.T, s *store.Store, accountID int64) store.ProductInsight {
	t.Helper()
	in, err := s.Insights(context.Background(), accountID, nil)
	if err != nil || len(in.Products) != 1 {
		t.Fatalf("insights %+v, %v", in.Products, err)
	}
	return in.Products[0]
}

// trend is the product's chart days as the page draws them.
func trend(t *testing.T, s *store.Store, accountID int64, days int) []store.InsightsDay {
	t.Helper()
	history, err := s.InsightsHistory(context.Background(), accountID, days)
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.Insights(context.Background(), accountID, nil)
	if err != nil {
		t.Fatal(err)
	}
	return in.Products[0].Trend(history, in.At)
}

// TestTheChartsLastPointIsTheLiveFigures: after a vendor grant and two
// more seats assigned (the snapshot job has not run since), the tiles,
// /seats' pool and the chart's last point all say 12 purchased and 9
// assigned; the next snapshot writes the same.
func TestTheChartsLastPointIsTheLiveFigures(t *testing.T) {
	t.Parallel()
	s, clock, owner, sub := insightsDemo(t)
	ctx := context.Background()
	if _, err := s.DB().Exec(`INSERT INTO entitlement_grant (account_id, kind, product_id, amount, reason, created_by)
		SELECT $1, 'extra_seats', product_id, 2, 'pilot', 'ops@acme.test' FROM subscription WHERE id = $2`, owner.AccountID, sub); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AssignSeatsByEmail(ctx, owner, sub, []string{"erin@globex.test", "frank@globex.test"}); err != nil {
		t.Fatal(err)
	}
	pools, err := s.SeatPools(ctx, owner.AccountID)
	if err != nil || pools[0].Effective != 12 || pools[0].Assigned != 9 {
		t.Fatalf("/seats' pool %+v, %v", pools, err)
	}
	tiles := productInsight(t, s, owner.AccountID)
	days := trend(t, s, owner.AccountID, 30)
	last := days[len(days)-1]
	if tiles.Pool.Effective != 12 || tiles.Pool.Assigned != 9 {
		t.Errorf("tiles say %d purchased, %d assigned", tiles.Pool.Effective, tiles.Pool.Assigned)
	}
	if !last.Day.Equal(clock.now) || last.Purchased != 12 || last.Assigned != 9 || last.Active != tiles.Active {
		t.Errorf("the chart's last point %+v, the tiles %d/%d/%d", last, tiles.Pool.Effective, tiles.Pool.Assigned, tiles.Active)
	}
	if len(days) != 30 {
		t.Errorf("%d days for a 30-day window", len(days))
	}
	if _, err := s.SnapshotInsights(ctx); err != nil {
		t.Fatal(err)
	}
	history, _ := s.InsightsHistory(ctx, owner.AccountID, 1)
	if len(history) != 1 || history[0].Purchased != 12 || history[0].Assigned != 9 {
		t.Errorf("today's snapshot %+v", history)
	}
}

// TestTheUsageChartsLastPointIsTheDaysUse: yesterday's and today's reports
// land on their own days; the last point is today's use alone.
func TestTheUsageChartsLastPointIsTheDaysUse(t *testing.T) {
	t.Parallel()
	s, clock, owner, _ := insightsDemo(t)
	ctx := context.Background()
	clock.advance(9*time.Hour - 24*time.Hour) // yesterday, 09:00
	if _, err := s.RecordUsage(ctx, owner.AccountID, store.UsageReport{Feature: "api_calls", Quantity: 500, IdempotencyKey: "yesterday"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SnapshotInsights(ctx); err != nil { // the job ran yesterday
		t.Fatal(err)
	}
	clock.advance(24 * time.Hour) // today, 09:00
	before := productInsight(t, s, owner.AccountID).UsageToday
	if _, err := s.RecordUsage(ctx, owner.AccountID, store.UsageReport{Feature: "api_calls", Quantity: 30, IdempotencyKey: "today"}); err != nil {
		t.Fatal(err)
	}
	days := trend(t, s, owner.AccountID, 30)
	yesterday, last := days[len(days)-2], days[len(days)-1]
	if last.Usage != before+30 {
		t.Errorf("today's point %d, want the day's use %d", last.Usage, before+30)
	}
	if yesterday.Usage < 500 {
		t.Errorf("yesterday's point %d does not hold its 500", yesterday.Usage)
	}
	// The period's days add up to the period's use the metered table shows.
	var sum int64
	for _, d := range days {
		if !d.Day.Before(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) {
			sum += d.Usage
		}
	}
	if used := productInsight(t, s, owner.AccountID).Metered[0].Used; sum != used {
		t.Errorf("this period's points add up to %d, the period's use is %d", sum, used)
	}
}

// TestTheForecastRunsToTheBillingPeriodEnd: Globex renews on 25 April;
// the forecast projects the month's use so far to then, not to 30 April.
func TestTheForecastRunsToTheBillingPeriodEnd(t *testing.T) {
	t.Parallel()
	s, clock, owner, sub := insightsDemo(t)
	end := time.Date(2026, 4, 25, 0, 0, 0, 0, time.UTC)
	if _, err := s.DB().Exec(`UPDATE subscription SET current_period_end = $2 WHERE id = $1`, sub, end); err != nil {
		t.Fatal(err)
	}
	var m store.MeteredInsight
	for _, f := range productInsight(t, s, owner.AccountID).Metered {
		if f.Feature == "api_calls" {
			m = f
		}
	}
	start := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	want := int64(float64(m.Used)*float64(end.Sub(start))/float64(clock.now.Sub(start)) + 0.5)
	if !m.PeriodEnd.Equal(end) || m.Forecast != want {
		t.Fatalf("forecast %d by %s, want %d by %s", m.Forecast, m.PeriodEnd, want, end)
	}
}

// TestLastActivityIsOneFigure: Carol never signed in but used her seat 45
// days ago; the members list, the seat holders and Insights all say so.
func TestLastActivityIsOneFigure(t *testing.T) {
	t.Parallel()
	s, clock, owner, sub := insightsDemo(t)
	ctx := context.Background()
	used := clock.now.AddDate(0, 0, -45)
	lastUsed(t, s, "carol@globex.test", used)
	members, err := s.ListMembers(ctx, owner.AccountID, store.MemberFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	holders, err := s.SeatHolders(ctx, owner.AccountID, sub, 100)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Time{}
	for _, r := range members.Rows {
		if r.Email == "carol@globex.test" {
			got["members"] = r.LastActivity()
		}
	}
	for _, h := range holders {
		if h.Email == "carol@globex.test" {
			got["seats"] = h.LastActivity()
		}
	}
	for _, a := range productInsight(t, s, owner.AccountID).Idle {
		if a.Email == "carol@globex.test" {
			got["insights"] = a.LastActivity()
		}
	}
	if len(got) != 3 {
		t.Fatalf("carol is not on every page: %v", got)
	}
	for page, at := range got {
		if !at.Equal(used) {
			t.Errorf("%s says carol was last active %s, want %s", page, at, used)
		}
	}
	// A sign-in after the use is the later activity, everywhere.
	if _, err := s.DB().Exec(`UPDATE membership SET last_sign_in_at = $2 WHERE id = $1`, membershipOf(t, s, "carol@globex.test"), clock.now); err != nil {
		t.Fatal(err)
	}
	members, _ = s.ListMembers(ctx, owner.AccountID, store.MemberFilter{Limit: 200})
	for _, r := range members.Rows {
		if r.Email == "carol@globex.test" && !r.LastActivity().Equal(clock.now) {
			t.Errorf("members says %s after a sign-in at %s", r.LastActivity(), clock.now)
		}
	}
}
