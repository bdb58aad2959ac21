// Command benchsdk measures the Go SDK against a real server: how soon a
// committed change (a seat, a grant, a plan) reaches an SDK client's
// answer, and how much heap the SDK holds for many accounts' states. It
// seeds a fresh database, starts `bin/entitle serve`, runs a client that
// follows the change stream, and n times commits a change through the store
// (as the portal or the billing worker would) and polls the client's
// in-process Check until the answer shows it. Run by scripts/bench-sdk.sh.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/scripts/benchserver"
	"github.com/entitle-dev/entitle/sdk/entitle"
	"github.com/entitle-dev/entitle/store"
)

func main() {
	n := flag.Int("n", 150, "changes to measure (at least 100)")
	accounts := flag.Int("accounts", 10000, "account states to hold for the memory figure")
	bin := flag.String("bin", "bin/entitle", "the entitle binary")
	flag.Parse()
	if err := run(max(*n, 100), *accounts, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "bench-sdk:", err)
		os.Exit(1)
	}
}

func run(n, accounts int, bin string) error {
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		return fmt.Errorf("DATABASE_URL is not set")
	}
	dbURL, drop, err := benchserver.FreshDatabase(base, "entitle_bench_sdk")
	if err != nil {
		return err
	}
	defer drop()
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "LOG_LEVEL=warn", "METRICS_ADDR=",
		"API_RATE_LIMIT=0", "SESSION_SECRET=bench-sdk-session-secret-0123456789")
	if out, err := command(env, bin, "demo", "seed").CombinedOutput(); err != nil {
		return fmt.Errorf("demo seed: %v\n%s", err, out)
	}
	out, err := command(env, bin, "apikeys", "create", "globex", "--name", "bench-sdk", "--scopes", "check,usage,license").Output()
	if err != nil {
		return fmt.Errorf("apikeys create: %v", err)
	}
	key := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	addr, err := benchserver.FreePort()
	if err != nil {
		return err
	}
	srv := command(append(env, "ADDR="+addr, "PUBLIC_URL=http://"+addr), bin, "serve")
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { _ = srv.Process.Signal(os.Interrupt); _ = srv.Wait() }()
	url := "http://" + addr
	if err := benchserver.WaitReady(url + "/readyz?scope=checks"); err != nil {
		return err
	}

	ctx := context.Background()
	db, err := store.Open(ctx, dbURL, 10*time.Second)
	if err != nil {
		return err
	}
	defer db.Close()
	s := store.New(db, nil)
	keys, err := publishedKeys(url)
	if err != nil {
		return err
	}
	cfg := entitle.Config{BaseURL: url, APIKey: key, Account: "globex", Keys: keys, Refresh: time.Hour}
	c, err := entitle.New(cfg)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = c.Run(runCtx) }()
	if _, err := waitUntil(func() bool { _, err := c.Check(ctx, "dashboards", ""); return err == nil }); err != nil {
		return fmt.Errorf("the client's first state: %w", err)
	}
	time.Sleep(200 * time.Millisecond) // the stream connects after the first state

	changes, err := newChanges(ctx, s, c)
	if err != nil {
		return err
	}
	// A second stream, read raw, times the announcement alone: the rest
	// of the answer's delay is the client fetching and verifying the state.
	events, err := watchStream(runCtx, url, key)
	if err != nil {
		return err
	}
	took := map[string][]time.Duration{}
	var all, announced []time.Duration
	for i := range n {
		kind := changes[i%len(changes)]
		for len(events) > 0 {
			<-events
		}
		if err := kind.commit(); err != nil {
			return fmt.Errorf("%s change %d: %w", kind.name, i, err)
		}
		committed := time.Now()
		d, err := waitUntil(kind.shows)
		if err != nil {
			return fmt.Errorf("%s change %d never reached the client: %w", kind.name, i, err)
		}
		took[kind.name] = append(took[kind.name], d)
		all = append(all, d)
		select {
		case at := <-events:
			announced = append(announced, at.Sub(committed))
		case <-time.After(10 * time.Second):
			return fmt.Errorf("change %d was never announced on the stream", i)
		}
	}
	fmt.Printf("change committed → an SDK client's in-process answer (change stream, one instance), over %d changes:\n", n)
	for _, kind := range changes {
		printRow(kind.name, took[kind.name])
	}
	printRow("all", all)
	printRow("of which: announced", announced)
	slices.Sort(all)
	fmt.Printf("  target p99 < 100 ms on loopback: met %s\n", benchserver.Verdict(pct(all, 99) < 100*time.Millisecond))

	return memory(ctx, cfg, accounts)
}

// change is one kind of committed change, flipped back and forth, and how
// a client's answer shows the latest flip.
type change struct {
	name   string
	commit func() error
	shows  func() bool
}

func newChanges(ctx context.Context, s *store.Store, c *entitle.Client) ([]change, error) {
	var owner store.Principal
	var sub, frank int64
	if err := s.DB().QueryRowContext(ctx, `SELECT m.account_id, m.id, u.id, u.email FROM membership m JOIN app_user u ON u.id = m.user_id
		WHERE u.email = 'owner@globex.test'`).Scan(&owner.AccountID, &owner.MembershipID, &owner.UserID, &owner.Email); err != nil {
		return nil, err
	}
	if err := s.DB().QueryRowContext(ctx, `SELECT s.id, m.id FROM subscription s, membership m JOIN app_user u ON u.id = m.user_id
		WHERE s.account_id = $1 AND m.account_id = $1 AND u.email = 'frank@globex.test'`, owner.AccountID).Scan(&sub, &frank); err != nil {
		return nil, err
	}
	operator := store.SystemActor("bench-sdk")
	check := func(feature, user string) licensing.CheckResult {
		r, _ := c.Check(ctx, feature, user)
		return r
	}
	seat, grant := false, int64(0)
	plan := "team"
	return []change{
		{name: "seat (assign/unassign)", commit: func() error {
			var err error
			if seat {
				_, err = s.UnassignSeats(ctx, owner, sub, []int64{frank})
			} else {
				_, err = s.AssignSeats(ctx, owner, sub, []int64{frank})
			}
			seat = !seat
			return err
		}, shows: func() bool { return check("dashboards", "frank@globex.test").Decision.HasAccess == seat }},
		{name: "grant (create/revoke)", commit: func() error {
			if grant != 0 {
				err := s.RevokeGrant(ctx, operator, "globex", grant)
				grant = 0
				return err
			}
			var err error
			grant, err = s.CreateGrant(ctx, operator, "globex", store.GrantInput{Kind: "feature", ProductKey: "analytics",
				FeatureKey: "sso", Enabled: true, Reason: "bench", ExpiresAt: time.Now().Add(24 * time.Hour)})
			return err
		}, shows: func() bool { return check("sso", "").Decision.HasAccess == (grant != 0) }},
		{name: "plan (team/business)", commit: func() error {
			if plan == "team" {
				plan = "business"
			} else {
				plan = "team"
			}
			return s.SetSubscriptionPlan(ctx, operator, owner.AccountID, "analytics", plan)
		}, shows: func() bool { r := check("dashboards", ""); return r.Plan != nil && r.Plan.Key == plan }},
	}, nil
}

// watchStream reads the account's change stream and sends the arrival
// time of each change event.
func watchStream(ctx context.Context, url, key string) (<-chan time.Time, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/v1/accounts/globex/stream", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, fmt.Errorf("stream: %s", res.Status)
	}
	out := make(chan time.Time, 64)
	first := true
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if sc.Text() == "event: changed" {
				if first { // the state as it was when connecting
					first = false
					continue
				}
				out <- time.Now()
			}
		}
	}()
	return out, nil
}

// licenceCache serves every client after the first the signed state the
// first one fetched: the memory figure is the SDK's, not the server's
// signing rate. Each client still verifies and indexes its own copy.
type licenceCache struct {
	mu   sync.Mutex
	body []byte
}

func (l *licenceCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.URL.Path, "/license") {
		return http.DefaultTransport.RoundTrip(req)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.body == nil {
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("licence: %s", res.Status)
		}
		if l.body, err = io.ReadAll(res.Body); err != nil {
			return nil, err
		}
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(l.body)), Request: req}, nil
}

// memory loads the signed state into accounts clients (each verifies and
// indexes its own copy, as a process serving that many accounts would) and
// prints the heap they hold.
func memory(ctx context.Context, cfg entitle.Config, accounts int) error {
	cfg.HTTPClient = &http.Client{Transport: &licenceCache{}}
	clients := make([]*entitle.Client, accounts)
	before := heap()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, accounts)
	next := make(chan int)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := entitle.New(cfg)
				if err == nil {
					err = c.Refresh(ctx)
				}
				if err == nil {
					_, err = c.Check(ctx, "dashboards", "") // builds the client's index
				}
				if err != nil {
					errs <- err
					continue
				}
				clients[i] = c
			}
		}()
	}
	for i := range accounts {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("loading states: %w", err)
	}
	after := heap()
	per := float64(after-before) / float64(accounts)
	fmt.Printf("SDK memory: %d accounts' verified states held in memory: heap %.1f MB (%.1f KB per account; loaded in %s)\n",
		accounts, float64(after-before)/(1<<20), per/1024, time.Since(start).Round(time.Millisecond))
	runtime.KeepAlive(clients)
	return nil
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func publishedKeys(url string) (licensing.KeyRing, error) {
	res, err := http.Get(url + "/api/v1/keys")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return licensing.ParseKeyRing(data)
}

// waitUntil polls ok until it holds (up to 10 s) and answers how long it
// took.
func waitUntil(ok func() bool) (time.Duration, error) {
	start := time.Now()
	for !ok() {
		if time.Since(start) > 10*time.Second {
			return 0, fmt.Errorf("not within 10 s")
		}
		time.Sleep(50 * time.Microsecond)
	}
	return time.Since(start), nil
}

func printRow(label string, d []time.Duration) {
	d = slices.Clone(d)
	slices.Sort(d)
	fmt.Printf("  %-24s p50 %8s  p90 %8s  p99 %8s  max %8s  (%d changes)\n", label, pct(d, 50), pct(d, 90), pct(d, 99), d[len(d)-1].Round(time.Microsecond), len(d))
}

func pct(d []time.Duration, p int) time.Duration {
	return d[min(len(d)-1, len(d)*p/100)].Round(time.Microsecond)
}

func command(env []string, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	return cmd
}
