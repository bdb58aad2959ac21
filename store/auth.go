package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Sign-in throttling: after this many failures within the window, further
// attempts for the same email (or from the same address) are refused until
// the window has passed, on every instance alike.
const (
	failureWindow      = 15 * time.Minute
	maxFailuresByEmail = 5
	maxFailuresByIP    = 30
	sessionLifetime    = 12 * time.Hour
)

// dummyHash is compared against when the email is unknown, so that a wrong
// email and a wrong password take the same time.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("entitle-dummy-password"), bcrypt.DefaultCost)

// HashPassword hashes a password with bcrypt.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}

// Login is a successful customer sign-in.
type Login struct {
	UserID       int64  `db:"user_id"`
	AccountID    int64  `db:"account_id"`
	MembershipID int64  `db:"membership_id"`
	PasswordHash string `db:"password_hash"`
	// Where the sign-in came from, shown on /profile's sessions list.
	IP        string `db:"-"`
	UserAgent string `db:"-"`
}

const (
	countFailuresSQL = `SELECT count(*) FROM login_failure WHERE key = $1 AND failed_at > $2`
	insertFailureSQL = `INSERT INTO login_failure (key, failed_at) VALUES ($1, $2), ($3, $2)`
	clearFailuresSQL = `DELETE FROM login_failure WHERE key = $1 OR failed_at < $2`
	loginLookupSQL   = `
SELECT u.id AS user_id, m.account_id, m.id AS membership_id, u.password_hash
FROM app_user u
JOIN membership m ON m.user_id = u.id AND m.status = 'active'
JOIN account a ON a.id = m.account_id
WHERE lower(u.email) = lower($1)
ORDER BY a.name, m.id
LIMIT 1`
	recordSignInSQL = `UPDATE membership SET last_sign_in_at = $2 WHERE id = $1`
)

// Authenticate checks a customer's email and password. It answers
// ErrBadCredentials whether the email is unknown or the password wrong, and
// ErrThrottled after repeated failures for that email or address.
func (s *Store) Authenticate(ctx context.Context, email, password, ip string) (Login, error) {
	var l Login
	err := s.checkPassword(ctx, "email:", email, password, ip, func() (string, error) {
		err := s.db.GetContext(ctx, &l, loginLookupSQL, strings.TrimSpace(email))
		return l.PasswordHash, err
	})
	if err != nil {
		return Login{}, err
	}
	if _, err := s.db.ExecContext(ctx, recordSignInSQL, l.MembershipID, s.Now()); err != nil {
		return Login{}, err
	}
	l.IP = ip
	return l, nil
}

// checkPassword is the sign-in procedure both customers and staff go
// through: refuse while throttled, look the login up, compare the password
// (against a dummy hash when the login is unknown, so both failures take the
// same time), record failures and clear them on success.
func (s *Store) checkPassword(ctx context.Context, keyPrefix, email, password, ip string, lookup func() (hash string, err error)) error {
	now := s.Now()
	emailKey, ipKey := keyPrefix+strings.ToLower(strings.TrimSpace(email)), "ip:"+ip
	if err := s.checkThrottle(ctx, now, emailKey, maxFailuresByEmail); err != nil {
		return err
	}
	if err := s.checkThrottle(ctx, now, ipKey, maxFailuresByIP); err != nil {
		return err
	}
	hash, err := lookup()
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return s.recordFailure(ctx, now, emailKey, ipKey)
	case err != nil:
		return err
	case bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil:
		return s.recordFailure(ctx, now, emailKey, ipKey)
	}
	_, err = s.db.ExecContext(ctx, clearFailuresSQL, emailKey, now.Add(-failureWindow))
	return err
}

// ThrottledError says how long to wait.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string { return ErrThrottled.Error() }
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

func (s *Store) checkThrottle(ctx context.Context, now time.Time, key string, max int) error {
	var n int
	if err := s.db.GetContext(ctx, &n, countFailuresSQL, key, now.Add(-failureWindow)); err != nil {
		return err
	}
	if n >= max {
		return &ThrottledError{RetryAfter: failureWindow}
	}
	return nil
}

func (s *Store) recordFailure(ctx context.Context, now time.Time, emailKey, ipKey string) error {
	if _, err := s.db.ExecContext(ctx, insertFailureSQL, emailKey, now, ipKey); err != nil {
		return err
	}
	return ErrBadCredentials
}

// Session is who a signed-in browser is, re-read from the database on every
// request so that removing a member signs them out at once.
type Session struct {
	UserID       int64  `db:"user_id"`
	AccountID    int64  `db:"account_id"`
	MembershipID int64  `db:"membership_id"`
	Email        string `db:"email"`
	Name         string `db:"name"`
	Role         string `db:"role"`
	AccountSlug  string `db:"account_slug"`
	AccountName  string `db:"account_name"`

	// Set when a staff member acts as the account (impersonation): the
	// session then stands for the account's first active owner, and Mode
	// says whether changes are allowed (see store/impersonation.go).
	ImpersonationID     int64     `db:"impersonation_id"`
	ImpersonatorID      int64     `db:"impersonator_id"`
	Impersonator        string    `db:"impersonator"` // the staff member's email
	Mode                string    `db:"mode"`         // read or write; empty for customers
	ImpersonationReason string    `db:"impersonation_reason"`
	ExpiresAt           time.Time `db:"impersonation_expires_at"` // when the impersonation lapses
}

const (
	insertSessionSQL = `
INSERT INTO web_session (id_hash, kind, user_id, account_id, staff_id, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`
	customerSessionSQL = `
SELECT u.id AS user_id, a.id AS account_id, m.id AS membership_id, u.email, u.name, m.role,
       a.slug AS account_slug, a.name AS account_name
FROM web_session ws
JOIN app_user u ON u.id = ws.user_id
JOIN account a ON a.id = ws.account_id
JOIN membership m ON m.user_id = u.id AND m.account_id = a.id AND m.status = 'active'
WHERE ws.id_hash = $1 AND ws.kind = 'customer' AND ws.expires_at > $2`
	insertCustomerSessionSQL = `
INSERT INTO web_session (id_hash, kind, user_id, account_id, created_at, expires_at, ip, user_agent)
VALUES ($1, 'customer', $2, $3, $4, $5, $6, $7)`
	deleteSessionSQL        = `DELETE FROM web_session WHERE id_hash = $1`
	deleteExpiredSessionSQL = `DELETE FROM web_session WHERE expires_at < $1`
)

// CreateCustomerSession starts a session and returns the token for the
// cookie. Only the token's hash is stored.
func (s *Store) CreateCustomerSession(ctx context.Context, l Login) (string, error) {
	token, hash, err := newToken()
	if err != nil {
		return "", err
	}
	now := s.Now()
	ua := l.UserAgent
	if len(ua) > 300 {
		ua = ua[:300]
	}
	_, err = s.db.ExecContext(ctx, insertCustomerSessionSQL, hash, l.UserID, l.AccountID, now, now.Add(sessionLifetime), l.IP, ua)
	if err == nil {
		_, err = s.db.ExecContext(ctx, deleteExpiredSessionSQL, now)
	}
	return token, err
}

// CustomerSession resolves a cookie's token; ErrNotFound when it is
// unknown, expired, or the membership is no longer active.
func (s *Store) CustomerSession(ctx context.Context, token string) (Session, error) {
	var sess Session
	err := s.getPrepared(ctx, &sess, customerSessionSQL, hashToken(token), s.Now())
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	return sess, err
}

// DeleteSession ends one session (logout).
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	_, err := s.db.ExecContext(ctx, deleteSessionSQL, hashToken(token))
	return err
}

func newToken() (token string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token), nil
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// itoa formats ids for audit targets.
func itoa(id int64) string { return strconv.FormatInt(id, 10) }
