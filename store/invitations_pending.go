package store

import (
	"context"
	"fmt"
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

// PendingShown is how many pending invitations the members page shows
// before "Show all": an account that invites in bulk has hundreds open, and
// every one of them would make the page several times heavier than its
// table of members.
const PendingShown = 10

// pendingInvitationsSQL picks the latest invited people (by when they were
// invited: a resend keeps a person's place) before it looks up their
// addresses and latest links, so that the page reads one range of
// membership_pending_recent_idx and the user and invitation rows of the
// shown people only; %s is its LIMIT clause, or nothing to show all of them.
// The count of every pending invitation rides along in each row, saving
// the page a round trip. Both forms are prepared, so a page load does not
// plan them again. The limit is written into the text, not passed as a
// value: PostgreSQL estimates a LIMIT it cannot see as a tenth of the rows,
// so its kept plan would look dearer than a fresh one, and it would plan
// the statement again on every call.
const pendingInvitationsSQL = `
WITH shown AS (
  SELECT m.id, m.account_id, m.user_id, m.role, m.created_at
  FROM membership m
  WHERE m.account_id = $1 AND m.status = 'invited' AND m.source = 'manual'
  ORDER BY m.created_at DESC, m.id DESC%s)
SELECT m.id AS membership_id, u.email, m.role,
       COALESCE(i.created_at, m.created_at) AS sent_at, COALESCE(i.expires_at, m.created_at) AS expires_at,
       (SELECT count(*) FROM membership c
         WHERE c.account_id = $1 AND c.status = 'invited' AND c.source = 'manual') AS total
FROM shown m
JOIN app_user u ON u.id = m.user_id
LEFT JOIN LATERAL (
  SELECT created_at, expires_at FROM invitation
  WHERE account_id = m.account_id AND membership_id = m.id AND used_at IS NULL AND revoked_at IS NULL
  ORDER BY created_at DESC LIMIT 1) i ON true
ORDER BY m.created_at DESC, m.id DESC`

var (
	pendingLatestSQL = fmt.Sprintf(pendingInvitationsSQL, fmt.Sprintf("\n  LIMIT %d", PendingShown))
	pendingAllSQL    = fmt.Sprintf(pendingInvitationsSQL, "")
)

const accountNameSQL = `SELECT name FROM account WHERE id = $1`

// PendingInvitations lists the account's invitations nobody has accepted
// yet, latest first: the latest PendingShown of them, or every one when
// all is set, and how many there are in all.
func (s *Store) PendingInvitations(ctx context.Context, accountID int64, all bool) ([]PendingInvitation, int, error) {
	query := pendingLatestSQL
	if all {
		query = pendingAllSQL
	}
	var rows []struct {
		PendingInvitation
		Total int `db:"total"`
	}
	if err := s.selectPrepared(ctx, &rows, query, accountID); err != nil {
		return nil, 0, err
	}
	out := make([]PendingInvitation, len(rows))
	total := 0
	for i, r := range rows {
		out[i], total = r.PendingInvitation, r.Total
	}
	return out, total, nil
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
