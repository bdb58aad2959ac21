// Package entitle is the Go SDK for vendors' applications: it answers
// entitlement checks inside the application's process from the account's
// signed state, verified with the vendor's published keys (the
// licensing package's offline licence format), and holds floating licence
// leases with automatic heartbeats. It imports only the licensing package
// and the standard library, so an application takes on no server
// dependency.
//
// Checks never fail open: without a verified state that is still within
// its validity and grace period, and without a usable offline licence
// file, Check returns ErrNoVerifiedState.
package entitle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entitle-dev/entitle/licensing"
)

// ErrNoVerifiedState: the client has no verified state it may answer from
// (never fetched, or expired past its grace, and no usable offline
// licence). The application must treat the feature as unavailable.
var ErrNoVerifiedState = errors.New("entitle: no verified entitlement state")

// Config configures a Client.
type Config struct {
	BaseURL string // Entitle's URL, e.g. https://licences.example.com
	APIKey  string // the account's key (scopes check and license; usage to report usage)
	Account string // the account's slug
	// Keys are the trusted public keys (from /api/v1/keys, shipped with the
	// application); states signed with any other key are refused.
	Keys licensing.KeyRing
	// OfflineLicence is a licence file to answer from when the server
	// cannot be reached and the last verified state has run out.
	OfflineLicence []byte
	// Refresh is how often Run polls for a fresh state while the change
	// stream is down (default 5 minutes; failures back off up to it).
	Refresh time.Duration
	// HeartbeatEvery is how often a lease is renewed (default: a third of
	// its TTL); shorter hears of a force release sooner.
	HeartbeatEvery time.Duration
	// UsageFlushEvery is how often ReportUsage's batches are sent (default
	// one second); Close sends what is left.
	UsageFlushEvery time.Duration
	// OnUsageRefused hears of a batch the server refused for good (an
	// unknown feature, a hard limit reached): it is not retried.
	OnUsageRefused func(feature string, quantity int64, err error)
	HTTPClient     *http.Client
	// Now reads the clock (default time.Now); tests move it.
	Now func() time.Time
}

// Client answers checks for one account. It is safe for concurrent use.
type Client struct {
	cfg     Config
	state   atomic.Pointer[licensing.Licence] // the last verified state
	offline *licensing.Licence
	mu      sync.Mutex // one fetch at a time
	usage   usageBatcher
}

// New returns a client; it fetches nothing until Refresh, Run or the first
// Check.
func New(cfg Config) (*Client, error) {
	if cfg.Account == "" || len(cfg.Keys) == 0 {
		return nil, errors.New("entitle: Config needs Account and Keys")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 5 * time.Minute
	}
	if cfg.UsageFlushEvery <= 0 {
		cfg.UsageFlushEvery = time.Second
	}
	c := &Client{cfg: cfg}
	if len(cfg.OfflineLicence) > 0 {
		l, err := licensing.VerifyLicence(cfg.OfflineLicence, cfg.Keys, cfg.Now())
		if err != nil {
			return nil, fmt.Errorf("entitle: offline licence: %w", err)
		}
		c.offline = l
	}
	return c, nil
}

// Refresh fetches and verifies the account's signed state now.
func (c *Client) Refresh(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	data, status, err := c.do(ctx, http.MethodGet, "/license", nil, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("entitle: fetching the state: HTTP %d", status)
	}
	l, err := licensing.VerifyLicence(data, c.cfg.Keys, c.cfg.Now())
	if err != nil {
		return fmt.Errorf("entitle: the server's state does not verify: %w", err)
	}
	if l.State.Account != c.cfg.Account {
		return fmt.Errorf("entitle: the state is for account %q, not %q", l.State.Account, c.cfg.Account)
	}
	c.state.Store(l)
	return nil
}

// Check decides feature for the account, or for user when not empty, in
// the process: a few map lookups and the one evaluation function. It
// answers from the last verified state while it is within its grace
// period, then from the offline licence, and otherwise returns
// ErrNoVerifiedState (fetching once when nothing was ever fetched).
func (c *Client) Check(ctx context.Context, feature, user string) (licensing.CheckResult, error) {
	now := c.cfg.Now()
	if l := c.state.Load(); l != nil {
		if r, err := l.Check(feature, user, now); !errors.Is(err, licensing.ErrLicenceExpired) {
			return r, err
		}
	}
	if c.offline != nil {
		if r, err := c.offline.Check(feature, user, now); !errors.Is(err, licensing.ErrLicenceExpired) {
			return r, err
		}
	}
	if c.state.Load() == nil && c.Refresh(ctx) == nil {
		return c.Check(ctx, feature, user)
	}
	return licensing.CheckResult{}, ErrNoVerifiedState
}

// Entitlements decides every feature for the account (or user), from the
// same state Check answers from.
func (c *Client) Entitlements(ctx context.Context, user string) ([]licensing.CheckResult, error) {
	now := c.cfg.Now()
	for _, l := range []*licensing.Licence{c.state.Load(), c.offline} {
		if l != nil && now.Before(l.GraceUntil) {
			return licensing.NewChecker(l.State).CheckAll(user, now), nil
		}
	}
	if c.state.Load() == nil {
		if err := c.Refresh(ctx); err == nil {
			return c.Entitlements(ctx, user)
		}
	}
	return nil, ErrNoVerifiedState
}

// do sends one request to the account's API.
func (c *Client) do(ctx context.Context, method, path string, body []byte, header map[string]string) ([]byte, int, error) {
	u := c.cfg.BaseURL + "/api/v1/accounts/" + url.PathEscape(c.cfg.Account) + path
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	return data, res.StatusCode, err
}

// ProblemError is an API refusal (an RFC 9457 problem document).
type ProblemError struct {
	Status     int        `json:"status"`
	Type       string     `json:"type"`
	Detail     string     `json:"detail"`
	NextExpiry *time.Time `json:"next_expiry"`
}

func (p *ProblemError) Error() string {
	return fmt.Sprintf("entitle: HTTP %d %s: %s", p.Status, p.Type, p.Detail)
}

func problemError(status int, data []byte) error {
	p := &ProblemError{Status: status}
	_ = json.Unmarshal(data, p)
	p.Status = status
	return p
}
