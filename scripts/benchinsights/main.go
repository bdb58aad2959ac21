// Command benchinsights is the insights benchmark's helper
// (scripts/bench-insights.sh): `seed` spreads last-use times over the seats
// of a database prepared by benchmembers (Globex with 10,000 members) and
// writes today's snapshot; `load` signs in and measures /insights (p50,
// p95, p99) against /healthz, then scrapes /metrics on its own address
// while entitlement checks run, and reports both.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/scripts/benchserver"
	"github.com/entitle-dev/entitle/store"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchinsights seed|load [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "seed":
		err = seed(os.Args[2:])
	case "load":
		err = load(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchinsights:", err)
		os.Exit(1)
	}
}

// spreadUseSQL gives every seat a last use between now and 120 days ago, so
// that a share of them is idle.
const spreadUseSQL = `UPDATE seat_assignment SET last_used_at = now() - (membership_id % 120) * interval '1 day', assigned_at = now() - interval '150 days'`

func seed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	dbURL := fs.String("db", "", "URL of the benchmark's database (prepared by benchmembers)")
	_ = fs.Parse(args)
	ctx := context.Background()
	db, err := sqlx.Open("postgres", *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, spreadUseSQL); err != nil {
		return err
	}
	if _, err := store.New(db, licensing.SystemClock{}).SnapshotInsights(ctx); err != nil {
		return err
	}
	var seats, days int
	_ = db.GetContext(ctx, &seats, `SELECT count(*) FROM seat_assignment sa JOIN account a ON a.id = sa.account_id WHERE a.slug = 'globex'`)
	_ = db.GetContext(ctx, &days, `SELECT count(*) FROM insights_snapshot i JOIN account a ON a.id = i.account_id WHERE a.slug = 'globex'`)
	fmt.Printf("seeded: Globex holds %d seats, %d days of snapshots\n", seats, days)
	return nil
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	base := fs.String("url", "", "the portal's base URL (loopback)")
	metricsURL := fs.String("metrics", "", "the /metrics URL (loopback)")
	checkURL := fs.String("check", "", "an entitlement check URL, loaded while /metrics is scraped")
	token := fs.String("token", "", "API key for -check")
	duration := fs.Duration("duration", 8*time.Second, "how long each target is loaded")
	concurrency := fs.Int("concurrency", 4, "requests in flight")
	bareURL := benchserver.BareFlag(fs)
	_ = fs.Parse(args)
	for _, u := range []string{*base, *metricsURL, *checkURL} {
		if p, err := url.Parse(u); err != nil || !strings.HasPrefix(p.Host, "127.") {
			return fmt.Errorf("%q: only loopback addresses are loaded", u)
		}
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	body, err := fetch(client, *base+"/login", nil)
	if err != nil {
		return err
	}
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		return errors.New("no CSRF token on /login")
	}
	res, err := client.PostForm(*base+"/login", url.Values{"_csrf": {m[1]}, "email": {"owner@globex.test"}, "password": {store.DemoPassword}})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	page, err := fetch(client, *base+"/insights?days=90", nil)
	if err != nil || !strings.Contains(page, `data-testid="compliance"`) {
		return fmt.Errorf("insights page after sign-in: %v", err)
	}
	measure := func(c *http.Client, name, u string, h http.Header, conc int) benchserver.Figure {
		return benchserver.Measure(c, name, func() *http.Request {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			for k, v := range h {
				req.Header[k] = v
			}
			return req
		}, conc, *duration)
	}
	var bareFig benchserver.Figure
	if bare := benchserver.BareURL(*bareURL); bare != "" {
		bareFig = measure(client, "bare", bare, nil, *concurrency)
	}
	own := measure(client, "/healthz", *base+"/healthz", nil, *concurrency)
	ins := measure(client, "/insights?days=90, 10,000 members", *base+"/insights?days=90", nil, *concurrency)
	ins.Target, ins.Met = "p95 < 20 ms", benchserver.Verdict(ins.P95 < 20*time.Millisecond)
	live := measure(client, "/insights/live fragment", *base+"/insights/live?days=90", http.Header{"HX-Request": {"true"}}, *concurrency)
	live.Target, live.Met = "p95 < 10 ms", benchserver.Verdict(live.P95 < 10*time.Millisecond)

	// /metrics scraped by 1 scraper while 16 connections check.
	api := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	hdr := http.Header{"Authorization": {"Bearer " + *token}}
	var checks benchserver.Figure
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		checks = measure(api, "checks (during the /metrics scrapes)", *checkURL, hdr, 16)
	}()
	scrapes := measure(&http.Client{Timeout: 10 * time.Second}, "/metrics (under check load)", *metricsURL, nil, 1)
	wg.Wait()
	benchserver.Table(os.Stdout, fmt.Sprintf("insights, %d in flight, %s per target, as owner@globex.test", *concurrency, *duration),
		bareFig, own, ins, live, checks, scrapes)
	if ins.Errors+live.Errors+checks.Errors+scrapes.Errors > 0 {
		return errors.New("some requests failed")
	}
	return nil
}

func fetch(c *http.Client, u string, h http.Header) (string, error) {
	req, _ := http.NewRequest("GET", u, nil)
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := c.Do(req)
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
