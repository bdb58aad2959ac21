// Command benchmembers is the members page benchmark's helper
// (scripts/bench-members.sh): `prepare` makes a fresh database holding the
// demo data plus an account of 10,000 members, `freeport` prints a free
// loopback port, and `load` signs in and measures the members page against
// /healthz on a running portal.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/scripts/benchserver"
	"github.com/entitle-dev/entitle/store"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchmembers prepare|freeport|load [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "prepare":
		err = prepare(os.Args[2:])
	case "freeport":
		err = freeport()
	case "load":
		err = load(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmembers:", err)
		os.Exit(1)
	}
}

func freeport() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	return nil
}

// seedMembersSQL gives Globex n more members (invited one in ten), and a
// seat to every other one (the pool grows to fit), so that the page's
// seats column and filters have work to do.
const seedMembersSQL = `
WITH acct AS (SELECT id FROM account WHERE slug = 'globex'),
users AS (
  INSERT INTO app_user (email, name, created_at)
  SELECT 'user' || g || '@globex.test',
         (ARRAY['Ada','Ben','Cleo','Dan','Eve','Finn','Gia','Hugo','Ivy','Jon'])[1 + g % 10] || ' ' ||
         (ARRAY['Archer','Baker','Carter','Dalton','Ellis','Foster','Grant','Hayes'])[1 + (g / 10) % 8] || ' ' || g,
         now()
  FROM generate_series(1, $1) g RETURNING id, email)
INSERT INTO membership (account_id, user_id, role, status, created_at, last_sign_in_at)
SELECT acct.id, users.id, 'member',
       CASE WHEN users.id % 10 = 0 THEN 'invited' ELSE 'active' END, now(),
       CASE WHEN users.id % 3 = 0 THEN now() - (users.id % 90) * interval '1 day' END
FROM users, acct`

const seedSeatsSQL = `
WITH sub AS (UPDATE subscription SET seats = $1 WHERE account_id = (SELECT id FROM account WHERE slug = 'globex') RETURNING id, account_id)
INSERT INTO seat_assignment (account_id, subscription_id, membership_id, assigned_at)
SELECT sub.account_id, sub.id, m.id, now() FROM sub JOIN membership m ON m.account_id = sub.account_id
WHERE m.id % 2 = 0 AND NOT EXISTS (SELECT 1 FROM seat_assignment sa WHERE sa.subscription_id = sub.id AND sa.membership_id = m.id)`

func prepare(args []string) error {
	fs := flag.NewFlagSet("prepare", flag.ExitOnError)
	dbURL := fs.String("db", "", "URL of the benchmark's database (dropped and created anew)")
	members := fs.Int("members", 10000, "members to add to Globex")
	_ = fs.Parse(args)
	ctx := context.Background()
	u, err := url.Parse(*dbURL)
	if err != nil || strings.Trim(u.Path, "/") == "" {
		return fmt.Errorf("-db %q: need a database URL", *dbURL)
	}
	name := strings.Trim(u.Path, "/")
	admin := *u
	admin.Path = "/postgres"
	adb, err := sqlx.Open("postgres", admin.String())
	if err != nil {
		return err
	}
	if _, err := adb.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		return err
	}
	adb.Close()
	db, err := store.Open(ctx, *dbURL, 10*time.Second)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := store.Migrate(ctx, db); err != nil {
		return err
	}
	if err := store.New(db, licensing.SystemClock{}).ApplyDemo(ctx); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, seedMembersSQL, *members); err != nil {
		return fmt.Errorf("seed members: %w", err)
	}
	if _, err := db.ExecContext(ctx, seedSeatsSQL, *members); err != nil {
		return fmt.Errorf("seed seats: %w", err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
		return err
	}
	var n int
	_ = db.GetContext(ctx, &n, `SELECT count(*) FROM membership m JOIN account a ON a.id = m.account_id WHERE a.slug = 'globex'`)
	fmt.Printf("prepared %s: Globex has %d members\n", name, n)
	return nil
}

var (
	csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	nextLink  = regexp.MustCompile(`href="(/members\?after=[^"]+)"[^>]*data-testid="page-next"`)
)

func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	base := fs.String("url", "", "the portal's base URL (loopback)")
	email := fs.String("email", "owner@globex.test", "who signs in")
	duration := fs.Duration("duration", 8*time.Second, "how long each target is loaded")
	concurrency := fs.Int("concurrency", 8, "requests in flight")
	bareURL := benchserver.BareFlag(fs)
	_ = fs.Parse(args)
	if u, err := url.Parse(*base); err != nil || !(strings.HasPrefix(u.Host, "127.") || strings.HasPrefix(u.Host, "localhost")) {
		return fmt.Errorf("-url %q: only a loopback address is loaded", *base)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *concurrency}}
	body, err := fetch(client, *base+"/login")
	if err != nil {
		return err
	}
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		return errors.New("no CSRF token on /login")
	}
	res, err := client.PostForm(*base+"/login", url.Values{"_csrf": {m[1]}, "email": {*email}, "password": {store.DemoPassword}})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	page, err := fetch(client, *base+"/members")
	if err != nil || !strings.Contains(page, `data-testid="member-total"`) {
		return fmt.Errorf("members page after sign-in: %v", err)
	}
	// A page deep in the list: follow "Next" 100 times (row 5,000).
	deep := "/members"
	for i := 0; i < 100; i++ {
		nm := nextLink.FindStringSubmatch(page)
		if nm == nil {
			break
		}
		deep = strings.ReplaceAll(nm[1], "&amp;", "&")
		if page, err = fetch(client, *base+deep); err != nil {
			return err
		}
	}
	bare := benchserver.BareURL(*bareURL)
	get := func(path string, htmx bool) func() *http.Request {
		return func() *http.Request {
			req, _ := http.NewRequest(http.MethodGet, *base+path, nil)
			if htmx {
				req.Header.Set("HX-Request", "true")
			}
			return req
		}
	}
	measure := func(name string, newReq func() *http.Request) benchserver.Figure {
		return benchserver.Measure(client, name, newReq, *concurrency, *duration)
	}
	var bareFig benchserver.Figure
	if bare != "" {
		bareFig = measure("bare", benchserver.Get(bare))
	}
	own := measure("/healthz", get("/healthz", false))
	first := measure("/members first page, 10,009 members", get("/members", false))
	first.Target = "p95 < 20 ms, ≥ 1,000 req/s"
	first.Met = benchserver.Verdict(first.P95 < 20*time.Millisecond, first.Rate >= 1000)
	deepFig := measure("/members page 101 (keyset)", get(deep, false))
	search := measure("/members?q= htmx search", get("/members?q=finn+gr", true))
	search.Target = "p95 < 20 ms"
	search.Met = benchserver.Verdict(search.P95 < 20*time.Millisecond)
	benchserver.Table(os.Stdout, fmt.Sprintf("members page, %d in flight, %s per target, signed in as %s", *concurrency, *duration, *email),
		bareFig, own, first, deepFig, search)
	for _, f := range []benchserver.Figure{own, first, deepFig, search} {
		if f.Errors > 0 {
			return fmt.Errorf("%s answered %d errors", f.Name, f.Errors)
		}
	}
	return nil
}

func fetch(c *http.Client, u string) (string, error) {
	res, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d", u, res.StatusCode)
	}
	return string(b), err
}
