package store

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/lib/pq"
)

// Reconciler runs Reconcile in the background: for an account right after
// a change to its provisioning (Kick), for every account periodically, and
// for an account whose entitlements another instance announced on the
// changes channel (billing events, seats freed by hand).
//
// Why after the change, in its own transaction, rather than inside it: a
// SCIM write settles what it means for the people it touches in its own
// transaction (standing, seats they lose, deprovisioning), but giving the
// seats of a short pool needs every person of the account in view, which at
// 10,000 people costs tens of milliseconds under the account's locks; done
// in every write it would serialise an identity provider's import at a few
// dozen requests per second. Kicks are coalesced: one run serves every
// write that committed before it started, and runs of one account are
// spaced (at least minGap, at most twice the last run's length apart) so
// that writes keep flowing while the reconciler catches up.
type Reconciler struct {
	store  *Store
	logger *slog.Logger
	minGap time.Duration

	// OnDrift, when set before Run, hears how many drifts each run
	// repaired (the /metrics counter); store imports no metrics package.
	OnDrift func(drifts int)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	pending map[int64]*kickState
	last    map[int64]string // digest of the state each account's last run started from
}

type kickState struct {
	again   bool            // kicked while running: run once more
	soon    bool            // a kick asked for a run soon, not after listenerDelay
	waiting []chan struct{} // Settle calls waiting for the next run to end
}

// NewReconciler makes a reconciler over s. Kick works at once; Run adds
// the periodic sweep and the changes listener.
func NewReconciler(s *Store, logger *slog.Logger) *Reconciler {
	ctx, cancel := context.WithCancel(context.Background())
	if logger == nil {
		logger = slog.Default()
	}
	return &Reconciler{store: s, logger: logger, minGap: 50 * time.Millisecond, ctx: ctx, cancel: cancel,
		pending: map[int64]*kickState{}, last: map[int64]string{}}
}

// Kick asks for the account to be reconciled soon; kicks while a run is
// pending or running fold into one more run.
func (r *Reconciler) Kick(accountID int64) { r.kick(accountID, r.minGap) }

// Settle kicks the account and waits until a run that started after the
// call has ended (or ctx, or the reconciler, ends first). A page that must
// show what the rules give a person just created (the first single sign-on)
// waits for it; concurrent callers share runs as kicks do.
func (r *Reconciler) Settle(ctx context.Context, accountID int64) error {
	done := make(chan struct{})
	r.mu.Lock()
	if r.ctx.Err() != nil {
		r.mu.Unlock()
		return r.ctx.Err()
	}
	if st, ok := r.pending[accountID]; ok {
		st.again, st.soon = true, true
		st.waiting = append(st.waiting, done)
	} else {
		r.pending[accountID] = &kickState{soon: true, waiting: []chan struct{}{done}}
		r.wg.Add(1)
		go r.loop(accountID, r.pending[accountID], 0)
	}
	r.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

// listenerDelay is how long a kick from the changes channel waits: every
// audited change is announced there (usage too), so those kicks gather.
const listenerDelay = 250 * time.Millisecond

func (r *Reconciler) kick(accountID int64, delay time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return
	}
	if st, ok := r.pending[accountID]; ok {
		st.again = true
		st.soon = st.soon || delay == r.minGap
		return
	}
	st := &kickState{soon: delay == r.minGap}
	r.pending[accountID] = st
	r.wg.Add(1)
	go r.loop(accountID, st, delay)
}

func (r *Reconciler) loop(accountID int64, st *kickState, gap time.Duration) {
	defer r.wg.Done()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-time.After(gap):
		}
		r.mu.Lock()
		st.again, st.soon = false, false
		last := r.last[accountID]
		serving := st.waiting // this run starts after their calls
		st.waiting = nil
		r.mu.Unlock()
		start := time.Now()
		rep, digest, err := r.store.reconcileIfChanged(r.ctx, accountID, last)
		if err == nil {
			r.mu.Lock()
			r.last[accountID] = digest
			r.mu.Unlock()
		}
		took := time.Since(start)
		for _, done := range serving {
			close(done)
		}
		switch {
		case err != nil && r.ctx.Err() == nil:
			r.logger.Error("reconcile", "account_id", accountID, "err", err)
		case rep.Drifts > 0:
			r.logger.Warn("reconcile repaired drift", "account_id", accountID, "drifts", rep.Drifts, "changes", len(rep.Changes))
			r.drifted(rep.Drifts)
		case len(rep.Changes) > 0:
			r.logger.Debug("reconcile", "account_id", accountID, "changes", len(rep.Changes), "duration_ms", took.Milliseconds())
		}
		r.mu.Lock()
		if !st.again || r.ctx.Err() != nil {
			delete(r.pending, accountID)
			r.mu.Unlock()
			return
		}
		gap = max(listenerDelay, 2*took)
		if st.soon {
			gap = max(r.minGap, 2*took)
		}
		r.mu.Unlock()
	}
}

// Idle waits until no run is pending or running (tests; shutdown).
func (r *Reconciler) Idle(ctx context.Context) error {
	for {
		r.mu.Lock()
		n := len(r.pending)
		r.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Close stops the runs and waits for the one in progress.
func (r *Reconciler) Close() {
	r.cancel()
	r.wg.Wait()
}

// Run sweeps every account each interval and kicks the accounts announced
// on the changes channel (through its own connection to databaseURL, when
// not empty) until ctx ends.
func (r *Reconciler) Run(ctx context.Context, databaseURL string, interval time.Duration) {
	if databaseURL != "" {
		l := pq.NewListener(databaseURL, 100*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
			if ev == pq.ListenerEventConnectionAttemptFailed {
				r.logger.Warn("reconciler: changes listener cannot connect", "err", err)
			}
		})
		defer l.Close()
		if err := l.Listen(ChangesChannel); err != nil {
			r.logger.Error("reconciler: listen for changes; only the periodic sweep runs", "err", err)
		} else {
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case n, ok := <-l.Notify:
						if !ok {
							return
						}
						if n == nil {
							continue
						}
						if _, usage := ParseUsageChange(n.Extra); usage {
							continue // counting usage changes no seat, member or group
						}
						what, _ := ParseChange(n.Extra)
						if id, err := strconv.ParseInt(what, 10, 64); err == nil {
							r.kick(id, listenerDelay)
						}
					}
				}
			}()
		}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			reps, err := r.store.ReconcileAll(ctx, ReconcileOptions{})
			if err != nil && ctx.Err() == nil {
				r.logger.Error("reconcile sweep", "err", err)
			}
			for _, rep := range reps {
				if rep.Drifts > 0 {
					r.logger.Warn("reconcile sweep repaired drift", "account", rep.AccountSlug, "drifts", rep.Drifts)
					r.drifted(rep.Drifts)
				}
			}
		}
	}
}

func (r *Reconciler) drifted(n int) {
	if r.OnDrift != nil {
		r.OnDrift(n)
	}
}
