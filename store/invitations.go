package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/crypto/bcrypt"

	"github.com/entitle-dev/entitle/licensing"
)

// InvitationLifetime is how long an invitation link works.
const InvitationLifetime = 7 * 24 * time.Hour

// MinPasswordLength is the shortest password a new member may choose.
const MinPasswordLength = licensing.MinPasswordLength

// Per-address answers to an invitation (stable strings the portal shows).
const (
	InviteSent          = "invited"
	InviteResent        = "reinvited" // was pending: a new link replaces the old one
	InviteAlreadyMember = "already_member"
)

// InviteRequest is one submission of the invite form.
type InviteRequest struct {
	Addresses string         // one or many, as pasted
	Role      licensing.Role // the role every invited person gets
	BaseURL   string         // the portal's public URL, for the link in the mail
}

// InviteResult answers for one address: InviteSent, InviteResent,
// InviteAlreadyMember, or a licensing address problem (malformed,
// duplicate, domain_not_allowed).
type InviteResult struct {
	Input        string
	Email        string
	Outcome      string
	MembershipID int64
}

const (
	inviteAccountSQL = `SELECT name, invite_domains FROM account WHERE id = $1`
	userByEmailSQL   = `SELECT id FROM app_user WHERE lower(email) = lower($1)`
	newUserSQL       = `INSERT INTO app_user (email, created_at) VALUES ($1, $2) RETURNING id`
	memberOfUserSQL  = `
SELECT m.id, m.user_id, u.email, m.role, m.status
FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = $1 AND m.user_id = $2 FOR UPDATE OF m`
	newMemberSQL = `
INSERT INTO membership (account_id, user_id, role, status, source, created_at)
VALUES ($1, $2, $3, 'invited', 'manual', $4) RETURNING id`
	reinviteSQL      = `UPDATE membership SET status = 'invited', role = $3 WHERE account_id = $1 AND id = $2`
	newInvitationSQL = `
INSERT INTO invitation (account_id, membership_id, token_hash, invited_by, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6)`
)

// Invite invites every address in req.Addresses with req.Role and answers
// per address. Each invitation is a single-use link that expires after
// InvitationLifetime; its mail goes to the outbox in the same transaction.
// Inviting someone already invited sends a new link (the old one stops
// working); someone removed earlier is invited again.
func (s *Store) Invite(ctx context.Context, p Principal, req InviteRequest) ([]InviteResult, error) {
	now := s.Now()
	var results []InviteResult
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		results = nil
		if err := lockMembers(ctx, tx, p.AccountID); err != nil {
			return err
		}
		actorRole, err := authorize(ctx, tx, p, licensing.InviteMembers)
		if err != nil {
			return err
		}
		if !req.Role.Valid() {
			return Invalid("role", "choose one of owner, admin, billing or member")
		}
		if !licensing.CanInviteAs(actorRole, req.Role) {
			return ErrForbidden
		}
		var acct struct {
			Name    string         `db:"name"`
			Domains pq.StringArray `db:"invite_domains"`
		}
		if err := tx.GetContext(ctx, &acct, inviteAccountSQL, p.AccountID); err != nil {
			return err
		}
		lines, err := licensing.ParseInviteList(req.Addresses, acct.Domains)
		if err != nil {
			return Invalid("emails", err.Error())
		}
		if len(lines) == 0 {
			return Invalid("emails", "enter at least one email address")
		}
		for _, l := range lines {
			r := InviteResult{Input: l.Input, Email: l.Email, Outcome: l.Problem}
			if l.Problem == "" {
				r.Outcome, r.MembershipID, err = s.inviteOne(ctx, tx, now, p.inviter(), acct.Name, l.Email, req)
				if err != nil {
					return fmt.Errorf("invite %s: %w", l.Email, err)
				}
			}
			results = append(results, r)
		}
		return nil
	})
	return results, err
}

// inviter is who sends an invitation: a member (Principal), or the vendor
// creating an account for its first owner (no user of the account).
type inviter struct {
	AccountID int64
	UserID    int64 // 0: not a user of the account
	Name      string
	Actor     Actor
}

func (p Principal) inviter() inviter {
	return inviter{AccountID: p.AccountID, UserID: p.UserID, Name: p.Email, Actor: p.actor()}
}

func (s *Store) inviteOne(ctx context.Context, tx *sqlx.Tx, now time.Time, p inviter, accountName, email string, req InviteRequest) (string, int64, error) {
	var userID int64
	err := tx.GetContext(ctx, &userID, userByEmailSQL, email)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.GetContext(ctx, &userID, newUserSQL, email, now)
	}
	if err != nil {
		return "", 0, err
	}
	var m member
	outcome, role := InviteSent, string(req.Role)
	err = tx.GetContext(ctx, &m, memberOfUserSQL, p.AccountID, userID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if err := tx.GetContext(ctx, &m.ID, newMemberSQL, p.AccountID, userID, role, now); err != nil {
			return "", 0, err
		}
	case err != nil:
		return "", 0, err
	case m.Status == "active":
		return InviteAlreadyMember, m.ID, nil
	case m.Status == "invited":
		outcome, role = InviteResent, m.Role // a new link; the role stays what it was
	default: // deactivated: invited again, with the role asked for now
		if _, err := tx.ExecContext(ctx, reinviteSQL, p.AccountID, m.ID, role); err != nil {
			return "", 0, err
		}
	}
	if _, err := tx.ExecContext(ctx, revokeInvSQL, p.AccountID, m.ID, now); err != nil {
		return "", 0, err
	}
	token, hash, err := newToken()
	if err != nil {
		return "", 0, err
	}
	expires := now.Add(InvitationLifetime)
	if _, err := tx.ExecContext(ctx, newInvitationSQL, p.AccountID, m.ID, hash, sql.NullInt64{Int64: p.UserID, Valid: p.UserID != 0}, now, expires); err != nil {
		return "", 0, err
	}
	link := strings.TrimRight(req.BaseURL, "/") + "/invitations/" + token
	if err := enqueueMail(ctx, tx, now, p.AccountID, Mail{Kind: "invitation", To: email,
		Subject: fmt.Sprintf("%s invited you to %s on Entitle", p.Name, accountName),
		Body: fmt.Sprintf("%s invited you to join %s on Entitle as %s.\n\nAccept the invitation here (the link works once, until %s):\n%s\n\nIf you did not expect this, ignore this mail.\n",
			p.Name, accountName, role, expires.Format("2 Jan 2006 15:04 MST"), link)}); err != nil {
		return "", 0, err
	}
	return outcome, m.ID, audit(ctx, tx, now, AuditEvent{AccountID: p.AccountID, Actor: p.Actor, Action: "member.invite",
		TargetType: "membership", TargetID: itoa(m.ID),
		After: map[string]any{"email": email, "role": role, "resent": outcome == InviteResent, "expires_at": expires}})
}

// Invitation is an open invitation as its link shows it.
type Invitation struct {
	ID           int64     `db:"id"`
	AccountID    int64     `db:"account_id"`
	AccountName  string    `db:"account_name"`
	MembershipID int64     `db:"membership_id"`
	Role         string    `db:"role"`
	UserID       int64     `db:"user_id"`
	Email        string    `db:"email"`
	Name         string    `db:"name"`
	PasswordHash string    `db:"password_hash"`
	ExpiresAt    time.Time `db:"expires_at"`
}

// HasLogin tells whether the invited person already has a password (from
// another account), so that accepting asks for it instead of a new one.
func (i Invitation) HasLogin() bool { return i.PasswordHash != "" }

const invitationSQL = `
SELECT i.id, i.account_id, a.name AS account_name, i.membership_id, m.role, u.id AS user_id, u.email, u.name,
       u.password_hash, i.expires_at
FROM invitation i
JOIN membership m ON m.account_id = i.account_id AND m.id = i.membership_id
JOIN app_user u ON u.id = m.user_id
JOIN account a ON a.id = i.account_id
WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2
  AND m.status = 'invited'`

// InvitationByToken finds the open invitation a link names;
// ErrInvitationInvalid when it is unknown, used, replaced or expired.
func (s *Store) InvitationByToken(ctx context.Context, token string) (Invitation, error) {
	var inv Invitation
	err := s.db.GetContext(ctx, &inv, invitationSQL, hashToken(token), s.Now())
	if errors.Is(err, sql.ErrNoRows) {
		return Invitation{}, ErrInvitationInvalid
	}
	return inv, err
}

// AcceptRequest is the accept form: a new member chooses a name and a
// password; someone who already has a login gives their password.
type AcceptRequest struct {
	Token    string
	Name     string
	Password string
}

const (
	setUserSQL    = `UPDATE app_user SET name = $2, password_hash = $3 WHERE id = $1`
	activateSQL   = `UPDATE membership SET status = 'active', last_sign_in_at = $3 WHERE account_id = $1 AND id = $2`
	useInvSQL     = `UPDATE invitation SET used_at = $2 WHERE id = $1`
	autoAssignSQL = `SELECT id FROM subscription WHERE account_id = $1 AND auto_assign ORDER BY id`
)

// AcceptInvitation uses an invitation once: it sets the new member's name
// and password (or checks an existing login's password), activates the
// membership and, for every subscription with auto-assign on, gives the
// member a free seat if one is left. It returns the login to start a
// session with.
func (s *Store) AcceptInvitation(ctx context.Context, req AcceptRequest) (Login, error) {
	now := s.Now()
	name := strings.TrimSpace(req.Name)
	var login Login
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var inv Invitation
		err := tx.GetContext(ctx, &inv, invitationSQL+` FOR UPDATE OF i, m`, hashToken(req.Token), now)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrInvitationInvalid
		}
		if err != nil {
			return err
		}
		if inv.HasLogin() {
			if bcrypt.CompareHashAndPassword([]byte(inv.PasswordHash), []byte(req.Password)) != nil {
				return Invalid("password", "that is not the password of your Entitle login "+inv.Email)
			}
			name = inv.Name
		} else {
			if fields := licensing.NewPersonProblems(name, true, req.Password); len(fields) > 0 {
				return &ValidationError{Fields: fields}
			}
			hash, err := HashPassword(req.Password)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, setUserSQL, inv.UserID, name, hash); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, activateSQL, inv.AccountID, inv.MembershipID, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, useInvSQL, inv.ID, now); err != nil {
			return err
		}
		actor := Actor{Type: "user", ID: itoa(inv.UserID), Label: inv.Email}
		if err := audit(ctx, tx, now, AuditEvent{AccountID: inv.AccountID, Actor: actor, Action: "member.accept",
			TargetType: "membership", TargetID: itoa(inv.MembershipID),
			Before: map[string]any{"status": "invited"}, After: map[string]any{"email": inv.Email, "name": name, "role": inv.Role, "status": "active"}}); err != nil {
			return err
		}
		var subs []int64
		if err := tx.SelectContext(ctx, &subs, autoAssignSQL, inv.AccountID); err != nil {
			return err
		}
		for _, sub := range subs {
			if _, err := assignLocked(ctx, tx, now, inv.AccountID, SystemActor("auto-assign"), sub,
				[]seatTarget{{MembershipID: inv.MembershipID, Email: inv.Email}}, true); err != nil {
				return err
			}
		}
		login = Login{UserID: inv.UserID, AccountID: inv.AccountID, MembershipID: inv.MembershipID}
		return nil
	})
	return login, err
}
