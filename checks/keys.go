package checks

import (
	"context"
	"crypto/sha256"
	"errors"
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
	// unknown remembers tokens that match no usable key (a client retrying
	// with a revoked key, say), so they stop costing a query each. A token
	// is random: one that matches nothing now never will.
	unknown map[[32]byte]struct{}
}

type keyEntry struct {
	key     *store.APIKey
	expires time.Time // wall clock
}

func newKeyCache(r KeyResolver) *keyCache {
	return &keyCache{resolve: r, keys: map[[32]byte]keyEntry{}, unknown: map[[32]byte]struct{}{}}
}

// drop forgets every resolved key (one was revoked, or changes may have
// been missed).
func (k *keyCache) drop() {
	k.mu.Lock()
	k.keys, k.gen = map[[32]byte]keyEntry{}, k.gen+1
	k.mu.Unlock()
}

// lookup resolves token, from memory when keep is set and the key is held,
// else from the resolver (remembering the answer only when keep is set).
func (k *keyCache) lookup(ctx context.Context, token string, keep bool, maxAge time.Duration) (*store.APIKey, error) {
	hash := sha256.Sum256([]byte(token))
	var gen uint64
	if keep {
		k.mu.RLock()
		e := k.keys[hash]
		_, unknown := k.unknown[hash]
		gen = k.gen
		k.mu.RUnlock()
		if unknown {
			return nil, ErrUnknownAPIKey
		}
		if e.key != nil && time.Now().Before(e.expires) {
			return e.key, nil
		}
	}
	key, err := k.resolve.ResolveKey(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		if keep {
			k.mu.Lock()
			if len(k.unknown) >= maxUnknownTokens { // bounded: a flood of random tokens cannot grow it
				k.unknown = map[[32]byte]struct{}{}
			}
			k.unknown[hash] = struct{}{}
			k.mu.Unlock()
		}
		return nil, ErrUnknownAPIKey
	}
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	// Kept only if no key was revoked since the read began: a key read
	// just before its revocation must not outlive it here.
	if keep && k.gen == gen {
		k.keys[hash] = keyEntry{key: key, expires: time.Now().Add(maxAge)}
	}
	k.mu.Unlock()
	return key, nil
}

// Authenticate finds the usable API key for a token and notes its use (the
// time is written later, in a batch, by Run). Unknown tokens are not
// remembered, so a key created a moment ago works at once.
func (c *Cache) Authenticate(ctx context.Context, token string) (*store.APIKey, error) {
	key, err := c.keys.lookup(ctx, token, c.live.Load(), c.maxAge)
	if err != nil {
		return nil, err
	}
	c.uses.keyUsed(key.ID, c.store.Now())
	return key, nil
}
