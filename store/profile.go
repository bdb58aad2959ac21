package store

import (
	"context"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/entitle-dev/entitle/licensing"
)

// AccountChoice is one account a person may act in.
type AccountChoice struct {
	Slug string `db:"slug"`
	Name string `db:"name"`
	Role string `db:"role"`
}

// PersonSession is one place a person is signed in.
type PersonSession struct {
	ID          string    `db:"id"` // hex of the token's hash: names the row, never the token
	AccountName string    `db:"account_name"`
	IP          string    `db:"ip"`
	UserAgent   string    `db:"user_agent"`
	CreatedAt   time.Time `db:"created_at"`
	Current     bool      `db:"current"`
}

const (
	personAccountsSQL = `
SELECT a.slug, a.name, m.role FROM membership m JOIN account a ON a.id = m.account_id
WHERE m.user_id = $1 AND m.status = 'active' ORDER BY a.name, a.id`
	switchAccountSQL = `
UPDATE web_session ws SET account_id = m.account_id
FROM membership m JOIN account a ON a.id = m.account_id
WHERE ws.id_hash = $1 AND ws.kind = 'customer' AND ws.user_id = $2 AND ws.impersonation_id IS NULL
  AND m.user_id = ws.user_id AND m.status = 'active' AND a.slug = $3`
	personSessionsSQL = `
SELECT encode(ws.id_hash, 'hex') AS id, a.name AS account_name, ws.ip, ws.user_agent, ws.created_at,
       ws.id_hash = $2 AS current
FROM web_session ws JOIN account a ON a.id = ws.account_id
WHERE ws.kind = 'customer' AND ws.user_id = $1 AND ws.impersonation_id IS NULL AND ws.expires_at > $3
ORDER BY ws.id_hash = $2 DESC, ws.created_at DESC`
	endOtherSessionsSQL = `
DELETE FROM web_session WHERE kind = 'customer' AND user_id = $1 AND impersonation_id IS NULL AND id_hash <> $2`
	setNameSQL        = `UPDATE app_user SET name = $2 WHERE id = $1`
	passwordOfUserSQL = `SELECT password_hash FROM app_user WHERE id = $1 FOR UPDATE`
)

// PersonAccounts lists the accounts a person is an active member of.
func (s *Store) PersonAccounts(ctx context.Context, userID int64) ([]AccountChoice, error) {
	var out []AccountChoice
	err := s.selectPrepared(ctx, &out, personAccountsSQL, userID)
	return out, err
}

// SwitchAccount makes the session act in the account named by slug, where
// the person is an active member; ErrNotFound otherwise (another person's
// account looks the same as no account).
func (s *Store) SwitchAccount(ctx context.Context, token string, userID int64, slug string) error {
	res, err := s.db.ExecContext(ctx, switchAccountSQL, hashToken(token), userID, slug)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotFound
	}
	return nil
}

// PersonSessions lists where a person is signed in, this session first.
func (s *Store) PersonSessions(ctx context.Context, userID int64, token string) ([]PersonSession, error) {
	var out []PersonSession
	err := s.db.SelectContext(ctx, &out, personSessionsSQL, userID, hashToken(token), s.Now())
	return out, err
}

// EndOtherSessions signs the person out everywhere but this session.
func (s *Store) EndOtherSessions(ctx context.Context, userID int64, token string) (int, error) {
	res, err := s.db.ExecContext(ctx, endOtherSessionsSQL, userID, hashToken(token))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// SetName changes the name a person shows under.
func (s *Store) SetName(ctx context.Context, userID int64, name string) error {
	if p := licensing.NewPersonProblems(name, true, strings.Repeat("x", licensing.MinPasswordLength))["name"]; p != "" {
		return Invalid("name", p)
	}
	_, err := s.db.ExecContext(ctx, setNameSQL, userID, strings.TrimSpace(name))
	return err
}

// ChangePassword sets a new password after checking the current one
// (wrong guesses are throttled like sign-ins); every other session of the
// person ends.
func (s *Store) ChangePassword(ctx context.Context, userID int64, token, current, next string) error {
	key := "profile:" + itoa(userID)
	now := s.Now()
	if err := s.checkThrottle(ctx, now, key, maxFailuresByEmail); err != nil {
		return err
	}
	if p := licensing.PasswordProblem(next); p != "" {
		return Invalid("new_password", p)
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	wrong := false
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		var old string
		if err := tx.GetContext(ctx, &old, passwordOfUserSQL, userID); err != nil {
			return err
		}
		if bcrypt.CompareHashAndPassword([]byte(old), []byte(current)) != nil {
			wrong = true
			return Invalid("current_password", "that is not your current password")
		}
		if _, err := tx.ExecContext(ctx, setPasswordSQL, userID, hash); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, endOtherSessionsSQL, userID, hashToken(token)); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{Actor: Actor{Type: "user", ID: itoa(userID)},
			Action: "person.password_change", TargetType: "user", TargetID: itoa(userID)})
	})
	if wrong {
		if _, rerr := s.db.ExecContext(ctx, recordAttemptSQL, key, now); rerr != nil {
			return rerr
		}
	}
	return err
}
