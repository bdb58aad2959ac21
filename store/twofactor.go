package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// ErrCodeReused: a two-factor code already used in its time step.
var ErrCodeReused = errors.New("two-factor code already used")

// TwoFactorOwner is whose second factor it is: a staff member or a
// customer's login.
type TwoFactorOwner struct {
	Staff bool
	ID    int64
	Email string
}

func (o TwoFactorOwner) table() string {
	if o.Staff {
		return "staff"
	}
	return "user"
}

// TwoFactor is the state of someone's TOTP.
type TwoFactor struct {
	Secret    string       `db:"totp_secret"` // pending until EnabledAt is set
	EnabledAt sql.NullTime `db:"totp_enabled_at"`
	LastStep  int64        `db:"totp_last_step"`
}

// Enabled tells whether sign-ins need a code.
func (t TwoFactor) Enabled() bool { return t.EnabledAt.Valid }

// One query per owner kind: the table is never built from input.
var twoFactorSQL = map[bool]struct{ get, lock, pending, enable, step, disable, codes, useCode, deleteCodes string }{
	true: {
		get:         `SELECT totp_secret, totp_enabled_at, totp_last_step FROM staff_user WHERE id = $1`,
		lock:        `SELECT totp_secret, totp_enabled_at, totp_last_step FROM staff_user WHERE id = $1 FOR UPDATE`,
		pending:     `UPDATE staff_user SET totp_secret = $2 WHERE id = $1 AND totp_enabled_at IS NULL`,
		enable:      `UPDATE staff_user SET totp_enabled_at = $2, totp_last_step = $3 WHERE id = $1`,
		step:        `UPDATE staff_user SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2`,
		disable:     `UPDATE staff_user SET totp_secret = '', totp_enabled_at = NULL, totp_last_step = 0 WHERE id = $1`,
		codes:       `INSERT INTO recovery_code (staff_id, code_hash) SELECT $1, unnest($2::bytea[])`,
		useCode:     `UPDATE recovery_code SET used_at = $3 WHERE staff_id = $1 AND code_hash = $2 AND used_at IS NULL`,
		deleteCodes: `DELETE FROM recovery_code WHERE staff_id = $1`,
	},
	false: {
		get:         `SELECT totp_secret, totp_enabled_at, totp_last_step FROM app_user WHERE id = $1`,
		lock:        `SELECT totp_secret, totp_enabled_at, totp_last_step FROM app_user WHERE id = $1 FOR UPDATE`,
		pending:     `UPDATE app_user SET totp_secret = $2 WHERE id = $1 AND totp_enabled_at IS NULL`,
		enable:      `UPDATE app_user SET totp_enabled_at = $2, totp_last_step = $3 WHERE id = $1`,
		step:        `UPDATE app_user SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2`,
		disable:     `UPDATE app_user SET totp_secret = '', totp_enabled_at = NULL, totp_last_step = 0 WHERE id = $1`,
		codes:       `INSERT INTO recovery_code (user_id, code_hash) SELECT $1, unnest($2::bytea[])`,
		useCode:     `UPDATE recovery_code SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`,
		deleteCodes: `DELETE FROM recovery_code WHERE user_id = $1`,
	},
}

// TwoFactorState reads someone's TOTP state.
func (s *Store) TwoFactorState(ctx context.Context, o TwoFactorOwner) (TwoFactor, error) {
	var t TwoFactor
	err := s.db.GetContext(ctx, &t, twoFactorSQL[o.Staff].get, o.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	return t, err
}

// PersonHasTOTP tells whether a customer signs in with a code.
func (s *Store) PersonHasTOTP(ctx context.Context, userID int64) (bool, error) {
	t, err := s.TwoFactorState(ctx, TwoFactorOwner{ID: userID})
	return t.Enabled(), err
}

// SetPendingTOTP keeps a new secret until its first code confirms it
// (nothing changes once TOTP is enabled).
func (s *Store) SetPendingTOTP(ctx context.Context, o TwoFactorOwner, secret string) error {
	_, err := s.db.ExecContext(ctx, twoFactorSQL[o.Staff].pending, o.ID, secret)
	return err
}

// EnableTOTP turns TOTP on once the pending secret's first code matched
// (in step), and stores the recovery codes' hashes. Audited.
func (s *Store) EnableTOTP(ctx context.Context, o TwoFactorOwner, step int64, recoveryHashes [][]byte) error {
	now := s.Now()
	q := twoFactorSQL[o.Staff]
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var t TwoFactor
		if err := tx.GetContext(ctx, &t, q.lock, o.ID); err != nil {
			return err
		}
		if t.Enabled() {
			return ErrConflict
		}
		if _, err := tx.ExecContext(ctx, q.enable, o.ID, now, step); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, q.deleteCodes, o.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, q.codes, o.ID, pq.ByteaArray(recoveryHashes)); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{Actor: Actor{Type: o.actorType(), ID: itoa(o.ID), Label: o.Email},
			Action: "two_factor.enable", TargetType: o.table(), TargetID: o.Email})
	})
}

func (o TwoFactorOwner) actorType() string {
	if o.Staff {
		return "staff"
	}
	return "user"
}

// UseTOTPStep records that a code of step was accepted; ErrCodeReused
// when a code of that step (or a later one) was accepted before.
func (s *Store) UseTOTPStep(ctx context.Context, o TwoFactorOwner, step int64) error {
	res, err := s.db.ExecContext(ctx, twoFactorSQL[o.Staff].step, o.ID, step)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrCodeReused
	}
	return nil
}

// UseRecoveryCode spends one recovery code; ErrBadCredentials when it is
// unknown or spent.
func (s *Store) UseRecoveryCode(ctx context.Context, o TwoFactorOwner, hash []byte) error {
	res, err := s.db.ExecContext(ctx, twoFactorSQL[o.Staff].useCode, o.ID, hash, s.Now())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrBadCredentials
	}
	return nil
}

// CheckCodeThrottle refuses while someone has had too many wrong codes.
func (s *Store) CheckCodeThrottle(ctx context.Context, o TwoFactorOwner) error {
	return s.checkThrottle(ctx, s.Now(), "totp-"+o.table()+":"+itoa(o.ID), maxCodeFailures)
}

// RecordWrongCode counts a wrong code towards the throttle.
func (s *Store) RecordWrongCode(ctx context.Context, o TwoFactorOwner) error {
	_, err := s.db.ExecContext(ctx, recordAttemptSQL, "totp-"+o.table()+":"+itoa(o.ID), s.Now())
	return err
}

// DisableTOTP turns TOTP off (customers, from /profile). Audited.
func (s *Store) DisableTOTP(ctx context.Context, o TwoFactorOwner) error {
	now := s.Now()
	q := twoFactorSQL[o.Staff]
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, q.disable, o.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, q.deleteCodes, o.ID); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{Actor: Actor{Type: o.actorType(), ID: itoa(o.ID), Label: o.Email},
			Action: "two_factor.disable", TargetType: o.table(), TargetID: o.Email})
	})
}

// seedTOTP enables TOTP with a known secret (the demo's support admin and
// admin), with no recovery codes.
func seedTOTP(ctx context.Context, tx *sqlx.Tx, now time.Time, staffEmail, secret string) error {
	_, err := tx.ExecContext(ctx, seedStaffTOTPSQL, staffEmail, secret, now)
	return err
}

const seedStaffTOTPSQL = `
UPDATE staff_user SET totp_secret = $2, totp_enabled_at = $3 WHERE lower(email) = lower($1)`
