package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// alertMail lists the alert mails, as "to: subject".
func alertMail(t *testing.T, s *store.Store) []string {
	t.Helper()
	var out []string
	if err := s.DB().Select(&out, `SELECT to_address || ': ' || subject FROM outbox WHERE kind = 'alert' ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	return out
}

func webhookTypes(t *testing.T, s *store.Store, typ string) int {
	t.Helper()
	var n int
	if err := s.DB().Get(&n, `SELECT count(*) FROM webhook_event WHERE type = $1`, typ); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUsageAlertsAt80And100PercentOncePerPeriod(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{now: time.Date(2030, 3, 10, 12, 0, 0, 0, time.UTC)}
	s := storetest.NewDemo(t, clock)
	ctx := context.Background()
	globex, _ := s.AccountBySlug(ctx, "globex")
	admin := storetest.Principal(t, s, "admin@globex.test")
	if err := s.SetAlertsOn(ctx, admin, false); err != nil { // the admin switched them off
		t.Fatal(err)
	}
	report := func(key string, qty int64) {
		t.Helper()
		if _, err := s.RecordUsage(ctx, globex.ID, store.UsageReport{Feature: "api_calls", Quantity: qty, IdempotencyKey: key}); err != nil {
			t.Fatal(err)
		}
	}
	var used, limit int64
	if err := s.DB().QueryRow(`SELECT coalesce(sum(quantity), 0) FROM usage_event WHERE account_id = $1 AND occurred_at >= $2`,
		globex.ID, time.Date(2030, 3, 1, 0, 0, 0, 0, time.UTC)).Scan(&used); err != nil {
		t.Fatal(err)
	}
	limit = 50000 // team's api_calls per month
	report("a", limit*79/100-used)
	if got := alertMail(t, s); len(got) != 0 {
		t.Fatalf("alerts below 80%%: %v", got)
	}
	report("b", limit/100) // 80%
	report("c", 1)         // still 80%: nothing new
	got := alertMail(t, s)
	if len(got) != 1 || !strings.HasPrefix(got[0], "owner@globex.test: Globex has used 80% of its") {
		t.Fatalf("after reaching 80%%: %v (want the owner only: the admin switched alerts off, members get none)", got)
	}
	report("d", limit-limit*80/100-1) // 100%
	if got := alertMail(t, s); len(got) != 2 || !strings.Contains(got[1], "100%") {
		t.Fatalf("after reaching 100%%: %v", got)
	}
	if n := webhookTypes(t, s, store.EventUsageThreshold); n != 2 {
		t.Fatalf("%d usage.threshold_reached events, want 2", n)
	}
	// Next month: the thresholds are new again.
	clock.mu.Lock()
	clock.now = time.Date(2030, 4, 2, 0, 0, 0, 0, time.UTC)
	clock.mu.Unlock()
	report("e", limit*9/10)
	if got := alertMail(t, s); len(got) != 3 || !strings.Contains(got[2], "80%") {
		t.Fatalf("next period: %v", got)
	}
}

func TestTrialEndingAndFullPoolAlertsGoOnce(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{now: time.Now().UTC().Truncate(time.Second)}
	s := storetest.NewDemo(t, clock)
	ctx := context.Background()
	// Initech's trial ends in 10 days: nothing yet.
	if _, err := s.RunAlerts(ctx); err != nil {
		t.Fatal(err)
	}
	before := len(alertMail(t, s))
	clock.mu.Lock()
	clock.now = clock.now.Add(8 * 24 * time.Hour)
	clock.mu.Unlock()
	for range 2 {
		if _, err := s.RunAlerts(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var trial []string
	for _, m := range alertMail(t, s)[before:] {
		if strings.Contains(m, "trial ends on") {
			trial = append(trial, m)
		}
	}
	// Once to each of Initech's owners and admins (the demo's owner and Pat,
	// who is an admin there), even though the alerts ran twice.
	var admins []string
	if err := s.DB().Select(&admins, `SELECT u.email FROM membership m JOIN app_user u ON u.id = m.user_id
		JOIN account a ON a.id = m.account_id WHERE a.slug = 'initech' AND m.role IN ('owner', 'admin') AND m.status = 'active'
		ORDER BY u.email`); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range trial {
		got = append(got, strings.SplitN(m, ":", 2)[0])
	}
	slices.Sort(got)
	if !slices.Contains(admins, "owner@initech.test") || !slices.Equal(got, admins) {
		t.Fatalf("trial alerts to %v, want one each to %v: %v", got, admins, trial)
	}
	if n := webhookTypes(t, s, store.EventTrialEnding); n != 1 {
		t.Fatalf("%d subscription.trial_ending events, want 1", n)
	}
	// Initech's demo pool is full with people waiting: one alert per period.
	if n := webhookTypes(t, s, store.EventSeatPoolFull); n != 1 {
		t.Fatalf("%d seat_pool.full events, want 1", n)
	}
}
