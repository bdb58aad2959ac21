package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/entitle-dev/entitle/licensing"
)

// SignupRequest is one submission of the sign-up form.
type SignupRequest struct {
	Email    string
	Name     string
	Password string
	Company  string
	Plan     string // a plan key of the catalog; empty: the free plan
	IP       string
	BaseURL  string // the portal's public URL, for the link in the mail
}

// signupPayload is what the verification link carries until it is used:
// the account is only created once the address is proven.
type signupPayload struct {
	Name         string `json:"name"`
	Company      string `json:"company"`
	Plan         string `json:"plan"`
	PasswordHash string `json:"password_hash"`
}

const (
	userLoginByEmailSQL = `SELECT id, email, name, password_hash FROM app_user WHERE lower(email) = lower($1)`
	planExistsSQL       = `SELECT EXISTS (SELECT 1 FROM plan WHERE key = $1)`
	recordAttemptSQL    = `INSERT INTO login_failure (key, failed_at) VALUES ($1, $2)`
)

// RequestSignup checks the form and mails a verification link. The answer
// is the same whether or not the address already has a login: a known
// address is mailed "you already have an account" instead, so the form
// never tells who is a customer. Throttled per address and per IP.
func (s *Store) RequestSignup(ctx context.Context, req SignupRequest) error {
	email, problem := licensing.SignupEmailProblem(req.Email)
	fields := licensing.NewPersonProblems(req.Name, true, req.Password)
	if problem != "" {
		fields["email"] = problem
	}
	if p := licensing.CompanyProblem(req.Company); p != "" {
		fields["company"] = p
	}
	if req.Plan != "" {
		var ok bool
		if err := s.db.GetContext(ctx, &ok, planExistsSQL, req.Plan); err != nil {
			return err
		}
		if !ok {
			fields["plan"] = "choose a plan from the pricing page"
		}
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	if err := s.countAttempt(ctx, mailThrottle("signup", email, req.IP)); err != nil {
		return err
	}
	// Hashing happens for known and unknown addresses alike, so both take
	// the same time.
	hash, err := HashPassword(req.Password)
	if err != nil {
		return err
	}
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var u personRow
		err := tx.GetContext(ctx, &u, userLoginByEmailSQL, email)
		switch {
		case err == nil && u.PasswordHash != "":
			return enqueuePersonalMail(ctx, tx, now, Mail{Kind: "signup_existing", To: email,
				Subject: "You already have an Entitle account",
				Body: fmt.Sprintf("Someone (probably you) tried to sign up to Entitle with %s, which already has a login.\n\n"+
					"Sign in here: %s\nForgot your password? Reset it here: %s\n\nIf this was not you, ignore this mail: nothing was changed.\n",
					email, linkURL(req.BaseURL, "/login"), linkURL(req.BaseURL, "/password/forgot"))})
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		payload, _ := json.Marshal(signupPayload{Name: strings.TrimSpace(req.Name), Company: strings.TrimSpace(req.Company),
			Plan: req.Plan, PasswordHash: hash})
		token, expires, err := issueLink(ctx, tx, now, emailToken{Purpose: PurposeSignup, Email: email, Payload: payload}, SignupLinkLifetime)
		if err != nil {
			return err
		}
		return enqueuePersonalMail(ctx, tx, now, Mail{Kind: "signup_verify", To: email,
			Subject: "Confirm your email to create your Entitle account",
			Body: fmt.Sprintf("Welcome to Entitle. Confirm %s to create the account for %s (the link works once, until %s):\n%s\n\n"+
				"If you did not sign up, ignore this mail: no account is created.\n",
				email, strings.TrimSpace(req.Company), expires.Format("2 Jan 2006 15:04 MST"),
				linkURL(req.BaseURL, "/signup/verify/"+token))})
	})
}

// personRow is a login as sign-up and reset read it.
type personRow struct {
	ID           int64  `db:"id"`
	Email        string `db:"email"`
	Name         string `db:"name"`
	PasswordHash string `db:"password_hash"`
}

// PendingSignup is what a verification link's page shows.
type PendingSignup struct {
	Email   string
	Company string
	Plan    string
}

// SignupByToken reads an open verification link; ErrLinkInvalid when it is
// unknown, used or expired.
func (s *Store) SignupByToken(ctx context.Context, token string) (PendingSignup, error) {
	t, err := s.openLink(ctx, PurposeSignup, token)
	if err != nil {
		return PendingSignup{}, err
	}
	var p signupPayload
	if err := json.Unmarshal(t.Payload, &p); err != nil {
		return PendingSignup{}, err
	}
	return PendingSignup{Email: t.Email, Company: p.Company, Plan: p.Plan}, nil
}

// SignedUp is a completed sign-up: the login to start a session with and
// the plan the person chose.
type SignedUp struct {
	Login
	AccountSlug string
	Plan        string
}

const (
	insertPersonSQL = `INSERT INTO app_user (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id`
	// Slugs are chosen one sign-up at a time, so that two sign-ups for the
	// same company cannot both take the same free slug.
	lockSlugsSQL   = `SELECT pg_advisory_xact_lock(hashtext('account-slug'))`
	insertOwnerSQL = `
INSERT INTO membership (account_id, user_id, role, status, source, last_sign_in_at, created_at)
VALUES ($1, $2, 'owner', 'active', 'manual', $3, $3) RETURNING id`
	insertSignupSeatSQL = `INSERT INTO signup_seat (account_id, membership_id) VALUES ($1, $2)`
	takeSignupSeatSQL   = `DELETE FROM signup_seat WHERE account_id = $1 RETURNING membership_id`
)

// CompleteSignup uses a verification link once: the person gets their
// login (name and password as chosen on the form), a new account named for
// their company with a unique slug, and its owner membership. The plan is
// started by the caller through billing (free at once, a trial without a
// card, or checkout); until then the account has no subscription, and the
// owner is kept as the one to get a seat of the first (giveSignupSeat).
func (s *Store) CompleteSignup(ctx context.Context, token string) (SignedUp, error) {
	now := s.Now()
	var out SignedUp
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		t, err := useLink(ctx, tx, now, PurposeSignup, token)
		if err != nil {
			return err
		}
		var p signupPayload
		if err := json.Unmarshal(t.Payload, &p); err != nil {
			return err
		}
		userID, err := upsertPerson(ctx, tx, now, t.Email, p.Name, p.PasswordHash)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, lockSlugsSQL); err != nil {
			return err
		}
		slug, err := freeSlug(ctx, tx, p.Company)
		if err != nil {
			return err
		}
		var accountID int64
		if err := tx.GetContext(ctx, &accountID, insertAccountSQL, slug, p.Company, sql.NullString{}, now); err != nil {
			return err
		}
		var membershipID int64
		if err := tx.GetContext(ctx, &membershipID, insertOwnerSQL, accountID, userID, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, insertSignupSeatSQL, accountID, membershipID); err != nil {
			return err
		}
		actor := Actor{Type: "user", ID: itoa(userID), Label: t.Email}
		if err := audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "account.signup",
			TargetType: "account", TargetID: slug,
			After: map[string]any{"name": p.Company, "slug": slug, "owner": t.Email, "plan": p.Plan}}); err != nil {
			return err
		}
		out = SignedUp{Login: Login{UserID: userID, AccountID: accountID, MembershipID: membershipID},
			AccountSlug: slug, Plan: p.Plan}
		return nil
	})
	return out, err
}

// giveSignupSeat gives the owner of an account made by sign-up a seat of
// subscription subID, the account's first plan with seats, as billing's
// events make it: the one who signed up is the person who will use the
// plan, and should not have to assign themselves a seat first. The
// transaction that inserts a seat-based subscription or moves one to a
// seat-based plan calls it, and it is audited there like any seat given:
// the mark waits for a plan with seats, so one who signed up for Free and
// upgrades to Team gets their seat then. Accounts the vendor creates have
// no mark, and get no seat.
func giveSignupSeat(ctx context.Context, tx *sqlx.Tx, now time.Time, accountID, subID int64) error {
	var membershipID int64
	err := tx.GetContext(ctx, &membershipID, takeSignupSeatSQL, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	targets, err := targetsByID(ctx, tx, accountID, []int64{membershipID})
	if errors.Is(err, ErrNotFound) {
		return nil // the owner has left the account since
	}
	if err != nil {
		return err
	}
	_, err = assignLocked(ctx, tx, now, accountID, SystemActor("sign-up"), subID, targets, true)
	return err
}

// upsertPerson makes the login for email, or sets the name and password
// of one that exists without a password yet (invited, never accepted).
func upsertPerson(ctx context.Context, tx *sqlx.Tx, now time.Time, email, name, hash string) (int64, error) {
	var u personRow
	err := tx.GetContext(ctx, &u, userLoginByEmailSQL+` FOR UPDATE`, email)
	if errors.Is(err, sql.ErrNoRows) {
		var id int64
		return id, tx.GetContext(ctx, &id, insertPersonSQL, email, name, hash, now)
	}
	if err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, setUserSQL, u.ID, name, hash)
	return u.ID, err
}

// enqueuePersonalMail queues a mail to a person rather than to an account
// (sign-up, password reset, staff links).
func enqueuePersonalMail(ctx context.Context, tx *sqlx.Tx, now time.Time, m Mail) error {
	_, err := tx.ExecContext(ctx, enqueueMailSQL, nil, m.Kind, m.To, m.Subject, m.Body, now)
	return err
}
