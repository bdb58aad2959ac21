// Command floating is a small example of an application that runs under a
// floating licence: it checks out a lease of a concurrent feature when it
// starts, renews it with heartbeats while it runs, and checks it in when it
// exits (Ctrl-C). When the pool is full it says when the next licence frees
// up; when an admin force-releases its lease (or it lapsed), the next
// heartbeat says so and the application stops using the feature.
//
//	go run ./examples/floating -url http://localhost:8080 -key ent_... -account globex -feature desktop_floating -user alice@globex.test
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"time"
)

func main() {
	fs := flag.NewFlagSet("floating", flag.ExitOnError)
	host, _ := os.Hostname()
	cfg := config{}
	fs.StringVar(&cfg.base, "url", "http://localhost:8080", "Entitle's URL")
	fs.StringVar(&cfg.key, "key", os.Getenv("ENTITLE_API_KEY"), "API key with the check scope (or ENTITLE_API_KEY)")
	fs.StringVar(&cfg.account, "account", "", "account slug")
	fs.StringVar(&cfg.feature, "feature", "desktop_floating", "the concurrent feature")
	fs.StringVar(&cfg.user, "user", "", "who runs the application")
	fs.StringVar(&cfg.machine, "machine", host, "where it runs")
	fs.DurationVar(&cfg.every, "every", 0, "heartbeat interval (default: a third of the lease's TTL)")
	_ = fs.Parse(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, http.DefaultClient, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "floating:", err)
		os.Exit(1)
	}
}

type config struct {
	base, key, account, feature, user, machine string
	every                                      time.Duration
}

type lease struct {
	ID         string    `json:"id"`
	TTLSeconds int       `json:"ttl_seconds"`
	ExpiresAt  time.Time `json:"expires_at"`
}

type problem struct {
	Type       string     `json:"type"`
	Detail     string     `json:"detail"`
	NextExpiry *time.Time `json:"next_expiry"`
}

// ErrLicenceTaken: the lease no longer holds a licence (force-released or
// lapsed); the application must stop using the feature.
var ErrLicenceTaken = errors.New("the floating licence was taken back")

// run holds a lease until ctx ends (then checks it in) or the server says
// the lease is gone.
func run(ctx context.Context, cfg config, client *http.Client, out io.Writer) error {
	leases := cfg.base + "/api/v1/accounts/" + url.PathEscape(cfg.account) + "/leases"
	body, _ := json.Marshal(map[string]string{"feature": cfg.feature, "user": cfg.user, "machine": cfg.machine})
	var l lease
	var p problem
	status, err := call(ctx, client, http.MethodPost, leases, cfg.key, body, &l, &p)
	if err != nil {
		return err
	}
	switch {
	case status == http.StatusConflict && p.NextExpiry != nil:
		return fmt.Errorf("every licence is in use; the next frees up by %s at the latest", p.NextExpiry.Local().Format(time.Kitchen))
	case status != http.StatusCreated:
		return fmt.Errorf("checkout refused (%d): %s", status, p.Detail)
	}
	fmt.Fprintf(out, "licence checked out: lease %s, renewed every %v\n", l.ID, interval(cfg, l))
	tick := time.NewTicker(interval(cfg, l))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// Check in with a fresh context: the run's has ended.
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := call(cctx, client, http.MethodDelete, leases+"/"+l.ID, cfg.key, nil, nil, nil); err != nil {
				return fmt.Errorf("check in: %w", err)
			}
			fmt.Fprintln(out, "licence checked in")
			return nil
		case <-tick.C:
			status, err := call(ctx, client, http.MethodPost, leases+"/"+l.ID+"/heartbeat", cfg.key, nil, &l, &p)
			switch {
			case err != nil && ctx.Err() != nil:
				continue // shutting down: check in above
			case err != nil:
				// The server is unreachable: keep going until the lease
				// would have expired, then stop.
				if time.Now().After(l.ExpiresAt) {
					return fmt.Errorf("%w: no heartbeat reached the server before the lease expired (%v)", ErrLicenceTaken, err)
				}
			case status == http.StatusGone:
				fmt.Fprintln(out, "licence taken back:", p.Detail)
				return ErrLicenceTaken
			case status != http.StatusOK:
				return fmt.Errorf("heartbeat refused (%d): %s", status, p.Detail)
			}
		}
	}
}

func interval(cfg config, l lease) time.Duration {
	if cfg.every > 0 {
		return cfg.every
	}
	return max(time.Duration(l.TTLSeconds)*time.Second/3, time.Second)
}

// call sends one API request and decodes the answer into ok (2xx) or p.
func call(ctx context.Context, client *http.Client, method, u, key string, body []byte, ok any, p *problem) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	switch {
	case res.StatusCode < 300 && ok != nil && len(data) > 0:
		err = json.Unmarshal(data, ok)
	case res.StatusCode >= 300 && p != nil:
		err = json.Unmarshal(data, p)
	}
	return res.StatusCode, err
}
