package entitle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// ErrClosed: the client was closed; it takes no more usage.
var ErrClosed = errors.New("entitle: the client is closed")

// usageBatcher adds up usage per feature of the client's account and sends
// the sums. A sum, once cut into a batch, keeps its idempotency key until
// the server has acknowledged it, so a flush retried after a lost answer
// is counted once; a batch is dropped only when the server refuses it for
// good, and that is reported.
type usageBatcher struct {
	mu       sync.Mutex
	pending  map[string]int64 // feature → quantity not yet in a batch
	inflight []usageBatch     // cut, not yet acknowledged, oldest first
	seq      uint64
	prefix   string
	started  bool
	closed   bool
	stop     chan struct{}
	done     chan struct{}

	flushing sync.Mutex // one flush at a time
}

type usageBatch struct {
	feature  string
	quantity int64
	key      string
}

// ReportUsage adds quantity of a metered or limit feature to the batch the
// client sends every Config.UsageFlushEvery (and on Flush and Close).
// Reports are summed per feature; each batch carries its own idempotency
// key, so a batch retried after a failure is counted once. It does no I/O.
func (c *Client) ReportUsage(feature string, quantity int64) error {
	if quantity <= 0 {
		return fmt.Errorf("entitle: usage of %s must be a positive quantity, got %d", feature, quantity)
	}
	b := &c.usage
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if b.pending == nil {
		b.pending = map[string]int64{}
	}
	b.pending[feature] += quantity
	if !b.started {
		b.started = true
		b.stop, b.done = make(chan struct{}), make(chan struct{})
		go c.flushLoop(b.stop, b.done)
	}
	return nil
}

// flushLoop sends the batches every UsageFlushEvery until stop; a failed
// flush is tried again at the next tick with the same keys.
func (c *Client) flushLoop(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(c.cfg.UsageFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_ = c.Flush(ctx)
			cancel()
		}
	}
}

// Flush sends the usage reported so far, with what earlier flushes could
// not deliver first. It returns the first error; what was not delivered
// stays held and is sent by the next flush.
func (c *Client) Flush(ctx context.Context) error {
	b := &c.usage
	b.flushing.Lock()
	defer b.flushing.Unlock()
	b.mu.Lock()
	if b.prefix == "" {
		r := make([]byte, 12)
		_, _ = rand.Read(r)
		b.prefix = "sdk-" + hex.EncodeToString(r) + "-"
	}
	for feature, q := range b.pending {
		b.seq++
		b.inflight = append(b.inflight, usageBatch{feature: feature, quantity: q, key: b.prefix + strconv.FormatUint(b.seq, 10)})
		delete(b.pending, feature)
	}
	batches := b.inflight
	b.mu.Unlock()

	sent := 0
	var firstErr error
	for _, batch := range batches {
		err := c.sendUsage(ctx, batch)
		var p *ProblemError
		switch {
		case err == nil:
			sent++
			continue
		case errors.As(err, &p) && p.Status >= 400 && p.Status < 500 && p.Status != http.StatusRequestTimeout && p.Status != http.StatusTooManyRequests:
			// Refused for good: retrying would be refused again.
			sent++
			if c.cfg.OnUsageRefused != nil {
				c.cfg.OnUsageRefused(batch.feature, batch.quantity, err)
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if firstErr == nil {
			firstErr = err
		}
		break // the server is unreachable or failing: keep the order, retry later
	}
	if sent > 0 {
		// Only Flush (serialised above) removes from inflight, and only
		// from its front; ReportUsage never touches it.
		b.mu.Lock()
		b.inflight = b.inflight[sent:]
		b.mu.Unlock()
	}
	return firstErr
}

// sendUsage posts one batch with its idempotency key; 201 and a replay's
// 200 both mean the server holds it.
func (c *Client) sendUsage(ctx context.Context, batch usageBatch) error {
	body, _ := json.Marshal(map[string]any{"feature": batch.feature, "quantity": batch.quantity})
	data, status, err := c.do(ctx, http.MethodPost, "/usage", body, map[string]string{"Idempotency-Key": batch.key})
	if err != nil {
		return err
	}
	if status != http.StatusCreated && status != http.StatusOK {
		return problemError(status, data)
	}
	return nil
}

// Unsent is the usage reported but not yet acknowledged by the server.
func (c *Client) Unsent() int64 {
	b := &c.usage
	b.mu.Lock()
	defer b.mu.Unlock()
	var n int64
	for _, q := range b.pending {
		n += q
	}
	for _, batch := range b.inflight {
		n += batch.quantity
	}
	return n
}

// Close stops the background flush and sends the usage left. When the
// server cannot take it, Close returns the error and keeps the usage:
// calling Close (or Flush) again retries it with the same keys.
func (c *Client) Close(ctx context.Context) error {
	b := &c.usage
	b.mu.Lock()
	b.closed = true
	stop, done := b.stop, b.done
	b.stop = nil
	b.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	if err := c.Flush(ctx); err != nil {
		return fmt.Errorf("entitle: %d units of usage not delivered: %w", c.Unsent(), err)
	}
	return nil
}
