package entitle

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Run keeps the state fresh until ctx ends: it follows the account's change
// stream and fetches the signed state after each announced change. When
// the stream drops it refreshes by polling, backing off up to
// Config.Refresh, and reconnects resuming from the last change it applied
// (Last-Event-ID), so a change made meanwhile is announced again.
func (c *Client) Run(ctx context.Context) error {
	applied := ""
	backoff := time.Second
	for {
		connected := c.follow(ctx, &applied)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if connected {
			backoff = time.Second
		}
		_ = c.Refresh(ctx) // the poll: whatever the stream could not say
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, c.cfg.Refresh)
	}
}

// follow reads the change stream until it ends, refreshing on each change
// event; applied advances only when the refresh succeeded. It reports
// whether the stream was connected at all.
func (c *Client) follow(ctx context.Context, applied *string) bool {
	u := c.cfg.BaseURL + "/api/v1/accounts/" + url.PathEscape(c.cfg.Account) + "/stream"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	req.Header.Set("Accept", "text/event-stream")
	if *applied != "" {
		req.Header.Set("Last-Event-ID", *applied)
	}
	// The stream outlives any request timeout the API client has.
	res, err := (&http.Client{Transport: c.cfg.HTTPClient.Transport}).Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		return false
	}
	sc := bufio.NewScanner(res.Body)
	id, event := "", ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id:"):
			id = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case line == "":
			if event == "changed" && c.Refresh(ctx) == nil {
				*applied = id
			}
			id, event = "", ""
		}
	}
	return true
}

// String describes the client for logs.
func (c *Client) String() string {
	return fmt.Sprintf("entitle client for %s at %s", c.cfg.Account, c.cfg.BaseURL)
}
