package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

// StaffSession is a signed-in vendor staff member, re-read on every request
// so that disabling a staff account ends their sessions at once.
type StaffSession struct {
	StaffID int64  `db:"staff_id"`
	Email   string `db:"email"`
	Name    string `db:"name"`
	Role    string `db:"role"` // support, support_admin, operator, admin
	// TwoFactor: TOTP is enabled (the console sends a role that needs it
	// to enrol before anything else while it is not).
	TwoFactor bool `db:"two_factor"`
}

const (
	staffLoginSQL = `
SELECT id AS staff_id, email, name, role, totp_enabled_at IS NOT NULL AS two_factor, password_hash FROM staff_user
WHERE lower(email) = lower($1) AND disabled_at IS NULL`
	staffSessionSQL = `
SELECT su.id AS staff_id, su.email, su.name, su.role, su.totp_enabled_at IS NOT NULL AS two_factor
FROM web_session ws JOIN staff_user su ON su.id = ws.staff_id AND su.disabled_at IS NULL
WHERE ws.id_hash = $1 AND ws.kind = 'staff' AND ws.expires_at > $2`
)

// AuthenticateStaff checks a staff member's email and password, with the
// same throttling and the same answer for every failure as customers get.
func (s *Store) AuthenticateStaff(ctx context.Context, email, password, ip string) (StaffSession, error) {
	var row struct {
		StaffSession
		PasswordHash string `db:"password_hash"`
	}
	err := s.checkPassword(ctx, "staff:", email, password, ip, func() (string, error) {
		err := s.db.GetContext(ctx, &row, staffLoginSQL, strings.TrimSpace(email))
		return row.PasswordHash, err
	})
	if err != nil {
		return StaffSession{}, err
	}
	return row.StaffSession, nil
}

// CreateStaffSession starts a staff session; its cookie is separate from
// customers' so that neither kind can stand in for the other.
func (s *Store) CreateStaffSession(ctx context.Context, staffID int64) (string, error) {
	token, hash, err := newToken()
	if err != nil {
		return "", err
	}
	now := s.Now()
	_, err = s.db.ExecContext(ctx, insertSessionSQL, hash, "staff", nil, nil, staffID, now, now.Add(sessionLifetime))
	return token, err
}

// StaffSessionByToken resolves a staff cookie's token; ErrNotFound when it
// is unknown, expired, or the staff account is disabled.
func (s *Store) StaffSessionByToken(ctx context.Context, token string) (StaffSession, error) {
	var sess StaffSession
	err := s.db.GetContext(ctx, &sess, staffSessionSQL, hashToken(token), s.Now())
	if errors.Is(err, sql.ErrNoRows) {
		return StaffSession{}, ErrNotFound
	}
	return sess, err
}
