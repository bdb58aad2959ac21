package web_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// newPortalAt is newPortal with the demo seeded and served at a fixed
// moment: 11 April 2026, 10:00 UTC, ten days into the month.
func newPortalAt(t *testing.T) *portal {
	t.Helper()
	clock := storetest.NewClock(time.Date(2026, 4, 11, 10, 0, 0, 0, time.UTC))
	s := storetest.NewDemo(t, clock)
	e := web.New(web.Options{Store: s, Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SessionSecret: []byte("test-secret-test-secret-test-secret!")})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &portal{t: t, srv: srv, store: s, client: newClient()}
}

// cells reads a chart's table: its header and its rows, cell by cell.
func chartTable(doc *goquery.Document, chart string) (head []string, rows [][]string) {
	table := doc.Find(`[data-chart="` + chart + `"] [data-testid="chart-table"]`)
	table.Find("thead th").Each(func(_ int, s *goquery.Selection) { head = append(head, strings.TrimSpace(s.Text())) })
	table.Find("tbody tr").Each(func(_ int, tr *goquery.Selection) {
		var row []string
		tr.Children().Each(func(_ int, s *goquery.Selection) { row = append(row, strings.TrimSpace(s.Text())) })
		rows = append(rows, row)
	})
	return head, rows
}

// column is the text of row's cell under the header named name.
func column(row *goquery.Selection, name string) string {
	idx := -1
	row.Closest("table").Find("thead th").Each(func(i int, s *goquery.Selection) {
		if strings.TrimSpace(s.Text()) == name {
			idx = i
		}
	})
	if idx < 0 {
		return "(no column " + name + ")"
	}
	return strings.TrimSpace(row.Children().Eq(idx).Text())
}

// TestInsightsAgreeWithSeatsAndTheOverview: a vendor grant of two seats
// and two more assigned, with no snapshot since: the tiles, /seats, the
// overview and the chart's last day all say 12 seats and 9 assigned.
func TestInsightsAgreeWithSeatsAndTheOverview(t *testing.T) {
	t.Parallel()
	p := newPortalAt(t)
	sub := globexSub(t, p)
	if _, err := p.store.DB().Exec(`INSERT INTO entitlement_grant (account_id, kind, product_id, amount, reason, created_by)
		SELECT account_id, 'extra_seats', product_id, 2, 'pilot', 'ops@acme.test' FROM subscription WHERE id = $1`, sub); err != nil {
		t.Fatal(err)
	}
	if _, err := p.store.DB().Exec(`INSERT INTO seat_assignment (account_id, subscription_id, membership_id, assigned_at)
		SELECT m.account_id, $1, m.id, now() FROM membership m JOIN app_user u ON u.id = m.user_id
		WHERE u.email IN ('erin@globex.test', 'frank@globex.test') AND m.account_id = (SELECT account_id FROM subscription WHERE id = $1)`, sub); err != nil {
		t.Fatal(err)
	}
	c := p.login("owner@globex.test")
	_, seats := p.get(c, "/seats")
	_, overview := p.get(c, "/")
	_, insights := p.get(c, "/insights")
	pool := map[string]string{
		"/seats":    text(seats, "pool-purchased") + text(seats, "pool-granted") + " " + text(seats, "pool-assigned"),
		"overview":  text(overview, "seats-purchased") + text(overview, "seats-granted") + " " + text(overview, "seats-assigned"),
		"the tiles": text(insights, "insight-purchased") + text(insights, "insight-granted") + " granted by the vendor " + text(insights, "insight-assigned"),
	}
	for page, got := range pool {
		if !strings.HasPrefix(got, "10+2 granted") || !strings.HasSuffix(got, " 9") {
			t.Errorf("%s says %q, want 10 purchased, 2 granted, 9 assigned", page, got)
		}
	}
	head, rows := chartTable(insights, "chart-seats-analytics")
	if len(rows) != 30 {
		t.Fatalf("the seats chart has %d days, want 30", len(rows))
	}
	last := rows[len(rows)-1]
	if strings.Join(head, ",") != "Day,Seats,Assigned,Active" || last[0] != "11 Apr 2026" || last[1] != "12" || last[2] != "9" || last[3] != text(insights, "insight-active") {
		t.Errorf("the chart's last day %v (%v), the tiles 12 seats, 9 assigned, %s active", last, head, text(insights, "insight-active"))
	}
	// The same day as a point's title in the SVG.
	var titles []string
	insights.Find(`[data-chart="chart-seats-analytics"] circle title`).Each(func(_ int, s *goquery.Selection) { titles = append(titles, s.Text()) })
	if !contains(titles, "11 Apr 2026: Seats 12") || !contains(titles, "11 Apr 2026: Assigned 9") {
		t.Errorf("no point titled with the last day's figures among %d", len(titles))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestTheUsageChartShowsEachDaysUse: the last day is today's use, not the
// period's 4,200 so far, and this month's days add up to the figure the
// metered table shows.
func TestTheUsageChartShowsEachDaysUse(t *testing.T) {
	t.Parallel()
	p := newPortalAt(t)
	c := p.login("owner@globex.test")
	_, doc := p.get(c, "/insights")
	today := queryCount(t, p, `SELECT coalesce(sum(u.quantity), 0) FROM usage_event u JOIN account a ON a.id = u.account_id
		WHERE a.slug = 'globex' AND u.occurred_at >= '2026-04-11'`)
	_, rows := chartTable(doc, "chart-usage-analytics")
	if len(rows) == 0 {
		t.Fatal("no usage chart")
	}
	last := rows[len(rows)-1]
	if last[0] != "11 Apr 2026" || last[1] != groupDigits(today) || today >= 4200 {
		t.Errorf("the last day says %v, today's use is %d", last, today)
	}
	sum := 0
	for _, r := range rows {
		if strings.HasSuffix(r[0], "Apr 2026") {
			n := 0
			for _, d := range strings.ReplaceAll(r[1], ",", "") {
				n = n*10 + int(d-'0')
			}
			sum += n
		}
	}
	if text(doc, "metered-used") != "4,200" || sum != 4200 {
		t.Errorf("April's days add up to %d, the period's use says %s", sum, text(doc, "metered-used"))
	}
}

// groupDigits writes 1234 as "1,234", as the pages do.
func groupDigits(n int) string {
	s := id(int64(n))
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestTheForecastEndsOnTheBillingPeriodEnd: Globex renews on 25 April; the
// metered table forecasts to then.
func TestTheForecastEndsOnTheBillingPeriodEnd(t *testing.T) {
	t.Parallel()
	p := newPortalAt(t)
	if _, err := p.store.DB().Exec(`UPDATE subscription SET current_period_end = '2026-04-25T10:00:00Z' WHERE id = $1`, globexSub(t, p)); err != nil {
		t.Fatal(err)
	}
	_, doc := p.get(p.login("owner@globex.test"), "/insights")
	if got := text(doc, "metered-forecast-end"); got != "25 Apr 2026" {
		t.Errorf("the forecast runs to %q, want the billing period end, 25 Apr 2026", got)
	}
}

// TestLastActiveIsTheSameOnMembersSeatsAndInsights: Carol and Dave used
// their seats 45 days ago and never signed in; every page says so.
func TestLastActiveIsTheSameOnMembersSeatsAndInsights(t *testing.T) {
	t.Parallel()
	p := newPortalAt(t)
	c := p.login("owner@globex.test")
	_, members := p.get(c, "/members")
	_, seats := p.get(c, "/seats")
	_, insights := p.get(c, "/insights")
	for _, who := range []string{"carol@globex.test", "dave@globex.test"} {
		got := map[string]string{}
		members.Find(`[data-testid="member-row"]`).Each(func(_ int, r *goquery.Selection) {
			if strings.Contains(r.Text(), who) {
				got["/members"] = column(r, "Last active")
			}
		})
		seats.Find(`[data-testid="holder-row"][data-email="` + who + `"]`).Each(func(_ int, r *goquery.Selection) {
			got["/seats"] = column(r, "Last active")
		})
		insights.Find(`[data-testid="idle-holder"]`).Each(func(_ int, r *goquery.Selection) {
			if strings.Contains(r.Text(), who) {
				got["/insights"] = column(r, "Last active")
			}
		})
		for _, page := range []string{"/members", "/seats", "/insights"} {
			if got[page] != "25 Feb 2026" {
				t.Errorf("%s says %s was last active %q, want 25 Feb 2026 (45 days ago)", page, who, got[page])
			}
		}
	}
}

// TestInsightsShowFloatingLicencePeaksAgainstThePool: yesterday five
// checkouts met Globex's pool of three (two turned away), today one: the
// chart's table says so day by day, beside the pool.
func TestInsightsShowFloatingLicencePeaksAgainstThePool(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(time.Date(2026, 4, 10, 10, 0, 0, 0, time.UTC))
	s := storetest.NewDemo(t, clock)
	srv := httptest.NewServer(web.New(web.Options{Store: s, Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SessionSecret: []byte("test-secret-test-secret-test-secret!")}))
	t.Cleanup(srv.Close)
	p := &portal{t: t, srv: srv, store: s, client: newClient()}
	var globex int64
	if err := s.DB().Get(&globex, `SELECT id FROM account WHERE slug = 'globex'`); err != nil {
		t.Fatal(err)
	}
	take := func(n int) {
		for range n {
			_, err := s.CheckOutLease(context.Background(), globex, store.LeaseRequest{Feature: "desktop_floating"})
			var refused *store.DeviceRefusedError
			if err != nil && !errors.As(err, &refused) {
				t.Fatal(err)
			}
		}
	}
	take(5)
	clock.Advance(24 * time.Hour)
	take(1)
	_, doc := p.get(p.login("owner@globex.test"), "/insights?days=7")
	head, rows := chartTable(doc, "chart-lease-desktop_floating")
	if len(rows) != 7 || strings.Join(head, ",") != "Day,Peak in use,Turned away,Pool" {
		t.Fatalf("the floating licence table: %v, %d days", head, len(rows))
	}
	got := fmt.Sprint(rows[5:])
	if want := "[[10 Apr 2026 3 2 3] [11 Apr 2026 1 0 3]]"; got != want {
		t.Errorf("the last two days %s, want %s", got, want)
	}
}
