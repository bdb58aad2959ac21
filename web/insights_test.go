package web_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/entitle-dev/entitle/metrics"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

func globexSub(t *testing.T, p *portal) int64 {
	t.Helper()
	var id int64
	if err := p.store.DB().QueryRow(`SELECT s.id FROM subscription s JOIN account a ON a.id = s.account_id WHERE a.slug = 'globex'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestInsightsShowFiguresChartsAndTheDemosIdleSeats(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	_, doc := p.get(p.login("admin@globex.test"), "/insights?days=90")
	if status, _ := doc.Find(`[data-testid="compliance"]`).Attr("data-status"); status != "compliant" {
		t.Errorf("status %q: %s", status, text(doc, "compliance-reason"))
	}
	for id, want := range map[string]string{"insight-purchased": "10", "insight-assigned": "7", "insight-idle": "2", "insight-waiting": "0", "insight-over": "0"} {
		if got := text(doc, id); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	var idle []string
	doc.Find(`[data-testid="idle-holder"]`).Each(func(_ int, s *goquery.Selection) { idle = append(idle, s.Find("td").Eq(1).Text()) })
	if strings.Join(idle, ",") != "carol@globex.test,dave@globex.test" {
		t.Errorf("idle holders %q", idle)
	}
	svg := doc.Find(`[data-chart="chart-seats-analytics"] svg`)
	if role, _ := svg.Attr("role"); role != "img" || svg.Find("title").Text() == "" || svg.Find("polyline").Length() != 3 {
		t.Errorf("the seats chart is no accessible SVG: role %q, title %q", role, svg.Find("title").Text())
	}
	if rows := doc.Find(`[data-chart="chart-seats-analytics"] [data-testid="chart-table"] tbody tr`).Length(); rows != 90 {
		t.Errorf("the chart's table has %d days, want the demo's 90", rows)
	}
	if text(doc, "metered-used") != "4,200" {
		t.Errorf("api_calls used %q", text(doc, "metered-used"))
	}
	// A member may not look.
	res, _ := p.get(p.login("alice@globex.test"), "/insights")
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a member gets %d", res.StatusCode)
	}
}

func TestReclaimIdleSeatsAfterThePreview(t *testing.T) {
	t.Parallel()
	// With the check cache running, as in serve: the page the reclaim
	// answers with may be rendered before the cache hears of the reclaim
	// (TestAWriteShowsOnThePageThatMadeIt holds the rule that covers it).
	a := newAPI(t)
	p := &portal{t: t, srv: a.srv, store: a.store, client: newClient()}
	c := p.login("admin@globex.test")
	_, doc := p.get(c, "/insights")
	token := csrfToken(doc)
	sub := globexSub(t, p)
	_, doc = p.post(c, "/insights/reclaim/preview", url.Values{"_csrf": {token}, "subscription": {id(sub)}})
	outcomes := map[string]int{}
	doc.Find(`[data-testid="reclaim-row"]`).Each(func(_ int, s *goquery.Selection) { o, _ := s.Attr("data-outcome"); outcomes[o]++ })
	if outcomes[store.SeatReclaimed] != 2 || outcomes[store.SeatNotIdle] != 5 {
		t.Fatalf("preview %v", outcomes)
	}
	if n := queryCount(t, p, `SELECT count(*) FROM seat_assignment WHERE subscription_id = $1`, sub); n != 7 {
		t.Fatalf("the preview changed seats: %d", n)
	}
	form := url.Values{"_csrf": {token}, "subscription": {id(sub)}}
	doc.Find(`[data-testid="reclaim-confirm-form"] input[name="member_id"]`).Each(func(_ int, s *goquery.Selection) {
		v, _ := s.Attr("value")
		form.Add("member_id", v)
	})
	_, doc = p.post(c, "/insights/reclaim", form)
	if text(doc, "insight-assigned") != "5" || text(doc, "insight-idle") != "0" {
		t.Fatalf("after the reclaim: assigned %q, idle %q", text(doc, "insight-assigned"), text(doc, "insight-idle"))
	}
	if n := queryCount(t, p, `SELECT count(*) FROM audit_entry WHERE action = 'seat.reclaim'`); n != 2 {
		t.Fatalf("%d reclaims audited", n)
	}
}

func queryCount(t *testing.T, p *portal, q string, args ...any) int {
	t.Helper()
	var n int
	if err := p.store.DB().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestComplianceCSVRowsMatchTheDatabase(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	res, err := p.login("owner@globex.test").Get(p.srv.URL + "/insights/report.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rows, err := csv.NewReader(res.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+queryCount(t, p, `SELECT count(*) FROM seat_assignment sa JOIN account a ON a.id = sa.account_id WHERE a.slug = 'globex'`) {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows[1:] {
		// email, name, role, product, how, assigned_at, assignment_audit_id, ...
		if queryCount(t, p, `SELECT count(*) FROM audit_entry e JOIN membership m ON m.id::text = e.target_id JOIN app_user u ON u.id = m.user_id
			WHERE e.id = $1 AND e.action = 'seat.assign' AND u.email = $2`, r[6], r[0]) != 1 {
			t.Errorf("row %v: audit entry %s is not the assignment", r, r[6])
		}
	}
}

// TestAChangeReachesAnOpenStream: the stream sends the figures and then the
// charts at once, then both again after a seat is assigned, through NOTIFY
// and the instance's one listener (the check cache's); the charts' last
// point agrees with the figures.
func TestAChangeReachesAnOpenStream(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	p := &portal{t: t, srv: a.srv, store: a.store, client: newClient()}
	c := p.login("admin@globex.test")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // a bound on failure, not a timed assertion
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", p.srv.URL+"/insights/stream", nil)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	type event struct{ name, data string }
	events := make(chan event)
	go func() {
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			if line == "" && ev.data != "" {
				events <- ev
				ev = event{}
				continue
			}
			if name, ok := strings.CutPrefix(line, "event: "); ok {
				ev.name = name
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				ev.data += data + "\n"
			}
		}
		close(events)
	}()
	// next reads the next event, which must be named name.
	next := func(name string) *goquery.Document {
		t.Helper()
		ev := <-events
		if ev.name != name {
			t.Fatalf("event %q, want %q", ev.name, name)
		}
		doc, _ := goquery.NewDocumentFromReader(strings.NewReader(ev.data))
		return doc
	}
	// lastAssigned is the seats chart's last day's assigned seats.
	lastAssigned := func(doc *goquery.Document) string {
		return strings.TrimSpace(doc.Find(`[data-chart="chart-seats-analytics"] [data-testid="chart-row"]`).Last().Find("td").Eq(1).Text())
	}
	if got := text(next("insights"), "insight-assigned"); got != "7" {
		t.Fatalf("first event: assigned %q", got)
	}
	if got := lastAssigned(next("insights-charts")); got != "7" {
		t.Fatalf("first charts: today's assigned %q", got)
	}
	admin := storetest.Principal(t, p.store, "admin@globex.test")
	if _, err := p.store.AssignSeats(ctx, admin, globexSub(t, p), []int64{storetest.Principal(t, p.store, "erin@globex.test").MembershipID}); err != nil {
		t.Fatal(err)
	}
	if got := text(next("insights"), "insight-assigned"); got != "8" {
		t.Fatalf("after the change: assigned %q", got)
	}
	if got := lastAssigned(next("insights-charts")); got != "8" {
		t.Fatalf("charts after the change: today's assigned %q", got)
	}
}

// TestAnotherInstancesChangeShowsOnTheNextPoll: the live fragment polled
// on one instance, its figures kept between changes, shows a seat assigned
// through another instance on its very next poll, before the change feed
// need bring it: the figures kept are those of the account's change
// numbers as committed. The store's clock stands still, so the figures
// kept never grow old.
func TestAnotherInstancesChangeShowsOnTheNextPoll(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(time.Date(2026, 4, 11, 10, 0, 0, 0, time.UTC))
	first := startInstance(t, storetest.NewDemo(t, clock))
	db, err := store.Open(context.Background(), databaseURL(t, first.store), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	other := store.New(db, clock) // another instance's store: none of its commits reach the first's hooks
	p := &portal{t: t, srv: first.srv, store: first.store, client: newClient()}
	c := p.login("admin@globex.test")
	assigned := func() string {
		_, doc := p.get(c, "/insights/live")
		return text(doc, "insight-assigned")
	}
	for range 2 {
		if got := assigned(); got != "7" {
			t.Fatalf("before the change: assigned %q", got)
		}
	}
	admin := storetest.Principal(t, p.store, "admin@globex.test")
	erin := storetest.Principal(t, p.store, "erin@globex.test").MembershipID
	if _, err := other.AssignSeats(context.Background(), admin, globexSub(t, p), []int64{erin}); err != nil {
		t.Fatal(err)
	}
	if got := assigned(); got != "8" {
		t.Errorf("the first poll after the change: assigned %q, want 8", got)
	}
}

func TestVendorInsightsForOperators(t *testing.T) {
	t.Parallel()
	p, _, _ := newConsolePortal(t)
	res, doc := p.get(p.staffLogin("ops@acme.test"), "/admin/insights")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("an operator gets %d: %s", res.StatusCode, text(doc, "error-message"))
	}
	// Globex, Initech and Umbrella sell 18 seats and hold 14; the demo's
	// other accounts add theirs.
	sold, assigned := demoSeatTotals(t, p.store)
	if text(doc, "vendor-sold") != itoa(sold) || text(doc, "vendor-assigned") != itoa(assigned) {
		t.Errorf("sold %q assigned %q, want %d and %d", text(doc, "vendor-sold"), text(doc, "vendor-assigned"), sold, assigned)
	}
	waste := doc.Find(`[data-testid="vendor-waste"] [data-testid="vendor-row"] a`)
	if href, _ := waste.First().Attr("href"); href != "/admin/accounts/globex" {
		t.Errorf("the most wasteful account links to %q", href)
	}
	if !strings.Contains(doc.Find(`[data-testid="vendor-past-due"]`).Text(), "Umbrella") {
		t.Error("Umbrella is not listed past due")
	}
	res, _ = p.get(p.staffLogin("support@acme.test"), "/admin/insights")
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("support gets %d", res.StatusCode)
	}
}

func TestMetricsAreServedApartWithBoundedLabels(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	m := metrics.New(a.store, a.cache, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e := a.echo
	e.Use(m.Middleware())
	key := a.newKey("globex")
	_, assigned := demoSeatTotals(t, a.store)
	a.get("/api/v1/accounts/globex/entitlements/api_calls?user=carol@globex.test", key)
	if r, err := http.Get(a.url + "/no/such/path/12345"); err == nil {
		r.Body.Close()
	}
	if r, err := http.Get(a.url + "/scim/v2/Users"); err == nil { // no token
		r.Body.Close()
	}
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	out := string(body)
	for _, want := range []string{
		`entitle_seats_assigned{product="analytics"} ` + itoa(assigned),
		`entitle_webhook_inbox_depth`,
		`entitle_check_cache_hit_ratio`,
		`entitle_scim_requests_total{outcome="unauthorized"} 1`,
		`entitle_scim_requests_total{outcome="ok"} 0`,
		`entitle_drift_repairs_total 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(out, "12345") || strings.Contains(out, "globex") {
		t.Error("a path or an account became a label")
	}
	// The portal's port serves no /metrics.
	r, err := http.Get(a.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the portal: %d", r.StatusCode)
	}
}

// TestACheckNamingAUserRecordsTheSeatsLastUse: checks only note the use in
// memory; the flush (every 5 s in serve, with the API keys' last use)
// writes the seat's last use, whatever case the address was given in.
func TestACheckNamingAUserRecordsTheSeatsLastUse(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	key := a.newKey("globex")
	if _, err := a.store.DB().Exec(`UPDATE seat_assignment SET last_used_at = NULL`); err != nil {
		t.Fatal(err)
	}
	lastUse := func() int {
		var n int
		if err := a.store.DB().QueryRow(`SELECT count(*) FROM seat_assignment sa JOIN membership m ON m.id = sa.membership_id
			JOIN app_user u ON u.id = m.user_id WHERE u.email = 'carol@globex.test' AND sa.last_used_at IS NOT NULL`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i := 0; i < 3; i++ {
		if r := a.get("/api/v1/accounts/globex/entitlements/dashboards?user=Carol@Globex.test", key); r.status != http.StatusOK {
			t.Fatalf("check: %d", r.status)
		}
	}
	if err := a.cache.FlushKeyUse(context.Background()); err != nil {
		t.Fatal(err)
	}
	if lastUse() != 1 {
		t.Fatal("the flush did not record carol's seat use")
	}
}

// demoSeatTotals reads the seats sold (live subscriptions) and assigned
// across every demo account, straight from the tables.
func demoSeatTotals(t *testing.T, s *store.Store) (sold, assigned int64) {
	t.Helper()
	if err := s.DB().QueryRow(`SELECT (SELECT sum(seats) FROM subscription WHERE status <> 'canceled'),
	       (SELECT count(*) FROM seat_assignment)`).Scan(&sold, &assigned); err != nil {
		t.Fatal(err)
	}
	if sold < 18 || assigned < 14 {
		t.Fatalf("the demo sells %d seats and assigns %d: fewer than Globex, Initech and Umbrella alone", sold, assigned)
	}
	return sold, assigned
}

// TestTheIdleListIsCappedAndSaysHowManyMore: with 122 idle holders the
// figure counts them all, the list names the 100 least recently active and
// says so.
func TestTheIdleListIsCappedAndSaysHowManyMore(t *testing.T) {
	t.Parallel()
	p := newPortal(t)
	sub := globexSub(t, p)
	long := p.store.Now().AddDate(-1, 0, 0)
	_, err := p.store.DB().Exec(`
WITH acc AS (SELECT id FROM account WHERE slug = 'globex'),
u AS (INSERT INTO app_user (email) SELECT 'idle' || i || '@globex.test' FROM generate_series(1, 120) i RETURNING id),
m AS (INSERT INTO membership (account_id, user_id, role, status) SELECT acc.id, u.id, 'member', 'active' FROM acc, u RETURNING id, account_id)
INSERT INTO seat_assignment (account_id, subscription_id, membership_id, assigned_at) SELECT m.account_id, $1, m.id, $2 FROM m`, sub, long)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.store.DB().Exec(`UPDATE subscription SET seats = 200 WHERE id = $1`, sub); err != nil {
		t.Fatal(err)
	}
	_, doc := p.get(p.login("admin@globex.test"), "/insights")
	if got := text(doc, "insight-idle"); got != "122" {
		t.Errorf("idle figure %q, want 122", got)
	}
	if n := doc.Find(`[data-testid="idle-holder"]`).Length(); n != store.IdleListed {
		t.Errorf("%d idle holders listed, want %d", n, store.IdleListed)
	}
	if got, want := text(doc, "idle-more"), "The 100 least recently active of 122 are listed."; got != want {
		t.Errorf("idle-more %q, want %q", got, want)
	}
}
