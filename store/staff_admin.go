package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// StaffMember is one vendor staff account as the console lists it.
type StaffMember struct {
	ID                   int64        `db:"id"`
	Email                string       `db:"email"`
	Name                 string       `db:"name"`
	Role                 string       `db:"role"`
	DisabledAt           sql.NullTime `db:"disabled_at"`
	CreatedAt            time.Time    `db:"created_at"`
	Sessions             int          `db:"sessions"`
	ActiveImpersonations int          `db:"active_impersonations"`
}

// DisabledStaff says what disabling a staff account ended.
type DisabledStaff struct {
	Email          string
	Sessions       int
	Impersonations int
}

const (
	staffListSQL = `
SELECT su.id, su.email, su.name, su.role, su.disabled_at, su.created_at,
       (SELECT count(*) FROM web_session ws WHERE ws.staff_id = su.id AND ws.expires_at > $1) AS sessions,
       (SELECT count(*) FROM impersonation_session i
         WHERE i.staff_id = su.id AND i.ended_at IS NULL AND i.expires_at > $1) AS active_impersonations
FROM staff_user su ORDER BY su.disabled_at IS NOT NULL, su.email`
	staffLockByEmailSQL = `
SELECT id, email, name, role, disabled_at, created_at, 0 AS sessions, 0 AS active_impersonations
FROM staff_user WHERE lower(email) = lower($1) FOR UPDATE`
	staffDisableSQL           = `UPDATE staff_user SET disabled_at = $2 WHERE id = $1`
	staffRunningImpersonation = `
SELECT i.id, i.staff_id, su.email AS staff_email, su.name AS staff_name, i.account_id, a.slug AS account_slug,
       a.name AS account_name, i.reason, i.mode, i.started_at, i.expires_at, i.ended_at, i.end_reason, i.return_to
FROM impersonation_session i JOIN staff_user su ON su.id = i.staff_id JOIN account a ON a.id = i.account_id
WHERE i.staff_id = $1 AND i.ended_at IS NULL
ORDER BY i.id FOR UPDATE OF i`
	staffDeleteSessionsSQL = `DELETE FROM web_session WHERE staff_id = $1`
)

// ListStaff lists every staff account, enabled first.
func (s *Store) ListStaff(ctx context.Context) ([]StaffMember, error) {
	var out []StaffMember
	err := s.db.SelectContext(ctx, &out, staffListSQL, s.Now())
	return out, err
}

// DisableStaff disables a staff account and, in the same transaction, ends
// every impersonation it runs (audited in each account's chain) and deletes
// its sessions, so it is signed out everywhere at once. Staff cannot
// disable themselves (that would lock out the last admin by accident).
func (s *Store) DisableStaff(ctx context.Context, actor Actor, email string) (DisabledStaff, error) {
	now := s.Now()
	out := DisabledStaff{Email: strings.TrimSpace(email)}
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var st StaffMember
		if err := tx.GetContext(ctx, &st, staffLockByEmailSQL, out.Email); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if actor.Type == "staff" && actor.ID == itoa(st.ID) {
			return Invalid("staff", "you cannot disable your own account")
		}
		if st.DisabledAt.Valid {
			return ErrConflict
		}
		out.Email = st.Email
		var running []Impersonation
		if err := tx.SelectContext(ctx, &running, staffRunningImpersonation, st.ID); err != nil {
			return err
		}
		for i := range running {
			if err := endImpersonation(ctx, tx, now, &running[i], actor, EndStaffDisabled); err != nil {
				return err
			}
			out.Impersonations++
		}
		if _, err := tx.ExecContext(ctx, staffDisableSQL, st.ID, now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, staffDeleteSessionsSQL, st.ID)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		out.Sessions = int(n)
		return audit(ctx, tx, now, AuditEvent{Actor: actor, Action: "staff.disable", TargetType: "staff",
			TargetID: st.Email, Before: map[string]any{"role": st.Role},
			After: map[string]any{"disabled_at": now, "sessions_ended": out.Sessions, "impersonations_ended": out.Impersonations}})
	})
	return out, err
}
