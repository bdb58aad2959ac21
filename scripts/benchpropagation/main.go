// Command benchpropagation measures how soon a change shows in checks: it
// seeds a fresh database, starts two `bin/entitle serve` instances on it,
// and n times reports usage to the first instance and polls the check on
// both until the new figure shows, from the moment the report was answered
// (the change committed). It prints p50/p90/p99/max on the instance that
// made the change and on the other (which hears of it through NOTIFY).
// Run by scripts/bench-propagation.sh.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/entitle-dev/entitle/scripts/benchserver"
)

func main() {
	n := flag.Int("n", 200, "changes to measure (at least 100)")
	bin := flag.String("bin", "bin/entitle", "the entitle binary")
	flag.Parse()
	if err := run(max(*n, 100), *bin); err != nil {
		fmt.Fprintln(os.Stderr, "bench-propagation:", err)
		os.Exit(1)
	}
}

type instance struct {
	url string
	cmd *exec.Cmd
}

func run(n int, bin string) error {
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		return fmt.Errorf("DATABASE_URL is not set")
	}
	dbURL, drop, err := benchserver.FreshDatabase(base, "entitle_bench_propagation")
	if err != nil {
		return err
	}
	defer drop()
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "LOG_LEVEL=warn", "METRICS_ADDR=",
		"API_RATE_LIMIT=0", "SESSION_SECRET=bench-propagation-session-secret-0123")
	if out, err := command(env, bin, "demo", "seed").CombinedOutput(); err != nil {
		return fmt.Errorf("demo seed: %v\n%s", err, out)
	}
	out, err := command(env, bin, "apikeys", "create", "globex", "--name", "bench", "--scopes", "check,usage").Output()
	if err != nil {
		return fmt.Errorf("apikeys create: %v", err)
	}
	key := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])

	var instances []*instance
	defer func() {
		for _, in := range instances {
			_ = in.cmd.Process.Signal(os.Interrupt)
			_ = in.cmd.Wait()
		}
	}()
	for range 2 {
		addr, err := benchserver.FreePort()
		if err != nil {
			return err
		}
		cmd := command(append(env, "ADDR="+addr, "PUBLIC_URL=http://"+addr), bin, "serve")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		in := &instance{url: "http://" + addr, cmd: cmd}
		instances = append(instances, in)
		if err := benchserver.WaitReady(in.url + "/readyz?scope=checks"); err != nil {
			return err
		}
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	const account = "/api/v1/accounts/globex"
	used := func(in *instance) (int64, error) {
		req, _ := http.NewRequest(http.MethodGet, in.url+account+"/entitlements/api_calls", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		var c struct {
			Used int64 `json:"used"`
		}
		if res.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("check: %s", res.Status)
		}
		err = json.NewDecoder(res.Body).Decode(&c)
		return c.Used, err
	}
	// Both instances hold the account before the first change.
	want, err := used(instances[0])
	if err != nil {
		return err
	}
	if _, err := used(instances[1]); err != nil {
		return err
	}
	took := make([][]time.Duration, len(instances))
	for i := range n {
		req, _ := http.NewRequest(http.MethodPost, instances[0].url+account+"/usage", strings.NewReader(`{"feature":"api_calls","quantity":1}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "prop-"+strconv.Itoa(i))
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			return fmt.Errorf("usage report: %s", res.Status)
		}
		committed := time.Now()
		want++
		var wg sync.WaitGroup
		errs := make([]error, len(instances))
		for j, in := range instances {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Since(committed) < 10*time.Second {
					got, err := used(in)
					if err != nil {
						errs[j] = err
						return
					}
					if got >= want {
						took[j] = append(took[j], time.Since(committed))
						return
					}
				}
				errs[j] = fmt.Errorf("change %d never showed on instance %d", i, j+1)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
	}
	fmt.Printf("change committed (usage report answered by instance 1) → visible in a check, over %d changes:\n", n)
	for j, label := range []string{"same instance", "other instance (NOTIFY)"} {
		d := took[j]
		slices.Sort(d)
		fmt.Printf("  %-24s p50 %8s  p90 %8s  p99 %8s  max %8s\n", label, pct(d, 50), pct(d, 90), pct(d, 99), d[len(d)-1].Round(time.Microsecond))
	}
	return nil
}

func pct(d []time.Duration, p int) time.Duration {
	return d[min(len(d)-1, len(d)*p/100)].Round(time.Microsecond)
}

func command(env []string, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	return cmd
}
