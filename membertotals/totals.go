// Package membertotals keeps the members list's totals between the changes
// that move them. In a large account, counting its members is most of what
// the list's statement does (10,000 index entries read for every page,
// every filter and every refresh after a row's action), and the count
// only changes when the account does. It imports store and is imported by
// handlers.
package membertotals

import (
	"context"
	"sync"

	"github.com/entitle-dev/entitle/store"
)

// maxHeld and maxFilter bound the memory held: filters come from the
// address bar, so a client could ask for any number of them, of any
// length. When full, one total is dropped; a longer filter (no real one
// is) is counted every time.
const (
	maxHeld   = 10_000
	maxFilter = 64
)

// Totals holds, per account and filter, the last total the list counted
// and the account's change numbers it was counted at. The list reuses a
// total only when it reads those same numbers in the same snapshot as its
// rows (store.ListMembers), so a total shown is always the one a count
// would give; nothing here expires.
type Totals struct {
	mu   sync.Mutex
	held map[key]store.MemberTotal
}

// key is one account's filter, as the address bar gave it (a search is
// never held: renaming a person moves no account's change number).
type key struct {
	account            int64
	role, status, seat string
}

// New makes an empty set of totals.
func New() *Totals {
	return &Totals{held: map[key]store.MemberTotal{}}
}

// Members reads a page of the account's members from s, as
// store.ListMembers does, with the total held for its filter. Nil Totals
// hold nothing.
func (t *Totals) Members(ctx context.Context, s *store.Store, accountID int64, f store.MemberFilter) (store.MemberPage, error) {
	if t == nil || f.Query != "" || len(f.Role)+len(f.Status)+len(f.Seat) > maxFilter {
		return s.ListMembers(ctx, accountID, f)
	}
	k := key{account: accountID, role: f.Role, status: f.Status, seat: f.Seat}
	t.mu.Lock()
	f.Counted = t.held[k]
	t.mu.Unlock()
	page, err := s.ListMembers(ctx, accountID, f)
	if err != nil || !page.Counted.Reusable() {
		return page, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.held[k]; !ok && len(t.held) >= maxHeld {
		for other := range t.held {
			delete(t.held, other)
			break
		}
	}
	t.held[k] = page.Counted
	return page, nil
}
