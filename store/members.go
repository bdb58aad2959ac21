package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// Principal is a signed-in member acting on their own account. Every store
// method that changes an account takes one and checks, inside its
// transaction and against the membership as it is at that moment, that the
// member's role allows the action (licensing.Can), so a role taken away a
// second ago no longer counts.
type Principal struct {
	AccountID    int64
	MembershipID int64
	UserID       int64
	Email        string
	Impersonator string // the staff member acting as this member, if any
}

// Principal is the session's member as an actor.
func (s Session) Principal() Principal {
	return Principal{AccountID: s.AccountID, MembershipID: s.MembershipID, UserID: s.UserID, Email: s.Email}
}

func (p Principal) actor() Actor {
	return Actor{Type: "user", ID: itoa(p.UserID), Label: p.Email, Impersonator: p.Impersonator}
}

// memberLockClass is the first key of the advisory lock that serialises
// membership changes (invite, role, removal) in one account, so that rules
// spanning rows, such as "the last owner stays", hold without deadlocks.
const memberLockClass = 0x4D42 // "MB"

const (
	lockMembersSQL = `SELECT pg_advisory_xact_lock($1, $2::int)`
	actorRoleSQL   = `
SELECT role FROM membership WHERE id = $1 AND account_id = $2 AND status = 'active' FOR SHARE`
)

// authorize locks the acting member's row (so that it is not removed or
// demoted before tx ends) and checks that its role allows action.
func authorize(ctx context.Context, tx *sqlx.Tx, p Principal, action licensing.Action) (licensing.Role, error) {
	var role string
	err := tx.GetContext(ctx, &role, actorRoleSQL, p.MembershipID, p.AccountID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrForbidden
	}
	if err != nil {
		return "", err
	}
	if !licensing.Can(licensing.Role(role), action) {
		return "", ErrForbidden
	}
	return licensing.Role(role), nil
}

func lockMembers(ctx context.Context, tx *sqlx.Tx, accountID int64) error {
	_, err := tx.ExecContext(ctx, lockMembersSQL, memberLockClass, accountID)
	return err
}

// member is a membership row as the changing methods read it, locked.
type member struct {
	ID     int64  `db:"id"`
	UserID int64  `db:"user_id"`
	Email  string `db:"email"`
	Role   string `db:"role"`
	Status string `db:"status"`
	Source string `db:"source"` // scim: the identity provider manages it
}

const (
	lockMemberSQL = `
SELECT m.id, m.user_id, u.email, m.role, m.status, m.source
FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = $1 AND m.id = $2 FOR UPDATE OF m`
	otherOwnersSQL = `
SELECT count(*) FROM membership WHERE account_id = $1 AND id <> $2 AND role = 'owner' AND status = 'active'`
	updateRoleSQL = `UPDATE membership SET role = $3 WHERE account_id = $1 AND id = $2`
)

func lockMember(ctx context.Context, tx *sqlx.Tx, accountID, membershipID int64) (member, error) {
	var m member
	err := tx.GetContext(ctx, &m, lockMemberSQL, accountID, membershipID)
	if errors.Is(err, sql.ErrNoRows) {
		return member{}, ErrNotFound
	}
	return m, err
}

// keepsAnOwner refuses a change that takes the owner role or the membership
// away from the account's last active owner.
func keepsAnOwner(ctx context.Context, tx *sqlx.Tx, accountID int64, m member) error {
	if m.Role != string(licensing.Owner) || m.Status != "active" {
		return nil
	}
	var others int
	if err := tx.GetContext(ctx, &others, otherOwnersSQL, accountID, m.ID); err != nil {
		return err
	}
	if others == 0 {
		return ErrLastOwner
	}
	return nil
}

// ChangeRole gives a member another role. Only owners give or take the owner
// role, and the last active owner keeps it.
func (s *Store) ChangeRole(ctx context.Context, p Principal, membershipID int64, role licensing.Role) error {
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := lockMembers(ctx, tx, p.AccountID); err != nil {
			return err
		}
		actorRole, err := authorize(ctx, tx, p, licensing.ChangeRoles)
		if err != nil {
			return err
		}
		if !role.Valid() {
			return Invalid("role", "choose one of owner, admin, billing or member")
		}
		m, err := lockMember(ctx, tx, p.AccountID, membershipID)
		if err != nil {
			return err
		}
		if m.Status == "deactivated" {
			return ErrNotFound
		}
		if m.Source == "scim" { // provisioning: the rules give roles
			return ErrManagedByIdP
		}
		if !licensing.CanChangeRole(actorRole, licensing.Role(m.Role), role) {
			return ErrForbidden
		}
		if m.Role == string(role) {
			return nil
		}
		if role != licensing.Owner {
			if err := keepsAnOwner(ctx, tx, p.AccountID, m); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, updateRoleSQL, p.AccountID, m.ID, string(role)); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: p.AccountID, Actor: p.actor(), Action: "member.role",
			TargetType: "membership", TargetID: itoa(m.ID),
			Before: map[string]any{"email": m.Email, "role": m.Role}, After: map[string]any{"email": m.Email, "role": role}})
	})
}

const (
	deactivateSQL  = `UPDATE membership SET status = 'deactivated' WHERE account_id = $1 AND id = $2`
	freeSeatsSQL   = `DELETE FROM seat_assignment WHERE account_id = $1 AND membership_id = $2 RETURNING subscription_id`
	revokeInvSQL   = `UPDATE invitation SET revoked_at = $3 WHERE account_id = $1 AND membership_id = $2 AND used_at IS NULL AND revoked_at IS NULL`
	endSessionsSQL = `DELETE FROM web_session WHERE kind = 'customer' AND account_id = $1 AND user_id = $2`
)

// RemoveMember deactivates a membership (pending invitations included): in
// one transaction its seats are freed, its open invitations revoked and its
// sessions deleted, so the person's next request lands on the login page.
// Only owners remove owners, and never the last active one. Removing someone
// already removed changes nothing.
func (s *Store) RemoveMember(ctx context.Context, p Principal, membershipID int64) error {
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := lockMembers(ctx, tx, p.AccountID); err != nil {
			return err
		}
		actorRole, err := authorize(ctx, tx, p, licensing.RemoveMembers)
		if err != nil {
			return err
		}
		m, err := lockMember(ctx, tx, p.AccountID, membershipID)
		if err != nil {
			return err
		}
		if !licensing.CanRemove(actorRole, licensing.Role(m.Role)) {
			return ErrForbidden
		}
		if m.Status == "deactivated" {
			return nil
		}
		if m.Source == "scim" { // provisioning: deactivate them in the identity provider
			return ErrManagedByIdP
		}
		if err := keepsAnOwner(ctx, tx, p.AccountID, m); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, deactivateSQL, p.AccountID, m.ID); err != nil {
			return err
		}
		var freed []int64
		if err := tx.SelectContext(ctx, &freed, freeSeatsSQL, p.AccountID, m.ID); err != nil {
			return err
		}
		for _, sub := range freed {
			if err := audit(ctx, tx, now, AuditEvent{AccountID: p.AccountID, Actor: p.actor(), Action: "seat.unassign",
				TargetType: "membership", TargetID: itoa(m.ID),
				Before: map[string]any{"email": m.Email, "subscription": sub}, After: map[string]any{"cause": "member removed"}}); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, revokeInvSQL, p.AccountID, m.ID, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, endSessionsSQL, p.AccountID, m.UserID); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: p.AccountID, Actor: p.actor(), Action: "member.remove",
			TargetType: "membership", TargetID: itoa(m.ID),
			Before: map[string]any{"email": m.Email, "role": m.Role, "status": m.Status},
			After:  map[string]any{"email": m.Email, "status": "deactivated", "seats_freed": len(freed)}})
	})
}

const (
	inviteDomainsSQL    = `SELECT invite_domains FROM account WHERE id = $1`
	setInviteDomainsSQL = `UPDATE account SET invite_domains = $2 WHERE id = $1`
)

// InviteDomains is the account's invitation domain rules (empty: any).
// Prepared: the members page reads them on every load.
func (s *Store) InviteDomains(ctx context.Context, accountID int64) ([]string, error) {
	var d pq.StringArray
	err := s.getPrepared(ctx, &d, inviteDomainsSQL, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return d, err
}

// SetInviteDomains replaces the account's invitation domain rules with the
// domains listed in text (empty text: any address may be invited).
func (s *Store) SetInviteDomains(ctx context.Context, p Principal, text string) error {
	domains, perr := licensing.ParseDomains(text)
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := lockMembers(ctx, tx, p.AccountID); err != nil {
			return err
		}
		if _, err := authorize(ctx, tx, p, licensing.SetInviteDomains); err != nil {
			return err
		}
		if perr != nil {
			return Invalid("domains", perr.Error())
		}
		var before pq.StringArray
		if err := tx.GetContext(ctx, &before, inviteDomainsSQL, p.AccountID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, setInviteDomainsSQL, p.AccountID, pq.StringArray(domains)); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: p.AccountID, Actor: p.actor(), Action: "account.invite_domains",
			TargetType: "account", TargetID: itoa(p.AccountID),
			Before: map[string]any{"domains": []string(before)}, After: map[string]any{"domains": orEmpty(domains)}})
	})
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
