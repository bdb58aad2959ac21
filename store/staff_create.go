package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// StaffRoles are the console's roles, least powerful first.
var StaffRoles = []string{"support", "operator", "support_admin", "admin"}

// ValidStaffRole tells whether role is one of StaffRoles.
func ValidStaffRole(role string) bool {
	_, ok := staffRoleCapabilities[role]
	return ok
}

// StaffNeedsTwoFactor tells whether a role must sign in with TOTP: the
// roles that can write into customer accounts.
func StaffNeedsTwoFactor(role string) bool { return StaffCan(role, CanImpersonateWrite) }

// NewStaff is a staff member to create: from `entitle staff create` (the
// first admin of a fresh install) or invited from /admin/staff.
type NewStaff struct {
	Email   string
	Name    string
	Role    string
	BaseURL string // the portal's public URL, for the set-password link
}

const (
	insertNewStaffSQL = `INSERT INTO staff_user (email, name, role, created_at) VALUES ($1, $2, $3, $4) RETURNING id`
	staffRoleSQL      = `UPDATE staff_user SET role = $2 WHERE id = $1`
	staffPasswordSQL  = `UPDATE staff_user SET password_hash = $2 WHERE id = $1 AND disabled_at IS NULL`
)

// CreateStaff creates a staff member without a password and returns the
// one-time link (also mailed through the outbox) where they choose it.
// Audited in the vendor's chain.
func (s *Store) CreateStaff(ctx context.Context, actor Actor, in NewStaff) (string, error) {
	email, ok := licensing.NormalizeEmail(in.Email)
	fields := map[string]string{}
	if !ok || len(email) > licensing.MaxEmailLength {
		fields["email"] = "enter one email address, like sam@example.com"
	}
	if !ValidStaffRole(in.Role) {
		fields["role"] = "choose one of " + strings.Join(StaffRoles, ", ")
	}
	if len(strings.TrimSpace(in.Name)) > licensing.MaxNameLength {
		fields["name"] = fmt.Sprintf("at most %d characters", licensing.MaxNameLength)
	}
	if len(fields) > 0 {
		return "", &ValidationError{Fields: fields}
	}
	now := s.Now()
	var link string
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, insertNewStaffSQL, email, strings.TrimSpace(in.Name), in.Role, now)
		var pqErr *pq.Error
		if errors.As(err, &pqErr) && pqErr.Code == "23505" {
			return Invalid("email", email+" already has a staff account")
		}
		if err != nil {
			return err
		}
		token, expires, err := issueLink(ctx, tx, now, emailToken{Purpose: PurposeStaffPassword, Email: email,
			StaffID: sql.NullInt64{Int64: id, Valid: true}}, StaffPasswordLinkLifetime)
		if err != nil {
			return err
		}
		link = linkURL(in.BaseURL, "/admin/password/"+token)
		if err := enqueuePersonalMail(ctx, tx, now, Mail{Kind: "staff_invitation", To: email,
			Subject: "Your Entitle console account",
			Body: fmt.Sprintf("You have a staff account (%s) on the Entitle console.\n\nChoose your password here (the link works once, until %s):\n%s\n",
				in.Role, expires.Format("2 Jan 2006 15:04 MST"), link)}); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{Actor: actor, Action: "staff.create", TargetType: "staff", TargetID: email,
			After: map[string]any{"role": in.Role, "name": strings.TrimSpace(in.Name)}})
	})
	return link, err
}

// StaffPasswordEmail is the address an open set-password link is for.
func (s *Store) StaffPasswordEmail(ctx context.Context, token string) (string, error) {
	t, err := s.openLink(ctx, PurposeStaffPassword, token)
	return t.Email, err
}

// SetStaffPassword uses a set-password link once. A refused password
// leaves the link usable.
func (s *Store) SetStaffPassword(ctx context.Context, token, password string) error {
	if p := licensing.PasswordProblem(password); p != "" {
		return Invalid("password", p)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		t, err := useLink(ctx, tx, now, PurposeStaffPassword, token)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, staffPasswordSQL, t.StaffID.Int64, hash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrLinkInvalid // disabled meanwhile
		}
		return audit(ctx, tx, now, AuditEvent{Actor: Actor{Type: "staff", ID: itoa(t.StaffID.Int64), Label: t.Email},
			Action: "staff.set_password", TargetType: "staff", TargetID: t.Email})
	})
}

// ChangeStaffRole gives a staff member another role. Staff cannot change
// their own role. Audited.
func (s *Store) ChangeStaffRole(ctx context.Context, actor Actor, email, role string) error {
	if !ValidStaffRole(role) {
		return Invalid("role", "choose one of "+strings.Join(StaffRoles, ", "))
	}
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var st StaffMember
		if err := tx.GetContext(ctx, &st, staffLockByEmailSQL, strings.TrimSpace(email)); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if actor.Type == "staff" && actor.ID == itoa(st.ID) {
			return Invalid("role", "you cannot change your own role")
		}
		if st.Role == role {
			return nil
		}
		if _, err := tx.ExecContext(ctx, staffRoleSQL, st.ID, role); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{Actor: actor, Action: "staff.role", TargetType: "staff", TargetID: st.Email,
			Before: map[string]any{"role": st.Role}, After: map[string]any{"role": role}})
	})
}
