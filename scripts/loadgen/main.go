// Command loadgen is the load generator behind scripts/bench-api.sh: it
// drives HTTP targets on loopback with a fixed number of keep-alive
// connections, one target after the other, and prints requests per second
// and latency percentiles with each target's ratio to the first (the
// baseline, /healthz). It can also post usage reports during a run and
// sample a process's resident memory, to show that memory stays flat.
//
//	loadgen -c 32 -d 10s -H "Authorization: Bearer ent_..." healthz=http://127.0.0.1:8090/healthz check=http://...
//	loadgen wait URL          wait until URL answers 200 (a server starting)
//	loadgen dropdb DB_URL     drop the database DB_URL names (a fresh benchmark database)
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/scripts/benchserver"
)

type target struct{ name, url string }

type result struct {
	target
	latencies []time.Duration
	failures  int
	elapsed   time.Duration
}

// add merges another round of the same target.
func (r result) add(o result) result {
	r.target = o.target
	r.latencies = append(r.latencies, o.latencies...)
	r.failures += o.failures
	r.elapsed += o.elapsed
	return r
}

func (r result) figure() benchserver.Figure {
	return benchserver.FromLatencies(r.name, r.latencies, r.failures, r.elapsed)
}

// goals is -goal NAME=TERMS,... : bare:R (rate at least R× the bare
// /healthz), p99bare:D (p99 at most the bare /healthz's p99 plus D),
// of:OTHER:R (rate at least R× target OTHER's).
type goals map[string]string

func (g goals) String() string { return fmt.Sprint(map[string]string(g)) }
func (g goals) Set(v string) error {
	name, terms, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("goal %q: want NAME=TERMS", v)
	}
	g[name] = terms
	return nil
}

// judge fills f's Target and Met from its goal terms.
func (g goals) judge(f benchserver.Figure, bare benchserver.Figure, byName map[string]benchserver.Figure) (benchserver.Figure, error) {
	terms, ok := g[f.Name]
	if !ok {
		return f, nil
	}
	var words []string
	var conds []bool
	for _, term := range strings.Split(terms, ",") {
		parts := strings.Split(term, ":")
		switch {
		case parts[0] == "bare" && len(parts) == 2:
			r, err := strconv.ParseFloat(parts[1], 64)
			if err != nil {
				return f, err
			}
			words = append(words, fmt.Sprintf("≥ %.2f× bare", r))
			conds = append(conds, bare.Rate > 0 && f.Rate >= r*bare.Rate)
		case parts[0] == "p99bare" && len(parts) == 2:
			d, err := time.ParseDuration(parts[1])
			if err != nil {
				return f, err
			}
			words = append(words, fmt.Sprintf("p99 within %v of bare", d))
			conds = append(conds, bare.Rate > 0 && f.P99 <= bare.P99+d)
		case parts[0] == "of" && len(parts) == 3:
			r, err := strconv.ParseFloat(parts[2], 64)
			if err != nil {
				return f, err
			}
			other, ok := byName[parts[1]]
			if !ok {
				return f, fmt.Errorf("goal for %s names unknown target %q", f.Name, parts[1])
			}
			words = append(words, fmt.Sprintf("≥ %.0f%% of %s", r*100, parts[1]))
			conds = append(conds, f.Rate >= r*other.Rate)
		default:
			return f, fmt.Errorf("goal term %q: want bare:R, p99bare:D or of:NAME:R", term)
		}
	}
	f.Target, f.Met = strings.Join(words, "; "), benchserver.Verdict(conds...)
	return f, nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 2 && args[0] == "wait" {
		return wait(args[1])
	}
	if len(args) == 2 && args[0] == "dropdb" {
		return dropDB(args[1])
	}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	conns := fs.Int("c", 32, "connections (one worker each)")
	dur := fs.Duration("d", 10*time.Second, "duration per target")
	warm := fs.Duration("warmup", 2*time.Second, "warm-up per target, not measured")
	header := fs.String("H", "", "a request header, \"Name: value\"")
	pid := fs.Int("pid", 0, "sample this process's resident memory every -sample")
	sample := fs.Duration("sample", 5*time.Second, "memory sampling interval")
	postURL := fs.String("post-url", "", "also POST to this URL during each run")
	postBody := fs.String("post-body", "", "body of each POST; {n} becomes a unique number")
	postEvery := fs.Duration("post-every", 100*time.Millisecond, "interval between POSTs")
	bare := benchserver.BareFlag(fs)
	postDuring := fs.String("post-during", "", "POST only while this target runs (default: during the whole run)")
	title := fs.String("title", "entitlement API", "the table's title")
	gs := goals{}
	fs.Var(gs, "goal", "NAME=TERMS: the issue's target for a target (repeatable), see goals")
	rounds := fs.Int("rounds", 5, "split each target's time into this many rounds, interleaved with the other targets', so that a machine whose load changes during the run (other work on it) affects every target alike")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var targets []target
	for _, a := range fs.Args() {
		name, u, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("target %q: want name=URL", a)
		}
		targets = append(targets, target{name, u})
	}
	if len(targets) == 0 {
		return errors.New("no targets")
	}
	if u := benchserver.BareURL(*bare); u != "" {
		targets = append([]target{{"bare", u}}, targets...)
	}
	var hdrName, hdrValue string
	if *header != "" {
		n, v, ok := strings.Cut(*header, ":")
		if !ok {
			return fmt.Errorf("header %q: want \"Name: value\"", *header)
		}
		hdrName, hdrValue = strings.TrimSpace(n), strings.TrimSpace(v)
	}
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: *conns * 2, MaxIdleConnsPerHost: *conns * 2, MaxConnsPerHost: *conns * 2,
		DisableCompression: true, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}, Timeout: 10 * time.Second}

	fmt.Printf("%d connections, %v per target in %d interleaved rounds, after a %v warm-up\n", *conns, *dur, *rounds, *warm)
	var mem *memSampler
	if *pid > 0 {
		mem = startMemSampler(*pid, *sample)
	}
	var posts, postErrs int
	posting := func(name string) func() {
		if *postDuring != "" && name != *postDuring {
			return func() {}
		}
		stop := startPosts(client, *postURL, *postBody, *postEvery, hdrName, hdrValue)
		return func() { n, e := stop(); posts += n; postErrs += e }
	}
	if *warm > 0 {
		for _, t := range targets {
			load(client, t, *conns, *warm/time.Duration(len(targets)), hdrName, hdrValue)
		}
	}
	results := make([]result, len(targets))
	for round := 0; round < max(*rounds, 1); round++ {
		for i, t := range targets {
			stop := posting(t.name)
			results[i] = results[i].add(load(client, t, *conns, *dur/time.Duration(max(*rounds, 1)), hdrName, hdrValue))
			stop()
		}
	}
	byName := map[string]benchserver.Figure{}
	for _, r := range results {
		byName[r.name] = r.figure()
	}
	var bareFig, own benchserver.Figure
	var figs []benchserver.Figure
	for _, r := range results {
		f := byName[r.name]
		switch r.name {
		case "bare":
			bareFig = f
		case "healthz":
			own = f
		default:
			var err error
			if f, err = gs.judge(f, bareFig, byName); err != nil {
				return err
			}
			figs = append(figs, f)
		}
	}
	benchserver.Table(os.Stdout, *title, bareFig, own, figs...)
	if *postURL != "" {
		fmt.Printf("%d usage reports posted meanwhile, %d failed\n", posts, postErrs)
	}
	if mem != nil {
		fmt.Printf("resident memory of the server (pid %d), every %v: %s\n", *pid, *sample, mem.stop())
	}
	return nil
}

// load runs conns workers against t for d and gathers latencies.
func load(client *http.Client, t target, conns int, d time.Duration, hdrName, hdrValue string) result {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	lat := make([][]time.Duration, conns)
	fails := make([]int, conns)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat[w] = make([]time.Duration, 0, 1<<16)
			req, _ := http.NewRequest(http.MethodGet, t.url, nil)
			if hdrName != "" {
				req.Header.Set(hdrName, hdrValue)
			}
			for ctx.Err() == nil {
				t0 := time.Now()
				res, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				if ctx.Err() != nil {
					return // a request cut by the deadline is not counted
				}
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil || res.StatusCode != http.StatusOK {
					fails[w]++
				}
			}
		}()
	}
	wg.Wait()
	r := result{target: t, elapsed: time.Since(start)}
	for w := range conns {
		r.latencies = append(r.latencies, lat[w]...)
		r.failures += fails[w]
	}
	return r
}

// startPosts POSTs body (with {n} numbered) every interval until stopped.
func startPosts(client *http.Client, u, body string, every time.Duration, hdrName, hdrValue string) func() (int, int) {
	if u == "" {
		return func() (int, int) { return 0, 0 }
	}
	var sent, failed atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for n := time.Now().UnixNano(); ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			num := strconv.FormatInt(n, 10)
			req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(strings.ReplaceAll(body, "{n}", num)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "loadgen-"+num)
			if hdrName != "" {
				req.Header.Set(hdrName, hdrValue)
			}
			res, err := client.Do(req)
			sent.Add(1)
			if err != nil {
				failed.Add(1)
				continue
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				failed.Add(1)
			}
		}
	}()
	return func() (int, int) {
		close(stop)
		<-done
		return int(sent.Load()), int(failed.Load())
	}
}

type memSampler struct {
	stopc   chan struct{}
	done    chan struct{}
	samples []int64 // kB
}

func startMemSampler(pid int, every time.Duration) *memSampler {
	m := &memSampler{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			m.samples = append(m.samples, rss(pid))
			select {
			case <-m.stopc:
				m.samples = append(m.samples, rss(pid))
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

func (m *memSampler) stop() string {
	close(m.stopc)
	<-m.done
	parts := make([]string, len(m.samples))
	for i, kb := range m.samples {
		parts[i] = fmt.Sprintf("%.1f", float64(kb)/1024)
	}
	return strings.Join(parts, " → ") + " MiB"
}

// rss reads VmRSS (kB) from /proc.
func rss(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return -1
}

// wait polls u until it answers 200, for up to 30 s.
func wait(u string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(u); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer 200 within 30 s", u)
}

// dropDB drops the database a PostgreSQL URL names, through the server's
// maintenance database.
func dropDB(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || name == "postgres" {
		return fmt.Errorf("refusing to drop %q", name)
	}
	u.Path = "/postgres"
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name) + " WITH (FORCE)")
	return err
}
