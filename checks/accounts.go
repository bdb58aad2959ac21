package checks

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/entitle-dev/entitle/store"
)

// AccountRef is an account as a vendor key's request names it.
type AccountRef struct {
	ID   int64
	Slug string
}

// accountRefs resolves the {account} of a vendor key's request (a slug, or
// ext: and the vendor's external id) from memory, so a vendor key's check
// costs what an account key's does: reads take no lock. Only names that
// exist are kept (an account created a moment ago is found at once); a
// change of slug or external id (store.ChangedAccounts) or a catch-up after
// a lost feed empties it.
type accountRefs struct {
	m   atomic.Pointer[sync.Map] // ref → AccountRef; nil when empty
	mu  sync.Mutex               // orders stores with invalidations
	gen uint64                   // bumped by every invalidation (under mu)
	n   int                      // names kept (under mu)
}

// maxAccountRefs bounds the memory of names (a vendor with more accounts
// than this reads the database for the rest until the next invalidation).
const maxAccountRefs = 100000

func (r *accountRefs) invalidate(payload string) {
	if payload == store.ChangedAccounts || payload == store.ChangedEverything {
		r.mu.Lock()
		r.m.Store(nil)
		r.gen++
		r.n = 0
		r.mu.Unlock()
	}
}

// Account resolves ref for a vendor key; store.ErrNotFound when no account
// has that slug or external id.
func (c *Cache) Account(ctx context.Context, ref string) (AccountRef, error) {
	live := c.synced.Load()
	var gen uint64
	if live || c.withinStaleLimit() { // while the database is out of reach, the names held still serve
		if m := c.refs.m.Load(); m != nil {
			if v, ok := m.Load(ref); ok {
				return v.(AccountRef), nil
			}
		}
		c.refs.mu.Lock()
		gen = c.refs.gen
		c.refs.mu.Unlock()
	}
	acct, err := c.store.AccountByRef(ctx, ref)
	if err != nil {
		return AccountRef{}, err
	}
	a := AccountRef{ID: acct.ID, Slug: acct.Slug}
	if live {
		c.refs.mu.Lock()
		// Kept only if no change was announced since the read began.
		if c.refs.gen == gen && c.refs.n < maxAccountRefs {
			m := c.refs.m.Load()
			if m == nil {
				m = &sync.Map{}
				c.refs.m.Store(m)
			}
			m.Store(ref, a)
			c.refs.n++
		}
		c.refs.mu.Unlock()
	}
	return a, nil
}
