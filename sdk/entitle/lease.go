package entitle

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"
)

// ErrLeaseLost: the floating licence was taken back (an admin released it,
// or it expired without a heartbeat reaching the server).
var ErrLeaseLost = errors.New("entitle: the floating licence was taken back")

// Lease is a checked-out floating licence. It renews itself in the
// background until Close checks it in; Lost is closed when the server says
// the lease no longer holds a licence.
type Lease struct {
	ID        string
	ExpiresAt time.Time

	c      *Client
	stop   context.CancelFunc
	done   chan struct{}
	lost   chan struct{}
	mu     sync.Mutex
	err    error
	closed bool
}

// Lease checks out a licence of a concurrent feature and starts its
// heartbeats, every third of the lease's TTL. A full pool is a
// *ProblemError of type pool-full whose NextExpiry says when a licence
// frees up.
func (c *Client) Lease(ctx context.Context, feature, user, machine string) (*Lease, error) {
	body, _ := json.Marshal(map[string]string{"feature": feature, "user": user, "machine": machine})
	data, status, err := c.do(ctx, http.MethodPost, "/leases", body, nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusCreated {
		return nil, problemError(status, data)
	}
	var answer struct {
		ID         string    `json:"id"`
		TTLSeconds int       `json:"ttl_seconds"`
		ExpiresAt  time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(data, &answer); err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.Background())
	l := &Lease{ID: answer.ID, ExpiresAt: answer.ExpiresAt, c: c, stop: stop, done: make(chan struct{}), lost: make(chan struct{})}
	every := c.cfg.HeartbeatEvery
	if every <= 0 {
		every = max(time.Duration(answer.TTLSeconds)*time.Second/3, time.Second)
	}
	go l.heartbeats(runCtx, every)
	return l, nil
}

// heartbeats renews the lease every interval until stopped or lost.
func (l *Lease) heartbeats(ctx context.Context, every time.Duration) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		data, status, err := l.c.do(ctx, http.MethodPost, "/leases/"+l.ID+"/heartbeat", nil, nil)
		switch {
		case ctx.Err() != nil:
			return
		case err == nil && status == http.StatusOK:
			var answer struct {
				ExpiresAt time.Time `json:"expires_at"`
			}
			if json.Unmarshal(data, &answer) == nil {
				l.mu.Lock()
				l.ExpiresAt = answer.ExpiresAt
				l.mu.Unlock()
			}
		case err == nil && (status == http.StatusGone || status == http.StatusNotFound):
			l.fail(problemError(status, data))
			return
		default:
			// Unreachable or refusing: the lease holds until it would
			// expire, then it is lost.
			l.mu.Lock()
			expired := !l.c.cfg.Now().Before(l.ExpiresAt)
			l.mu.Unlock()
			if expired {
				l.fail(ErrLeaseLost)
				return
			}
		}
	}
}

func (l *Lease) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = errors.Join(ErrLeaseLost, err)
		close(l.lost)
	}
}

// Lost is closed when the lease no longer holds a licence; Err says why.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Err is why the lease was lost, or nil while it holds.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Close stops the heartbeats and checks the lease in.
func (l *Lease) Close(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.stop()
	<-l.done
	data, status, err := l.c.do(ctx, http.MethodDelete, "/leases/"+l.ID, nil, nil)
	if err != nil {
		return err
	}
	if status != http.StatusNoContent {
		return problemError(status, data)
	}
	return nil
}
