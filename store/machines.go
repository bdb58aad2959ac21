package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/entitle-dev/entitle/licensing"
)

// Machine is an activated (or deactivated) machine of an account.
type Machine struct {
	ID              int64          `db:"id"`
	PublicID        string         `db:"public_id"`
	Feature         string         `db:"feature_key"`
	FingerprintHash string         `db:"fingerprint_hash"`
	Name            string         `db:"name"`
	Platform        string         `db:"platform"`
	MembershipID    sql.NullInt64  `db:"membership_id"`
	UserEmail       sql.NullString `db:"user_email"`
	ActivatedAt     time.Time      `db:"activated_at"`
	ActivatedBy     string         `db:"activated_by"`
	LastSeenAt      time.Time      `db:"last_seen_at"`
	DeactivatedAt   sql.NullTime   `db:"deactivated_at"`
	// DeactivatedReason is "dead" when the sweep deactivated the machine
	// for missing its heartbeat window, "manual" for a person or key.
	DeactivatedReason string `db:"deactivated_reason"`
	// The feature's heartbeat policy: window in seconds (0: none) and
	// what becomes of a dead machine.
	HeartbeatSeconds int    `db:"heartbeat_seconds"`
	OnDead           string `db:"on_dead"`
}

// HeartbeatWindow is how long the machine may go unheard (0: forever).
func (m Machine) HeartbeatWindow() time.Duration {
	return time.Duration(m.HeartbeatSeconds) * time.Second
}

// Dead reports whether the active machine has missed its heartbeat window.
func (m Machine) Dead(now time.Time) bool {
	return !m.DeactivatedAt.Valid && licensing.MachineDead(m.LastSeenAt, m.HeartbeatWindow(), now)
}

// Binding is what a machine licence carries of the machine.
func (m Machine) Binding(nonce string) *licensing.MachineBinding {
	return &licensing.MachineBinding{ID: m.PublicID, FingerprintHash: m.FingerprintHash, Name: m.Name, Nonce: nonce}
}

// MachineRequest is an activation: the machine's fingerprint (kept only as
// its hash), a name and platform people recognise, the person it belongs
// to (an email or user id of a member), and the machines feature (empty:
// the account's first).
type MachineRequest struct {
	Fingerprint string
	Name        string
	Platform    string
	User        string
	Feature     string
}

// ErrMachineDeactivated answers a heartbeat or licence request for a
// machine that was deactivated: the application must stop.
var ErrMachineDeactivated = errors.New("machine was deactivated")

const (
	machineColumns = `
m.id, m.public_id, f.key AS feature_key, m.fingerprint_hash, m.name, m.platform, m.membership_id,
u.email AS user_email, m.activated_at, m.activated_by, m.last_seen_at, m.deactivated_at, m.deactivated_reason,
f.machine_heartbeat_seconds AS heartbeat_seconds, f.machine_on_dead AS on_dead`
	machineFrom = `
FROM machine m JOIN feature f ON f.id = m.feature_id
LEFT JOIN membership ms ON ms.id = m.membership_id AND ms.account_id = m.account_id
LEFT JOIN app_user u ON u.id = ms.user_id`
	activeMachineByHashSQL = `SELECT` + machineColumns + machineFrom + `
WHERE m.account_id = $1 AND m.feature_id = $2 AND m.fingerprint_hash = $3 AND m.deactivated_at IS NULL`
	machineByPublicIDSQL = `SELECT` + machineColumns + machineFrom + `
WHERE m.account_id = $1 AND m.public_id = $2`
	activeMachinesSQL = `SELECT` + machineColumns + machineFrom + `
WHERE m.account_id = $1 AND m.deactivated_at IS NULL AND ($2::bigint = 0 OR m.membership_id = $2)
ORDER BY m.last_seen_at DESC, m.id`
	memberByUserSQL = `
SELECT m.id FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = $1 AND m.status <> 'deactivated' AND (lower(u.email) = lower($2) OR u.id::text = $2)`
	countMachinesSQL = `
SELECT count(*) FROM machine
WHERE account_id = $1 AND feature_id = $2 AND deactivated_at IS NULL AND ($3::bigint = 0 OR membership_id = $3)`
	insertMachineSQL = `
INSERT INTO machine (account_id, feature_id, public_id, fingerprint_hash, name, platform, membership_id,
                     activated_at, activated_by, last_seen_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8) RETURNING id`
	touchMachineSQL = `
UPDATE machine SET last_seen_at = $3 WHERE account_id = $1 AND public_id = $2 AND deactivated_at IS NULL`
	// A heartbeat renews a machine only while it is alive or its policy
	// keeps dead machines: one past its window under "deactivate" is
	// deactivated instead, whether or not the sweep came by yet.
	heartbeatMachineSQL = `
UPDATE machine m SET last_seen_at = $3 FROM feature f
WHERE f.id = m.feature_id AND m.account_id = $1 AND m.public_id = $2 AND m.deactivated_at IS NULL
  AND NOT (f.machine_on_dead = 'deactivate' AND f.machine_heartbeat_seconds > 0
           AND m.last_seen_at + make_interval(secs => f.machine_heartbeat_seconds) < $3)`
	deactivateMachineSQL = `
UPDATE machine SET deactivated_at = $3, deactivated_by = $4, deactivated_reason = 'manual'
WHERE account_id = $1 AND public_id = $2 AND deactivated_at IS NULL`
)

// ActivateMachine activates a machine for the account, or answers the
// machine already active with that fingerprint (created false). The machine
// limit — per seat holder or per account, the plan's value plus grants — is
// decided by licensing.Evaluate with the active machines as the count used,
// under the pool's lock, so concurrent activations never exceed it. Over
// the limit is a *DeviceRefusedError; the activation is audited.
func (s *Store) ActivateMachine(ctx context.Context, actor Actor, accountID int64, req MachineRequest) (Machine, bool, error) {
	req.Name, req.Platform, req.User = strings.TrimSpace(req.Name), strings.TrimSpace(req.Platform), strings.TrimSpace(req.User)
	problems := map[string]string{}
	if err := licensing.CheckFingerprint(req.Fingerprint); err != nil {
		problems["fingerprint"] = err.Error()
	}
	if req.Name == "" {
		problems["name"] = "give the machine a name people recognise, such as its host name"
	} else if utf8.RuneCountInString(req.Name) > 100 {
		problems["name"] = "at most 100 characters"
	}
	if utf8.RuneCountInString(req.Platform) > 50 {
		problems["platform"] = "at most 50 characters"
	}
	if len(problems) > 0 {
		return Machine{}, false, &ValidationError{Fields: problems}
	}
	hash := licensing.HashFingerprint(req.Fingerprint)
	var m Machine
	created := false
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		pool, err := s.lockDevicePool(ctx, tx, accountID, req.Feature, licensing.Machines)
		if err != nil {
			return err
		}
		now := s.Now()
		// Dead machines give their places back before the count.
		if pool.feature.DeactivatesDead() {
			if _, err := deactivateDeadMachines(ctx, tx, accountID, pool.featureID, "", now); err != nil {
				return err
			}
		}
		err = tx.GetContext(ctx, &m, activeMachineByHashSQL, accountID, pool.featureID, hash)
		if err == nil {
			_, err = tx.ExecContext(ctx, touchMachineSQL, accountID, m.PublicID, now)
			m.LastSeenAt = now
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var membershipID int64
		if req.User != "" {
			err := tx.GetContext(ctx, &membershipID, memberByUserSQL, accountID, req.User)
			if errors.Is(err, sql.ErrNoRows) {
				return Invalid("user", "no member of the account has this email or user id")
			}
			if err != nil {
				return err
			}
		}
		seat, countFor := licensing.SeatNotChecked, int64(0)
		if pool.feature.Per == licensing.PerSeat {
			if req.User == "" {
				return Invalid("user", "machines are counted per seat holder: name the person the machine belongs to")
			}
			seat, countFor = pool.product.Seat(req.User), membershipID
		}
		var used int64
		if err := tx.GetContext(ctx, &used, countMachinesSQL, accountID, pool.featureID, countFor); err != nil {
			return err
		}
		if d := pool.decide(used, seat, now); !d.HasAccess {
			return &DeviceRefusedError{Feature: pool.feature.Key, Kind: licensing.Machines, Per: pool.feature.Per, Decision: d}
		}
		id, err := publicID("mach_")
		if err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &m.ID, insertMachineSQL, accountID, pool.featureID, id, hash, req.Name, req.Platform,
			sql.NullInt64{Int64: membershipID, Valid: membershipID != 0}, now, actor.Label); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &m, machineByPublicIDSQL, accountID, id); err != nil {
			return err
		}
		created = true
		return audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "machine.activate",
			TargetType: "machine", TargetID: id,
			After: map[string]any{"name": req.Name, "platform": req.Platform, "user": req.User, "feature": pool.feature.Key}})
	})
	return m, created, err
}

// Machine finds an account's machine by its public id.
func (s *Store) Machine(ctx context.Context, accountID int64, publicID string) (Machine, error) {
	var m Machine
	err := s.db.GetContext(ctx, &m, machineByPublicIDSQL, accountID, publicID)
	if errors.Is(err, sql.ErrNoRows) {
		return Machine{}, ErrNotFound
	}
	return m, err
}

// ActiveMachines lists the account's active machines, or one member's when
// membershipID is not 0.
func (s *Store) ActiveMachines(ctx context.Context, accountID, membershipID int64) ([]Machine, error) {
	var out []Machine
	err := s.db.SelectContext(ctx, &out, activeMachinesSQL, accountID, membershipID)
	return out, err
}

// MachineHeartbeat records that the machine is alive. A deactivated machine
// answers ErrMachineDeactivated (ErrMachineDead when it missed its
// heartbeat window), so the application learns it; a machine past its
// window whose policy deactivates dead machines is deactivated now.
func (s *Store) MachineHeartbeat(ctx context.Context, accountID int64, publicID string) (Machine, error) {
	now := s.Now()
	res, err := s.db.ExecContext(ctx, heartbeatMachineSQL, accountID, publicID, now)
	if err != nil {
		return Machine{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if err := s.tx(ctx, func(tx *sqlx.Tx) error {
			_, err := deactivateDeadMachines(ctx, tx, accountID, 0, publicID, now)
			return err
		}); err != nil {
			return Machine{}, err
		}
	}
	m, err := s.Machine(ctx, accountID, publicID)
	if err != nil {
		return Machine{}, err
	}
	return m, m.deactivatedError()
}

// MachineLicence signs a licence bound to an active machine of the account.
func (s *Store) MachineLicence(ctx context.Context, accountID int64, publicID, nonce string, opts LicenceOptions) ([]byte, Machine, error) {
	m, err := s.Machine(ctx, accountID, publicID)
	if err != nil {
		return nil, Machine{}, err
	}
	if err := m.deactivatedError(); err != nil {
		return nil, m, err
	}
	opts.Machine = m.Binding(nonce)
	file, err := s.IssueLicence(ctx, accountID, opts)
	return file, m, err
}

// DeactivateMachine frees a machine's activation, audited. The API (the
// account's key) may deactivate any machine of the account.
func (s *Store) DeactivateMachine(ctx context.Context, actor Actor, accountID int64, publicID string) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		return s.deactivateMachine(ctx, tx, actor, accountID, publicID)
	})
}

// DeactivateMachineAs deactivates a machine from the portal: admins any of
// the account's, members only their own (the permission matrix decides).
func (s *Store) DeactivateMachineAs(ctx context.Context, p Principal, publicID string) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		role, err := authorize(ctx, tx, p, licensing.ManageOwnDevices)
		if err != nil {
			return err
		}
		if !licensing.Can(role, licensing.ManageDevices) {
			var m Machine
			err := tx.GetContext(ctx, &m, machineByPublicIDSQL, p.AccountID, publicID)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && m.MembershipID.Int64 != p.MembershipID) {
				return ErrNotFound // another member's machine looks like none at all
			}
			if err != nil {
				return err
			}
		}
		return s.deactivateMachine(ctx, tx, p.actor(), p.AccountID, publicID)
	})
}

func (s *Store) deactivateMachine(ctx context.Context, tx *sqlx.Tx, actor Actor, accountID int64, publicID string) error {
	now := s.Now()
	res, err := tx.ExecContext(ctx, deactivateMachineSQL, accountID, publicID, now, actor.Label)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "machine.deactivate",
		TargetType: "machine", TargetID: publicID})
}
