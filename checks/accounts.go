package checks

import (
	"context"
	"sync"

	"github.com/entitle-dev/entitle/store"
)

// AccountRef is an account as a vendor key's request names it.
type AccountRef struct {
	ID   int64
	Slug string
}

// accountRefs resolves the {account} of a vendor key's request (a slug, or
// ext: and the vendor's external id) from memory, so a vendor key's check
// costs what an account key's does. Only names that exist are kept (an
// account created a moment ago is found at once); a change of slug or
// external id (store.ChangedAccounts) or a lost feed empties it.
type accountRefs struct {
	mu    sync.RWMutex
	byRef map[string]AccountRef
	gen   uint64 // bumped by every invalidation
}

// maxAccountRefs bounds the memory of names (a vendor with more accounts
// than this reads the database for the rest).
const maxAccountRefs = 100000

func (r *accountRefs) invalidate(payload string) {
	if payload == store.ChangedAccounts || payload == store.ChangedEverything {
		r.mu.Lock()
		r.byRef, r.gen = nil, r.gen+1
		r.mu.Unlock()
	}
}

// Account resolves ref for a vendor key; store.ErrNotFound when no account
// has that slug or external id.
func (c *Cache) Account(ctx context.Context, ref string) (AccountRef, error) {
	live := c.live.Load()
	var gen uint64
	if live {
		c.refs.mu.RLock()
		a, ok := c.refs.byRef[ref]
		gen = c.refs.gen
		c.refs.mu.RUnlock()
		if ok {
			return a, nil
		}
	}
	acct, err := c.store.AccountByRef(ctx, ref)
	if err != nil {
		return AccountRef{}, err
	}
	a := AccountRef{ID: acct.ID, Slug: acct.Slug}
	if live {
		c.refs.mu.Lock()
		// Kept only if no change was announced since the read began.
		if c.refs.gen != gen {
			c.refs.mu.Unlock()
			return a, nil
		}
		if c.refs.byRef == nil || len(c.refs.byRef) >= maxAccountRefs {
			c.refs.byRef = map[string]AccountRef{}
		}
		c.refs.byRef[ref] = a
		c.refs.mu.Unlock()
	}
	return a, nil
}
