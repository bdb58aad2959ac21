package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Links mailed to a person (sign-up verification, password reset, a staff
// member's first password) are single-use and expire; only a hash of the
// token is stored, like invitations.
const (
	PurposeSignup        = "signup"
	PurposePasswordReset = "password_reset"
	PurposeStaffPassword = "staff_password"

	SignupLinkLifetime        = 24 * time.Hour
	ResetLinkLifetime         = 30 * time.Minute
	StaffPasswordLinkLifetime = 72 * time.Hour
)

// ErrLinkInvalid: the link is unknown, used, expired or tampered with.
var ErrLinkInvalid = errors.New("link invalid or expired")

// emailToken is one issued link.
type emailToken struct {
	ID        int64           `db:"id"`
	Purpose   string          `db:"purpose"`
	Email     string          `db:"email"`
	UserID    sql.NullInt64   `db:"user_id"`
	StaffID   sql.NullInt64   `db:"staff_id"`
	Payload   json.RawMessage `db:"payload"`
	ExpiresAt time.Time       `db:"expires_at"`
}

const (
	insertEmailTokenSQL = `
INSERT INTO email_token (purpose, email, user_id, staff_id, token_hash, payload, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	// A new link of a purpose replaces the open ones for the same address.
	retireEmailTokensSQL = `
UPDATE email_token SET used_at = $3 WHERE purpose = $1 AND lower(email) = lower($2) AND used_at IS NULL`
	openEmailTokenSQL = `
SELECT id, purpose, email, user_id, staff_id, payload, expires_at FROM email_token
WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3`
	useEmailTokenSQL = `UPDATE email_token SET used_at = $2 WHERE id = $1 AND used_at IS NULL`
)

// issueLink stores a new link for purpose (replacing the address's open
// ones) and returns the token for the mail.
func issueLink(ctx context.Context, tx *sqlx.Tx, now time.Time, t emailToken, lifetime time.Duration) (string, time.Time, error) {
	if _, err := tx.ExecContext(ctx, retireEmailTokensSQL, t.Purpose, t.Email, now); err != nil {
		return "", time.Time{}, err
	}
	token, hash, err := newToken()
	if err != nil {
		return "", time.Time{}, err
	}
	payload := t.Payload
	if payload == nil {
		payload = json.RawMessage(`{}`)
	}
	expires := now.Add(lifetime)
	_, err = tx.ExecContext(ctx, insertEmailTokenSQL, t.Purpose, t.Email, t.UserID, t.StaffID, hash, string(payload), now, expires)
	return token, expires, err
}

// openLink reads an open link without using it (to show its page).
func (s *Store) openLink(ctx context.Context, purpose, token string) (emailToken, error) {
	var t emailToken
	err := s.db.GetContext(ctx, &t, openEmailTokenSQL, hashToken(token), purpose, s.Now())
	if errors.Is(err, sql.ErrNoRows) {
		return emailToken{}, ErrLinkInvalid
	}
	return t, err
}

// useLink locks an open link and marks it used inside tx: a second use,
// even a concurrent one, finds nothing and gets ErrLinkInvalid.
func useLink(ctx context.Context, tx *sqlx.Tx, now time.Time, purpose, token string) (emailToken, error) {
	var t emailToken
	err := tx.GetContext(ctx, &t, openEmailTokenSQL+` FOR UPDATE`, hashToken(token), purpose, now)
	if errors.Is(err, sql.ErrNoRows) {
		return emailToken{}, ErrLinkInvalid
	}
	if err != nil {
		return emailToken{}, err
	}
	res, err := tx.ExecContext(ctx, useEmailTokenSQL, t.ID, now)
	if err != nil {
		return emailToken{}, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return emailToken{}, ErrLinkInvalid
	}
	return t, nil
}

// linkURL joins the portal's public URL and a path.
func linkURL(base, path string) string { return strings.TrimRight(base, "/") + path }

// Throttles on the forms that mail a link or check a code. Each attempt is
// counted in login_failure (shared by every instance, like sign-in
// failures), whatever its outcome, so that the answer cannot tell whether
// an address is known.
const (
	maxMailsPerEmail = 3  // sign-up or reset mails to one address per window
	maxMailsPerIP    = 20 // sign-up or reset requests from one address per window
	maxCodeFailures  = 5  // wrong two-factor codes per person per window
)

// countAttempt refuses with a ThrottledError once any key has reached its
// limit within the window, and otherwise records one attempt under every
// key.
func (s *Store) countAttempt(ctx context.Context, limits map[string]int) error {
	now := s.Now()
	for key, max := range limits {
		if err := s.checkThrottle(ctx, now, key, max); err != nil {
			return err
		}
	}
	for key := range limits {
		if _, err := s.db.ExecContext(ctx, recordAttemptSQL, key, now); err != nil {
			return err
		}
	}
	return nil
}

// mailThrottle is the limits of one mail-sending form.
func mailThrottle(form, email, ip string) map[string]int {
	return map[string]int{
		form + "-email:" + strings.ToLower(strings.TrimSpace(email)): maxMailsPerEmail,
		form + "-ip:" + ip: maxMailsPerIP,
	}
}
