package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/entitle-dev/entitle/licensing"
)

const (
	deletePersonSessionsSQL = `DELETE FROM web_session WHERE kind = 'customer' AND user_id = $1 AND impersonation_id IS NULL`
	setPasswordSQL          = `UPDATE app_user SET password_hash = $2 WHERE id = $1`
)

// RequestPasswordReset mails a reset link to email when it has a login,
// and does nothing otherwise: the caller answers the same either way.
// Throttled per address and per IP.
func (s *Store) RequestPasswordReset(ctx context.Context, email, ip, baseURL string) error {
	addr, ok := licensing.NormalizeEmail(email)
	if !ok || len(addr) > licensing.MaxEmailLength {
		return Invalid("email", "enter one email address, like ann@example.com")
	}
	if err := s.countAttempt(ctx, mailThrottle("reset", addr, ip)); err != nil {
		return err
	}
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var u personRow
		err := tx.GetContext(ctx, &u, userLoginByEmailSQL, addr)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && u.PasswordHash == "") {
			return nil
		}
		if err != nil {
			return err
		}
		token, expires, err := issueLink(ctx, tx, now, emailToken{Purpose: PurposePasswordReset, Email: u.Email,
			UserID: sql.NullInt64{Int64: u.ID, Valid: true}}, ResetLinkLifetime)
		if err != nil {
			return err
		}
		return enqueuePersonalMail(ctx, tx, now, Mail{Kind: "password_reset", To: u.Email,
			Subject: "Reset your Entitle password",
			Body: fmt.Sprintf("Choose a new password for %s here (the link works once, until %s):\n%s\n\n"+
				"Every session of yours ends when you do. If you did not ask for this, ignore this mail.\n",
				u.Email, expires.Format("2 Jan 2006 15:04 MST"), linkURL(baseURL, "/password/reset/"+token))})
	})
}

// ResetEmail is the address an open reset link is for; ErrLinkInvalid
// when the link is unknown, used or expired.
func (s *Store) ResetEmail(ctx context.Context, token string) (string, error) {
	t, err := s.openLink(ctx, PurposePasswordReset, token)
	return t.Email, err
}

// ResetPassword uses a reset link once: the new password is set and every
// session of the person ends. A refused password leaves the link usable.
func (s *Store) ResetPassword(ctx context.Context, token, password string) (ended int, err error) {
	if p := licensing.PasswordProblem(password); p != "" {
		return 0, Invalid("password", p)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return 0, err
	}
	now := s.Now()
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		t, err := useLink(ctx, tx, now, PurposePasswordReset, token)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, setPasswordSQL, t.UserID.Int64, hash); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, deletePersonSessionsSQL, t.UserID.Int64)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		ended = int(n)
		return audit(ctx, tx, now, AuditEvent{Actor: Actor{Type: "user", ID: itoa(t.UserID.Int64), Label: t.Email},
			Action: "person.password_reset", TargetType: "user", TargetID: t.Email,
			After: map[string]any{"sessions_ended": ended}})
	})
	return ended, err
}
