package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// ErrMachineDead answers a heartbeat or licence request for a machine that
// was deactivated because it missed its heartbeat window.
var ErrMachineDead = fmt.Errorf("%w: it missed its heartbeat window", ErrMachineDeactivated)

// deadMachineActor is who deactivates dead machines in the audit log.
var deadMachineActor = SystemActor("missed heartbeat")

const (
	// Accounts with a machine past its window under a "deactivate" policy.
	deadMachineAccountsSQL = `
SELECT DISTINCT m.account_id FROM machine m JOIN feature f ON f.id = m.feature_id
WHERE m.deactivated_at IS NULL AND f.machine_on_dead = 'deactivate' AND f.machine_heartbeat_seconds > 0
  AND m.last_seen_at + make_interval(secs => f.machine_heartbeat_seconds) < $1
ORDER BY m.account_id`
	// Deactivates an account's dead machines (of one feature, or one
	// machine, when given). The window's end itself is still alive.
	deactivateDeadMachinesSQL = `
UPDATE machine m SET deactivated_at = $2, deactivated_by = $5, deactivated_reason = 'dead'
FROM feature f
WHERE f.id = m.feature_id AND m.account_id = $1 AND m.deactivated_at IS NULL
  AND f.machine_on_dead = 'deactivate' AND f.machine_heartbeat_seconds > 0
  AND m.last_seen_at + make_interval(secs => f.machine_heartbeat_seconds) < $2
  AND ($3::bigint = 0 OR m.feature_id = $3) AND ($4::text = '' OR m.public_id = $4)
RETURNING m.public_id, m.name, f.key AS feature_key, m.last_seen_at, f.machine_heartbeat_seconds AS heartbeat_seconds`
)

// deactivatedError is how a request for a deactivated machine is refused.
func (m Machine) deactivatedError() error {
	switch {
	case !m.DeactivatedAt.Valid:
		return nil
	case m.DeactivatedReason == "dead":
		return ErrMachineDead
	}
	return ErrMachineDeactivated
}

// SweepDeadMachines deactivates every machine that missed its heartbeat
// window under a "deactivate" policy, one transaction per account, each
// audited; it answers how many it deactivated. Several instances may run
// it: a machine already deactivated is not matched again.
func (s *Store) SweepDeadMachines(ctx context.Context) (int, error) {
	now := s.Now()
	var accounts []int64
	if err := s.db.SelectContext(ctx, &accounts, deadMachineAccountsSQL, now); err != nil {
		return 0, err
	}
	total := 0
	for _, id := range accounts {
		err := s.tx(ctx, func(tx *sqlx.Tx) error {
			n, err := deactivateDeadMachines(ctx, tx, id, 0, "", now)
			total += n
			return err
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// deactivateDeadMachines deactivates the account's dead machines (of
// featureID, or the one machine publicID, when given) in tx, audited.
func deactivateDeadMachines(ctx context.Context, tx *sqlx.Tx, accountID, featureID int64, publicID string, now time.Time) (int, error) {
	var dead []struct {
		PublicID         string    `db:"public_id"`
		Name             string    `db:"name"`
		Feature          string    `db:"feature_key"`
		LastSeenAt       time.Time `db:"last_seen_at"`
		HeartbeatSeconds int       `db:"heartbeat_seconds"`
	}
	if err := tx.SelectContext(ctx, &dead, deactivateDeadMachinesSQL, accountID, now, featureID, publicID,
		deadMachineActor.Label); err != nil {
		return 0, err
	}
	for _, m := range dead {
		if err := audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: deadMachineActor, Action: "machine.deactivate",
			TargetType: "machine", TargetID: m.PublicID,
			Before: map[string]any{"name": m.Name, "feature": m.Feature, "last_seen_at": m.LastSeenAt},
			After:  map[string]any{"reason": "missed heartbeat", "heartbeat_seconds": m.HeartbeatSeconds}}); err != nil {
			return 0, err
		}
	}
	return len(dead), nil
}
