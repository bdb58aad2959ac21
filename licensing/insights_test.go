package licensing

import (
	"testing"
	"time"
)

func TestIdleAtTheBoundary(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 31, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	assigned := now.Add(-100 * day)
	cases := []struct {
		name                string
		lastUse, lastSignIn time.Time
		assigned            time.Time
		days                int
		want                bool
	}{
		{"used one second short of 30 days ago", now.Add(-30*day + time.Second), time.Time{}, assigned, 30, false},
		{"used exactly 30 days ago", now.Add(-30 * day), time.Time{}, assigned, 30, true},
		{"signed in recently, used long ago", now.Add(-60 * day), now.Add(-day), assigned, 30, false},
		{"never used, assigned 29 days ago", time.Time{}, time.Time{}, now.Add(-29 * day), 30, false},
		{"never used, assigned 30 days ago", time.Time{}, time.Time{}, now.Add(-30 * day), 30, true},
		{"account threshold of 7 days", now.Add(-7 * day), time.Time{}, assigned, 7, true},
		{"zero threshold falls back to the default", now.Add(-29 * day), time.Time{}, assigned, 0, false},
	}
	for _, c := range cases {
		if got := IsIdle(c.lastUse, c.lastSignIn, c.assigned, now, c.days); got != c.want {
			t.Errorf("%s: IsIdle = %v, want %v", c.name, got, c.want)
		}
	}
	if !IsActive(now.Add(-29*day), time.Time{}, now) || IsActive(now.Add(-30*day), time.Time{}, now) || IsActive(time.Time{}, time.Time{}, now) {
		t.Error("IsActive: the 30-day window is wrong")
	}
}

func TestForecastOnAKnownSeries(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	end := PeriodEnd(Monthly, start) // 30 days
	cases := []struct {
		used int64
		now  time.Time
		want int64
	}{
		{100, start.AddDate(0, 0, 10), 300}, // a third of April gone
		{450, start.AddDate(0, 0, 15), 900}, // half
		{0, start.AddDate(0, 0, 15), 0},
		{50, start, 50},                     // nothing elapsed
		{700, end.Add(time.Hour), 700},      // past the end: what was used
		{7, start.Add(12 * time.Hour), 420}, // 7 in half a day
	}
	for _, c := range cases {
		if got := Forecast(c.used, start, end, c.now); got != c.want {
			t.Errorf("Forecast(%d at %s) = %d, want %d", c.used, c.now, got, c.want)
		}
	}
}

func TestComplianceStatusForEachState(t *testing.T) {
	t.Parallel()
	cases := []struct {
		facts ComplianceFacts
		want  ComplianceKind
		fix   string
	}{
		{ComplianceFacts{}, CompliantStatus, ""},
		{ComplianceFacts{DriftCount: 2}, DriftFoundStatus, "/settings/provisioning"},
		{ComplianceFacts{OverAllocated: []string{"Anvil"}, DriftCount: 2}, OverAllocatedStatus, "/seats"},
		{ComplianceFacts{PastDueProducts: []string{"Anvil"}, OverAllocated: []string{"Anvil"}}, PastDueStatus, "/billing"},
	}
	for _, c := range cases {
		got := ComplianceStatus(c.facts)
		if got.Kind != c.want || got.FixURL != c.fix || got.Reason == "" {
			t.Errorf("%+v: %+v, want %s fixed at %q", c.facts, got, c.want, c.fix)
		}
	}
	if r := ComplianceStatus(ComplianceFacts{OverAllocated: []string{"A", "B", "C"}}).Reason; r != "More seats are assigned than purchased for A, B and C." {
		t.Errorf("reason %q", r)
	}
}

func TestForecastRunsToTheBillingPeriodEnd(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)
	date := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 7, 0, 0, 0, time.UTC) }
	cases := []struct {
		name       string
		billingEnd time.Time
		want       time.Time
	}{
		{"the billing period ends before the month", date(12, 25), date(12, 25)},
		{"the count restarts first", time.Date(2027, 1, 9, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"no billing period", time.Time{}, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"a billing period already over", date(12, 1), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		if got := ForecastEnd(Monthly, now, c.billingEnd); !got.Equal(c.want) {
			t.Errorf("%s: forecast ends %s, want %s", c.name, got, c.want)
		}
	}
}
