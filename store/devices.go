package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/entitle-dev/entitle/licensing"
)

// DeviceRefusedError is a checkout or an activation the account's
// entitlement does not allow: the pool is full, the machine limit is
// reached, or the feature is not in the plan (Decision says which).
type DeviceRefusedError struct {
	Feature  string
	Kind     licensing.FeatureKind
	Per      licensing.MachinesPer // machines only
	Decision licensing.Decision
	// NextExpiry is when the soonest active lease expires (a full pool).
	NextExpiry time.Time
}

func (e *DeviceRefusedError) Error() string {
	return fmt.Sprintf("%s %s refused: %s", e.Kind, e.Feature, e.Decision.Reason)
}

// Full reports whether the refusal is the pool or the machine limit being
// used up (rather than no access at all).
func (e *DeviceRefusedError) Full() bool { return e.Decision.Reason == licensing.ReasonLimitReached }

const (
	applyFeatureDevicesSQL = `
UPDATE feature SET lease_ttl_seconds = $2, machines_per = $3, machine_heartbeat_seconds = $4, machine_on_dead = $5
WHERE id = $1`
	deviceFeatureSQL = `
SELECT f.id, f.lease_ttl_seconds, f.machines_per, f.machine_heartbeat_seconds, f.machine_on_dead FROM feature f JOIN product p ON p.id = f.product_id WHERE p.key = $1 AND f.key = $2`
	// One lock per account and feature serialises checkouts and
	// activations of that pool across every instance; the count and the
	// insert happen under it.
	lockDevicePoolSQL = `SELECT pg_advisory_xact_lock(hashtextextended('entitle/devices/' || $1::text || '/' || $2::text, 0))`
)

// applyFeatureDevices writes the catalog fields only device kinds have.
func applyFeatureDevices(ctx context.Context, tx *sqlx.Tx, featureID int64, f licensing.Feature) error {
	_, err := tx.ExecContext(ctx, applyFeatureDevicesSQL, featureID, f.LeaseTTLSeconds, string(f.Per),
		int(f.HeartbeatWindow()/time.Second), string(f.OnDead))
	return err
}

// devicePool is a concurrent or machines feature of an account, locked for
// the rest of the transaction, with the state it is evaluated in.
type devicePool struct {
	featureID int64
	product   licensing.ProductState
	feature   licensing.Feature
}

// lockDevicePool finds featureKey (of kind) in the account's state — or the
// account's first feature of that kind when featureKey is empty — and takes
// the pool's lock.
func (s *Store) lockDevicePool(ctx context.Context, tx *sqlx.Tx, accountID int64, featureKey string, kind licensing.FeatureKind) (devicePool, error) {
	pool, err := s.findDevicePool(ctx, tx, accountID, featureKey, kind)
	if err != nil {
		return devicePool{}, err
	}
	return pool, pool.lock(ctx, tx, accountID)
}

// lock takes the pool's lock for the rest of tx.
func (p devicePool) lock(ctx context.Context, tx *sqlx.Tx, accountID int64) error {
	_, err := tx.ExecContext(ctx, lockDevicePoolSQL, accountID, p.featureID)
	return err
}

// findDevicePool reads the pool's feature and the state it is evaluated in
// (with q: a transaction, or the pool for a read before one).
func (s *Store) findDevicePool(ctx context.Context, q sqlx.QueryerContext, accountID int64, featureKey string, kind licensing.FeatureKind) (devicePool, error) {
	state, err := s.accountState(ctx, q, accountID, wholeState)
	if err != nil {
		return devicePool{}, err
	}
	var pool devicePool
	found := false
	for _, p := range state.Products {
		for _, f := range p.Features {
			if (featureKey == "" && f.Kind == kind) || (featureKey != "" && f.Key == featureKey) {
				pool.product, pool.feature, found = p, f, true
				break
			}
		}
		if found {
			break
		}
	}
	switch {
	case !found && featureKey == "":
		return devicePool{}, Invalid("feature", fmt.Sprintf("the account's products have no %s feature", kind))
	case !found:
		return devicePool{}, fmt.Errorf("%w: %q", licensing.ErrUnknownFeature, featureKey)
	case pool.feature.Kind != kind:
		return devicePool{}, Invalid("feature", fmt.Sprintf("%s is a %s feature, not a %s one", pool.feature.Key, pool.feature.Kind, kind))
	}
	// The evaluated state carries what evaluation reads; the device
	// settings come from the feature row.
	var row struct {
		ID        int64  `db:"id"`
		LeaseTTL  int    `db:"lease_ttl_seconds"`
		Per       string `db:"machines_per"`
		Heartbeat int    `db:"machine_heartbeat_seconds"`
		OnDead    string `db:"machine_on_dead"`
	}
	if err := sqlx.GetContext(ctx, q, &row, deviceFeatureSQL, pool.product.Product, pool.feature.Key); err != nil {
		return devicePool{}, err
	}
	pool.featureID, pool.feature.LeaseTTLSeconds, pool.feature.Per = row.ID, row.LeaseTTL, licensing.MachinesPer(row.Per)
	pool.feature.Heartbeat = licensing.HeartbeatText(time.Duration(row.Heartbeat) * time.Second)
	pool.feature.OnDead = licensing.DeadMachinePolicy(row.OnDead)
	return pool, nil
}

// decide evaluates the pool with used slots taken, for seat.
func (p devicePool) decide(used int64, seat licensing.SeatCheck, now time.Time) licensing.Decision {
	ps := p.product
	ps.Usage = map[string]int64{p.feature.Key: used}
	d, _ := ps.Check(p.feature.Key, seat, now)
	return d
}

// publicID is an unguessable id with a readable prefix.
func publicID(prefix string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + hex.EncodeToString(b), nil
}
