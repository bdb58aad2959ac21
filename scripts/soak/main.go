// Command soak runs mixed traffic against one `bin/entitle serve` for a
// while — portal pages as a signed-in owner, entitlement checks, usage
// reports and signed Stripe webhook events — and samples the server's
// resident memory, to show it stays flat and under a bound (issue 20: ten
// minutes, under 64 MiB). Run by scripts/soak.sh (`make soak`).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/entitle-dev/entitle/scripts/benchserver"
	"github.com/entitle-dev/entitle/store"
)

const webhookSecret = "whsec_soak"

func main() {
	duration := flag.Duration("d", 10*time.Minute, "how long the traffic runs")
	every := flag.Duration("sample", 30*time.Second, "how often resident memory is sampled")
	limitMiB := flag.Float64("limit", 64, "the bound on resident memory, MiB")
	bin := flag.String("bin", "bin/entitle", "the entitle binary")
	flag.Parse()
	if err := run(*bin, *duration, *every, *limitMiB); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// kind is one sort of traffic and what it got back.
type kind struct {
	name       string
	done, bad  atomic.Int64
	concurrent int
	next       func(i int) (*http.Request, error)
	want       int
	every      time.Duration // > 0: paced, one request per interval per worker
}

func run(bin string, d, every time.Duration, limitMiB float64) error {
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		return errors.New("DATABASE_URL is not set")
	}
	dbURL, drop, err := benchserver.FreshDatabase(base, "entitle_soak")
	if err != nil {
		return err
	}
	defer drop()
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "STRIPE_WEBHOOK_SECRET="+webhookSecret, "LOG_LEVEL=warn",
		"METRICS_ADDR=", "API_RATE_LIMIT=100000000", "API_RATE_BURST=100000000",
		"SESSION_SECRET=soak-session-secret-0123456789abcdef")
	if out, err := command(env, bin, "demo", "seed").CombinedOutput(); err != nil {
		return fmt.Errorf("demo seed: %v\n%s", err, out)
	}
	out, err := command(env, bin, "apikeys", "create", "globex", "--name", "soak", "--scopes", "check,usage").Output()
	if err != nil {
		return fmt.Errorf("apikeys create: %v", err)
	}
	token := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
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
	portal := "http://" + addr
	if err := benchserver.WaitReady(portal + "/readyz"); err != nil {
		return err
	}
	owner, err := signIn(portal, "owner@globex.test")
	if err != nil {
		return err
	}

	api := portal + "/api/v1/accounts/globex"
	pages := []string{"/", "/members", "/seats", "/insights", "/billing", "/audit"}
	var eventSeq atomic.Int64
	started := time.Now()
	kinds := []*kind{
		{name: "checks", concurrent: 8, want: http.StatusOK, next: func(i int) (*http.Request, error) {
			feature := [...]string{"exports", "api_calls", "dashboards?user=alice@globex.test"}[i%3]
			return bearer(http.NewRequest(http.MethodGet, api+"/entitlements/"+feature, nil))(token)
		}},
		{name: "usage reports", concurrent: 1, every: 50 * time.Millisecond, want: http.StatusCreated, next: func(i int) (*http.Request, error) {
			req, err := bearer(http.NewRequest(http.MethodPost, api+"/usage", strings.NewReader(`{"feature":"api_calls","quantity":1}`)))(token)
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", "soak-"+strconv.Itoa(i)+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
			}
			return req, err
		}},
		{name: "portal pages", concurrent: 2, want: http.StatusOK, next: func(i int) (*http.Request, error) {
			return http.NewRequest(http.MethodGet, portal+pages[i%len(pages)], nil)
		}},
		{name: "Stripe webhook events", concurrent: 2, every: 40 * time.Millisecond, want: http.StatusOK, next: func(int) (*http.Request, error) {
			payload := subscriptionEvent(int(eventSeq.Add(1)), started)
			req, err := http.NewRequest(http.MethodPost, portal+"/webhooks/stripe", bytes.NewReader(payload))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Stripe-Signature", webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: webhookSecret}).Header)
			}
			return req, err
		}},
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, k := range kinds {
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: k.concurrent}}
		if k.name == "portal pages" {
			client = owner
		}
		for w := range k.concurrent {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var tick <-chan time.Time
				if k.every > 0 {
					t := time.NewTicker(k.every)
					defer t.Stop()
					tick = t.C
				}
				for i := w; ; i += k.concurrent {
					select {
					case <-stop:
						return
					default:
					}
					if tick != nil {
						select {
						case <-stop:
							return
						case <-tick:
						}
					}
					req, err := k.next(i)
					if err != nil {
						k.bad.Add(1)
						continue
					}
					res, err := client.Do(req)
					k.done.Add(1)
					if err != nil {
						k.bad.Add(1)
						continue
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != k.want {
						k.bad.Add(1)
					}
				}
			}()
		}
	}

	fmt.Printf("soak: %v of mixed traffic against pid %d; resident memory every %v\n", d, srv.Process.Pid, every)
	var samples []float64 // after the start: the first one shows the server idle
	sampleNow := func() {
		mib, err := rssMiB(srv.Process.Pid)
		if err != nil {
			fmt.Println("  memory:", err)
			return
		}
		if time.Since(started) > every/2 {
			samples = append(samples, mib)
		}
		var parts []string
		for _, k := range kinds {
			parts = append(parts, fmt.Sprintf("%s %d", k.name, k.done.Load()))
		}
		fmt.Printf("  %6s  RSS %5.1f MiB  (%s)\n", time.Since(started).Round(time.Second), mib, strings.Join(parts, ", "))
	}
	sampleNow()
	ticker := time.NewTicker(every)
	for end := time.After(d); ; {
		select {
		case <-ticker.C:
			sampleNow()
			continue
		case <-end:
		}
		break
	}
	ticker.Stop()
	close(stop)
	wg.Wait()

	elapsed := time.Since(started).Seconds()
	failed := false
	for _, k := range kinds {
		fmt.Printf("%-22s %9d requests  %7.1f/s  %d not answered %d\n", k.name, k.done.Load(), float64(k.done.Load())/elapsed, k.bad.Load(), k.want)
		failed = failed || k.bad.Load() > 0
	}
	peak, early, late := summary(samples)
	flat := late <= early*1.15+2 // within 15 % (and 2 MiB) of the first minutes
	fmt.Printf("resident memory: peak %.1f MiB (bound %.0f MiB: met %v); first quarter's mean %.1f MiB, last quarter's %.1f MiB (flat: %v)\n",
		peak, limitMiB, peak < limitMiB, early, late, flat)
	if failed {
		return errors.New("some requests were not answered as expected")
	}
	return nil
}

func command(env []string, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	return cmd
}

func bearer(req *http.Request, err error) func(token string) (*http.Request, error) {
	return func(token string) (*http.Request, error) {
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return req, err
	}
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// signIn returns a client holding a portal session of email.
func signIn(portal, email string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	res, err := client.Get(portal + "/login")
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfInput.FindSubmatch(body)
	if m == nil {
		return nil, errors.New("no CSRF token on /login")
	}
	res, err = client.PostForm(portal+"/login", url.Values{"_csrf": {string(m[1])}, "email": {email}, "password": {store.DemoPassword}})
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	if res.Request.URL.Path == "/login" {
		return nil, fmt.Errorf("signing in as %s failed", email)
	}
	return client, nil
}

// subscriptionEvent is the n-th Stripe event of the soak: a seat change of
// one of the demo subscriptions, each newer than the last.
func subscriptionEvent(n int, started time.Time) []byte {
	subs := [...]struct{ sub, customer, price string }{
		{"sub_sim_globex", "cus_sim_globex", "price_analytics_team_monthly"},
		{"sub_sim_initech", "cus_sim_initech", "price_analytics_business_monthly"},
		{"sub_sim_umbrella", "cus_sim_umbrella", "price_analytics_team_monthly"},
	}
	s := subs[n%len(subs)]
	obj := map[string]any{"id": s.sub, "object": "subscription", "customer": s.customer, "status": "active",
		"current_period_end": started.AddDate(0, 1, 0).Unix(), "cancel_at_period_end": false,
		"items": map[string]any{"object": "list", "data": []any{map[string]any{"id": "si_" + s.sub,
			"object": "subscription_item", "quantity": 10 + n%5, "price": map[string]any{"id": s.price, "object": "price"}}}}}
	b, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("evt_soak_%d", n), "object": "event", "api_version": stripe.APIVersion,
		"created": started.Add(time.Minute).Unix() + int64(n), "type": "customer.subscription.updated", "data": map[string]any{"object": obj}})
	return b
}

// rssMiB is the resident memory of pid, from /proc.
func rssMiB(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// summary is the peak and the means of the first and last quarters.
func summary(samples []float64) (peak, early, late float64) {
	if len(samples) == 0 {
		return 0, 0, 0
	}
	q := max(len(samples)/4, 1)
	mean := func(xs []float64) float64 {
		var sum float64
		for _, x := range xs {
			sum += x
		}
		return sum / float64(len(xs))
	}
	for _, s := range samples {
		peak = max(peak, s)
	}
	return peak, mean(samples[:q]), mean(samples[len(samples)-q:])
}
