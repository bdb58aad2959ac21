// Package outbound delivers Entitle's outbound webhooks to the vendor's
// systems. Store methods write each event, and a delivery per endpoint
// that takes it, in the transaction of the change it describes (an
// outbox, like the mail outbox that mailer sends); the Dispatcher here
// claims due deliveries (SKIP LOCKED with a lease, so any number of
// instances share them and a process killed mid-delivery loses nothing),
// signs them per Standard Webhooks, sends them through the Guard's client,
// and records every attempt. Failures are retried with exponential backoff
// for three days, each endpoint on its own; an endpoint that fails for
// three days is disabled and the operators are mailed.
package outbound

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/entitle-dev/entitle/store"
)

// Dispatcher delivers due webhooks.
type Dispatcher struct {
	Store  *store.Store
	Client *http.Client // Guard.Client()
	Logger *slog.Logger
	// Interval is how often it looks for due deliveries when idle (Wake
	// starts a round at once).
	Interval time.Duration
	// Batch is how many deliveries one round claims; PerEndpoint how many
	// requests go to one endpoint side by side.
	Batch, PerEndpoint int
	// ConsoleURL is the vendor console's base URL, for the operators' mail.
	ConsoleURL string

	mu   sync.Mutex
	busy map[int64]int // batches this process is sending to each endpoint
	wake chan struct{}
}

// batchesPerEndpoint is how many batches this process sends to one endpoint
// at a time: two, so that one is claimed and recorded while the other is
// on the wire.
const batchesPerEndpoint = 2

// maxResponse is how much of an answer is read; the log keeps less.
const (
	maxResponse     = 4 << 10
	responseExcerpt = 512
)

func (d *Dispatcher) init() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.busy == nil {
		d.busy = map[int64]int{}
		d.wake = make(chan struct{}, 1)
	}
	if d.PerEndpoint <= 0 {
		d.PerEndpoint = 16
	}
	// A batch to one endpoint must end within the lease even when every
	// request takes the whole timeout; half of it, to be safe.
	most := d.PerEndpoint * int(store.WebhookLease/Timeout) / 2
	if d.Batch <= 0 || d.Batch > most {
		d.Batch = min(200, most)
	}
	if d.Interval <= 0 {
		d.Interval = time.Second
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
}

// Wake starts a round soon (after a change this process committed).
func (d *Dispatcher) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends. Each endpoint's batch is sent in its own
// goroutine, and an endpoint with batchesPerEndpoint batches on the wire is
// left out of the next claims, so a slow or dead receiver holds up nobody
// else.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(d.Interval)
	defer t.Stop()
	lastUpkeep := time.Time{}
	for {
		if time.Since(lastUpkeep) >= d.Interval {
			d.upkeep(ctx)
			lastUpkeep = time.Now()
		}
		n, err := d.round(ctx, &wg)
		if err != nil && ctx.Err() == nil {
			d.Logger.Error("claim webhooks", "err", err)
		}
		if n >= d.Batch {
			continue // more is due
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// DeliverOnce runs one round and waits for it: upkeep, then every due
// delivery it can claim, sent and recorded. It returns how many were
// claimed.
func (d *Dispatcher) DeliverOnce(ctx context.Context) (int, error) {
	d.init()
	d.upkeep(ctx)
	var wg sync.WaitGroup
	n, err := d.round(ctx, &wg)
	wg.Wait()
	return n, err
}

// upkeep writes the pending entitlements.changed events and disables the
// endpoints that have failed for three days.
func (d *Dispatcher) upkeep(ctx context.Context) {
	for {
		n, err := d.Store.WriteEntitlementsEvents(ctx, 100)
		if err != nil {
			if ctx.Err() == nil {
				d.Logger.Error("write entitlements.changed events", "err", err)
			}
			break
		}
		if n < 100 {
			break
		}
	}
	disabled, err := d.Store.DisableFailingWebhookEndpoints(ctx, d.ConsoleURL)
	if err != nil && ctx.Err() == nil {
		d.Logger.Error("disable failing webhook endpoints", "err", err)
	}
	for _, ep := range disabled {
		d.Logger.Warn("webhook endpoint disabled after failing for 3 days; operators mailed", "endpoint_id", ep.ID, "url", ep.URL)
	}
}

// round claims due deliveries and starts one sender per endpoint.
func (d *Dispatcher) round(ctx context.Context, wg *sync.WaitGroup) (int, error) {
	d.mu.Lock()
	busy := make([]int64, 0, len(d.busy))
	for id, n := range d.busy {
		if n >= batchesPerEndpoint {
			busy = append(busy, id)
		}
	}
	d.mu.Unlock()
	due, err := d.Store.ClaimWebhooks(ctx, d.Batch, busy)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	byEndpoint := map[int64][]store.DueWebhook{}
	var order []int64
	for _, w := range due {
		if byEndpoint[w.EndpointID] == nil {
			order = append(order, w.EndpointID)
		}
		byEndpoint[w.EndpointID] = append(byEndpoint[w.EndpointID], w)
	}
	d.mu.Lock()
	for _, id := range order {
		d.busy[id]++
	}
	d.mu.Unlock()
	for _, id := range order {
		wg.Add(1)
		go func(id int64, batch []store.DueWebhook) {
			defer wg.Done()
			defer func() {
				d.mu.Lock()
				if d.busy[id]--; d.busy[id] <= 0 {
					delete(d.busy, id)
				}
				d.mu.Unlock()
				d.Wake()
			}()
			outcomes := d.sendBatch(ctx, batch)
			// Recorded even when ctx ends: the receiver may have the events.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := d.Store.RecordWebhookOutcomes(rctx, outcomes); err != nil {
				// The lease runs out and the deliveries are sent again:
				// duplicates by webhook-id, nothing lost.
				d.Logger.Error("record webhook outcomes", "endpoint_id", id, "err", err)
			}
		}(id, byEndpoint[id])
	}
	return len(due), nil
}

// sendBatch sends one endpoint's deliveries, PerEndpoint at a time after
// the first. Once one fails, the ones not yet started wait for the endpoint's backoff
// instead of being tried against a receiver that is down.
func (d *Dispatcher) sendBatch(ctx context.Context, batch []store.DueWebhook) []store.WebhookOutcome {
	out := make([]store.WebhookOutcome, len(batch))
	sem := make(chan struct{}, d.PerEndpoint)
	var wg sync.WaitGroup
	var mu sync.Mutex
	// The first goes alone: when the receiver is down, one request finds
	// out, not a whole batch of them.
	out[0] = d.Send(ctx, batch[0])
	failed := !out[0].OK()
	for i, w := range batch {
		if i == 0 {
			continue
		}
		sem <- struct{}{}
		mu.Lock()
		skip := failed || ctx.Err() != nil
		mu.Unlock()
		if skip {
			<-sem
			// It waits as long as the endpoint's failed probe does.
			out[i] = store.WebhookOutcome{DeliveryID: w.DeliveryID, EndpointID: w.EndpointID,
				Attempts: max(w.Attempts, batch[0].Attempts+1), CreatedAt: w.CreatedAt, At: d.Store.Now(), Deferred: true,
				Err: "not tried: an earlier delivery to this endpoint failed"}
			continue
		}
		wg.Add(1)
		go func(i int, w store.DueWebhook) {
			defer func() { <-sem; wg.Done() }()
			o := d.Send(ctx, w)
			if !o.OK() {
				mu.Lock()
				failed = true
				mu.Unlock()
			}
			out[i] = o
		}(i, w)
	}
	wg.Wait()
	return out
}

// Send makes one attempt: the payload signed with the endpoint's secrets
// (both during a rotation's overlap), through the guarded client.
func (d *Dispatcher) Send(ctx context.Context, w store.DueWebhook) store.WebhookOutcome {
	now := d.Store.Now()
	o := store.WebhookOutcome{DeliveryID: w.DeliveryID, EndpointID: w.EndpointID, Attempts: w.Attempts, CreatedAt: w.CreatedAt, At: now}
	sig, err := Sign(w.Secrets(now), w.MessageID, now, w.Payload)
	if err != nil {
		o.Err = err.Error()
		return o
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, strings.NewReader(string(w.Payload)))
	if err != nil {
		o.Err = err.Error()
		return o
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Entitle-Webhooks/1")
	req.Header.Set(standardwebhooks.HeaderWebhookID, w.MessageID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	start := time.Now()
	res, err := d.Client.Do(req)
	if err != nil {
		o.Latency = time.Since(start)
		o.Err = err.Error()
		return o
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxResponse))
	res.Body.Close()
	o.Latency = time.Since(start)
	o.StatusCode = res.StatusCode
	o.Response = excerpt(body)
	if !o.OK() {
		o.Err = fmt.Sprintf("the receiver answered %d %s", res.StatusCode, http.StatusText(res.StatusCode))
		if res.StatusCode >= 300 && res.StatusCode < 400 {
			o.Err += " (redirects are not followed: register the final address)"
		}
	}
	return o
}

// Sign is the webhook-signature header: one v1 signature per secret,
// separated by spaces, as Standard Webhooks verifiers expect.
func Sign(secrets []string, msgID string, at time.Time, payload []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, secret := range secrets {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return "", fmt.Errorf("endpoint secret: %w", err)
		}
		sig, err := wh.Sign(msgID, at, payload)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

// excerpt is the start of an answer, as valid UTF-8.
func excerpt(b []byte) string {
	if len(b) > responseExcerpt {
		b = b[:responseExcerpt]
	}
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "�")
	}
	return s
}
