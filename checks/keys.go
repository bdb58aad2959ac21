package checks

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/entitle-dev/entitle/store"
)

// ErrUnknownAPIKey: no usable key matches the token.
var ErrUnknownAPIKey = errors.New("unknown or revoked API key")

// KeyResolver finds the usable key a token names, in the database; a token
// that names none gives store.ErrNotFound. The key cache sits in front of
// one, so another kind of key is another resolver.
type KeyResolver interface {
	ResolveKey(ctx context.Context, token string) (*store.APIKey, error)
}

// storeKeys resolves account API keys.
type storeKeys struct{ s *store.Store }

func (r storeKeys) ResolveKey(ctx context.Context, token string) (*store.APIKey, error) {
	k, err := r.s.APIKeyByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// maxUnknownTokens bounds the memory of tokens that matched no key.
const maxUnknownTokens = 10000

// keyCache keeps resolved keys by the SHA-256 of their token.
type keyCache struct {
	resolve KeyResolver

	mu   sync.RWMutex
	keys map[[32]byte]keyEntry
	gen  uint64 // bumped whenever keys are dropped
	// last holds every key last seen usable, kept when keys are dropped,
	// to answer from while the database is out of reach.
	last map[[32]byte]*store.APIKey
	// unknown remembers tokens that match no usable key (a revoked key, or
	// a client retrying with a made-up one), so they stop costing a query
	// each and stay refused while the database is out of reach. A token is
	// random: one that matches nothing now never will.
	unknown map[[32]byte]struct{}
}

type keyEntry struct {
	key     *store.APIKey
	expires time.Time // wall clock
}

func newKeyCache(r KeyResolver) *keyCache {
	return &keyCache{resolve: r, keys: map[[32]byte]keyEntry{}, last: map[[32]byte]*store.APIKey{},
		unknown: map[[32]byte]struct{}{}}
}

// drop makes every key be resolved again (one was revoked, or changes may
// have been missed).
func (k *keyCache) drop() {
	k.mu.Lock()
	k.keys, k.gen = map[[32]byte]keyEntry{}, k.gen+1
	k.mu.Unlock()
}

// replace installs every key the database holds, unless a key was revoked
// since gen was read (then the caller reads them again).
func (k *keyCache) replace(all []store.KnownAPIKey, gen uint64, maxAge time.Duration) bool {
	keys, last := map[[32]byte]keyEntry{}, map[[32]byte]*store.APIKey{}
	expires := time.Now().Add(maxAge)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.gen != gen {
		return false
	}
	for _, r := range all {
		if r.RevokedAt.Valid {
			k.unknown[r.Hash] = struct{}{}
			continue
		}
		key := r.APIKey
		keys[r.Hash], last[r.Hash] = keyEntry{key: &key, expires: expires}, &key
	}
	k.keys, k.last = keys, last
	return true
}

func (k *keyCache) generation() uint64 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.gen
}

// lookup resolves token: from memory when fresh is set and the key is
// held, else from the resolver; when that cannot reach the database, from
// the last keys seen usable if stale is set.
func (k *keyCache) lookup(ctx context.Context, token string, fresh, stale bool, maxAge time.Duration) (*store.APIKey, error) {
	hash := sha256.Sum256([]byte(token))
	k.mu.RLock()
	e := k.keys[hash]
	_, unknown := k.unknown[hash]
	gen := k.gen
	k.mu.RUnlock()
	if unknown {
		return nil, ErrUnknownAPIKey
	}
	if e.key != nil && ((fresh && time.Now().Before(e.expires)) || (!fresh && stale)) {
		return e.key, nil
	}
	key, err := k.resolve.ResolveKey(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		k.mu.Lock()
		if len(k.unknown) >= maxUnknownTokens { // bounded: a flood of random tokens cannot grow it
			k.unknown = map[[32]byte]struct{}{}
		}
		k.unknown[hash] = struct{}{}
		k.mu.Unlock()
		return nil, ErrUnknownAPIKey
	}
	if store.IsUnavailable(err) {
		k.mu.RLock()
		last := k.last[hash]
		k.mu.RUnlock()
		if last != nil && stale {
			return last, nil
		}
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	// Kept only if no key was revoked since the read began: a key read
	// just before its revocation must not outlive it here.
	if fresh && k.gen == gen {
		k.keys[hash] = keyEntry{key: key, expires: time.Now().Add(maxAge)}
		k.last[hash] = key
	}
	k.mu.Unlock()
	return key, nil
}

// Authenticate finds the usable API key for a token and notes its use (the
// time is written later, in a batch, by Run). A token no key matches is
// ErrUnknownAPIKey; one that cannot be told, with the database out of
// reach, ErrUnavailable.
func (c *Cache) Authenticate(ctx context.Context, token string) (*store.APIKey, error) {
	key, err := c.keys.lookup(ctx, token, c.synced.Load(), c.withinStaleLimit(), c.maxAge)
	if err != nil {
		return nil, err
	}
	c.uses.keyUsed(key.ID, c.store.Now())
	return key, nil
}

// withinStaleLimit tells whether what the cache holds may still be served.
func (c *Cache) withinStaleLimit() bool {
	return c.synced.Load() || time.Since(time.Unix(0, c.lostAt.Load())) <= c.staleLimit
}
