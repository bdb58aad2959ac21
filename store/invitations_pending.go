package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/entitle-dev/entitle/licensing"
)

// PendingInvitation is an invited person who has not joined yet, with their
// latest link.
type PendingInvitation struct {
	MembershipID int64     `db:"membership_id"`
	Email        string    `db:"email"`
	Role         string    `db:"role"`
	SentAt       time.Time `db:"sent_at"`
	ExpiresAt    time.Time `db:"expires_at"`
}

// pendingInvitationsLimit bounds the list the members page shows.
const pendingInvitationsLimit = 200

// pendingInvitationsSQL picks the first page of invited people by address
// before it looks up their latest links, so that an account with thousands
// of open invitations reads the invitation table for the shown rows only;
// each address is read by its user's key, so the cost follows the
// account's invitations, not every user of every account.
const pendingInvitationsSQL = `
WITH shown AS (
  SELECT m.id, m.account_id, m.role, m.created_at, u.email
  FROM membership m
  CROSS JOIN LATERAL (SELECT email FROM app_user WHERE id = m.user_id LIMIT 1) u
  WHERE m.account_id = $1 AND m.status = 'invited' AND m.source = 'manual'
  ORDER BY lower(u.email)
  LIMIT $2)
SELECT m.id AS membership_id, m.email, m.role,
       COALESCE(i.created_at, m.created_at) AS sent_at, COALESCE(i.expires_at, m.created_at) AS expires_at
FROM shown m
LEFT JOIN LATERAL (
  SELECT created_at, expires_at FROM invitation
  WHERE account_id = m.account_id AND membership_id = m.id AND used_at IS NULL AND revoked_at IS NULL
  ORDER BY created_at DESC LIMIT 1) i ON true
ORDER BY lower(m.email)`

const accountNameSQL = `SELECT name FROM account WHERE id = $1`

// PendingInvitations lists the account's invitations nobody has accepted
// yet, by address.
func (s *Store) PendingInvitations(ctx context.Context, accountID int64) ([]PendingInvitation, error) {
	var out []PendingInvitation
	err := s.db.SelectContext(ctx, &out, pendingInvitationsSQL, accountID, pendingInvitationsLimit)
	return out, err
}

// ResendInvitations sends every named pending invitation again: each gets a
// new link (the old one stops working), its mail goes to the outbox, and the
// resend is audited, all in one transaction. A membership of another
// account, or one that is not a pending invitation, is ErrNotFound and
// nothing is sent. It answers the addresses, in the order asked.
func (s *Store) ResendInvitations(ctx context.Context, p Principal, membershipIDs []int64, baseURL string) ([]string, error) {
	now := s.Now()
	var emails []string
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		emails = nil
		actorRole, err := s.lockPending(ctx, tx, p)
		if err != nil {
			return err
		}
		var accountName string
		if err := tx.GetContext(ctx, &accountName, accountNameSQL, p.AccountID); err != nil {
			return err
		}
		for _, id := range membershipIDs {
			m, err := lockPendingMember(ctx, tx, p.AccountID, id)
			if err != nil {
				return err
			}
			if !licensing.CanInviteAs(actorRole, licensing.Role(m.Role)) {
				return ErrForbidden
			}
			if _, _, err := s.inviteOne(ctx, tx, now, p.inviter(), accountName, m.Email,
				InviteRequest{Role: licensing.Role(m.Role), BaseURL: baseURL}); err != nil {
				return err
			}
			emails = append(emails, m.Email)
		}
		return nil
	})
	return emails, err
}

// RevokeInvitations withdraws every named pending invitation: its link stops
// working and the person is no longer listed as invited (they show as
// removed), each audited, in one transaction. Errors as ResendInvitations.
func (s *Store) RevokeInvitations(ctx context.Context, p Principal, membershipIDs []int64) ([]string, error) {
	now := s.Now()
	var emails []string
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		emails = nil
		actorRole, err := s.lockPending(ctx, tx, p)
		if err != nil {
			return err
		}
		for _, id := range membershipIDs {
			m, err := lockPendingMember(ctx, tx, p.AccountID, id)
			if err != nil {
				return err
			}
			if !licensing.CanRemove(actorRole, licensing.Role(m.Role)) {
				return ErrForbidden
			}
			if _, err := tx.ExecContext(ctx, deactivateSQL, p.AccountID, m.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, revokeInvSQL, p.AccountID, m.ID, now); err != nil {
				return err
			}
			if err := audit(ctx, tx, now, AuditEvent{AccountID: p.AccountID, Actor: p.actor(), Action: "member.invite_revoke",
				TargetType: "membership", TargetID: itoa(m.ID),
				Before: map[string]any{"email": m.Email, "role": m.Role, "status": "invited"},
				After:  map[string]any{"email": m.Email, "role": m.Role, "status": "deactivated"}}); err != nil {
				return err
			}
			emails = append(emails, m.Email)
		}
		return nil
	})
	return emails, err
}

// lockPending takes the account's member lock and checks the principal may
// manage invitations; it answers the principal's role.
func (s *Store) lockPending(ctx context.Context, tx *sqlx.Tx, p Principal) (licensing.Role, error) {
	if err := lockMembers(ctx, tx, p.AccountID); err != nil {
		return "", err
	}
	return authorize(ctx, tx, p, licensing.InviteMembers)
}

// lockPendingMember locks a membership that is a pending invitation the
// portal manages; anything else is ErrNotFound.
func lockPendingMember(ctx context.Context, tx *sqlx.Tx, accountID, membershipID int64) (member, error) {
	m, err := lockMember(ctx, tx, accountID, membershipID)
	if err != nil {
		return member{}, err
	}
	if m.Status != "invited" || m.Source == "scim" {
		return member{}, ErrNotFound
	}
	return m, nil
}
