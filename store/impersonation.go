package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Impersonation modes. Read is the default; write needs the
// impersonate_write capability and the account's support_access consent.
const (
	ImpersonateRead  = "read"
	ImpersonateWrite = "write"
)

// Impersonation time boxes.
const (
	DefaultImpersonation = 30 * time.Minute
	MaxImpersonation     = 4 * time.Hour
	MinImpersonation     = 5 * time.Minute
)

// Why an impersonation ended.
const (
	EndByStaff       = "ended"
	EndExpired       = "expired"
	EndReplaced      = "replaced"
	EndSignedOut     = "signed_out"
	EndStaffDisabled = "staff_disabled"
)

var (
	// ErrReadOnlyImpersonation: a state-changing request in a read-only
	// support session.
	ErrReadOnlyImpersonation = errors.New("read-only support session")
	// ErrNoSupportConsent: write-mode impersonation of an account whose
	// owners have not allowed support access.
	ErrNoSupportConsent = errors.New("the account has not allowed support write access")
)

// ImpersonationExpiredError says the staff session's impersonation has
// lapsed; the next request ends it and returns the staff member to the
// console.
type ImpersonationExpiredError struct{ ImpersonationID int64 }

func (e *ImpersonationExpiredError) Error() string {
	return fmt.Sprintf("impersonation %d expired", e.ImpersonationID)
}

// Impersonation is one support session in a customer account.
type Impersonation struct {
	ID          int64        `db:"id"`
	StaffID     int64        `db:"staff_id"`
	StaffEmail  string       `db:"staff_email"`
	StaffName   string       `db:"staff_name"`
	AccountID   int64        `db:"account_id"`
	AccountSlug string       `db:"account_slug"`
	AccountName string       `db:"account_name"`
	Reason      string       `db:"reason"`
	Mode        string       `db:"mode"`
	StartedAt   time.Time    `db:"started_at"`
	ExpiresAt   time.Time    `db:"expires_at"`
	EndedAt     sql.NullTime `db:"ended_at"`
	EndReason   string       `db:"end_reason"`
	ReturnTo    string       `db:"return_to"`
}

// Impersonated reports whether a staff member is acting as the account.
func (s Session) Impersonated() bool { return s.ImpersonationID != 0 }

// ReadOnly reports whether the session may only look: every read-mode
// impersonation (and a write-mode one whose consent was withdrawn).
func (s Session) ReadOnly() bool { return s.Impersonated() && s.Mode != ImpersonateWrite }

// Actor is who the session acts as for the audit log. While impersonating
// it names both identities: the owner acted as, and the staff member.
func (s Session) Actor() Actor {
	a := Actor{Type: "user", ID: itoa(s.UserID), Label: s.Email}
	if s.Impersonated() {
		a.Impersonator = s.Impersonator
	}
	return a
}

// StartImpersonationInput is what the console's form asks for.
type StartImpersonationInput struct {
	AccountSlug string
	Reason      string
	Mode        string
	Duration    time.Duration
	ReturnTo    string // a console path to come back to
}

const (
	impLockStaffSessionSQL = `
SELECT su.id AS staff_id, su.email, su.name, su.role, ws.expires_at AS session_expires_at
FROM web_session ws JOIN staff_user su ON su.id = ws.staff_id AND su.disabled_at IS NULL
WHERE ws.id_hash = $1 AND ws.kind = 'staff' AND ws.expires_at > $2
FOR UPDATE OF ws`
	impLockAccountSQL = `SELECT ` + accountColumns + ` FROM account a WHERE a.slug = $1 FOR SHARE`
	impHasOwnerSQL    = `
SELECT EXISTS (SELECT 1 FROM membership WHERE account_id = $1 AND role = 'owner' AND status = 'active')`
	impActiveForSessionSQL = `
SELECT i.id, i.staff_id, su.email AS staff_email, su.name AS staff_name, i.account_id, a.slug AS account_slug,
       a.name AS account_name, i.reason, i.mode, i.started_at, i.expires_at, i.ended_at, i.end_reason, i.return_to
FROM web_session ws
JOIN impersonation_session i ON i.id = ws.impersonation_id AND i.ended_at IS NULL
JOIN staff_user su ON su.id = i.staff_id
JOIN account a ON a.id = i.account_id
WHERE ws.id_hash = $1 AND ws.kind = 'staff'
FOR UPDATE OF i`
	impInsertSQL = `
INSERT INTO impersonation_session (staff_id, account_id, reason, mode, started_at, expires_at, return_to)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`
	impAttachSQL = `UPDATE web_session SET impersonation_id = $2 WHERE id_hash = $1`
	impEndSQL    = `
UPDATE impersonation_session SET ended_at = LEAST($2::timestamptz, expires_at), end_reason = $3
WHERE id = $1 AND ended_at IS NULL RETURNING ended_at`
	impDetachSQL = `UPDATE web_session SET impersonation_id = NULL WHERE impersonation_id = $1`
	// The acting identity is the account's first active owner, re-read on
	// every request; consent withdrawn turns a write session read-only.
	impByStaffTokenSQL = `
SELECT i.id AS impersonation_id, su.id AS impersonator_id, su.email AS impersonator,
       CASE WHEN i.mode = 'write' AND a.support_access THEN 'write' ELSE 'read' END AS mode,
       i.reason AS impersonation_reason, i.expires_at AS impersonation_expires_at,
       a.id AS account_id, a.slug AS account_slug, a.name AS account_name,
       coalesce(o.user_id, 0) AS user_id, coalesce(o.membership_id, 0) AS membership_id,
       coalesce(o.email, '') AS email, coalesce(o.name, '') AS name, 'owner' AS role
FROM web_session ws
JOIN staff_user su ON su.id = ws.staff_id AND su.disabled_at IS NULL
JOIN impersonation_session i ON i.id = ws.impersonation_id AND i.ended_at IS NULL AND i.staff_id = su.id
JOIN account a ON a.id = i.account_id
LEFT JOIN LATERAL (
    SELECT m.user_id, m.id AS membership_id, u.email, u.name
    FROM membership m JOIN app_user u ON u.id = m.user_id
    WHERE m.account_id = a.id AND m.role = 'owner' AND m.status = 'active'
    ORDER BY m.id LIMIT 1) o ON true
WHERE ws.id_hash = $1 AND ws.kind = 'staff' AND ws.expires_at > $2`
)

// StartImpersonation starts a support session in an account for the staff
// member signed in with staffToken, replacing any session they had running.
// The staff member's console session is kept: it only points at the
// impersonation. Write mode needs the impersonate_write capability and the
// account's consent, both checked here under locks.
func (s *Store) StartImpersonation(ctx context.Context, staffToken string, in StartImpersonationInput) (Impersonation, error) {
	in.Reason = strings.TrimSpace(in.Reason)
	switch {
	case in.Reason == "":
		return Impersonation{}, Invalid("reason", "give a reason, such as a ticket reference")
	case len(in.Reason) > 500:
		return Impersonation{}, Invalid("reason", "keep the reason under 500 characters")
	case in.Mode != ImpersonateRead && in.Mode != ImpersonateWrite:
		return Impersonation{}, Invalid("mode", "choose read-only or write")
	case in.Duration == 0:
		in.Duration = DefaultImpersonation
	}
	if in.Duration < MinImpersonation || in.Duration > MaxImpersonation {
		return Impersonation{}, Invalid("duration", fmt.Sprintf("choose between %d minutes and %d hours",
			int(MinImpersonation.Minutes()), int(MaxImpersonation.Hours())))
	}
	if !safeReturnPath(in.ReturnTo) {
		in.ReturnTo = "/admin/accounts/" + in.AccountSlug
	}
	now := s.Now()
	var imp Impersonation
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			StaffSession
			SessionExpiresAt time.Time `db:"session_expires_at"`
		}
		err := tx.GetContext(ctx, &row, impLockStaffSessionSQL, hashToken(staffToken), now)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		staff := row.StaffSession
		need := CanImpersonate
		if in.Mode == ImpersonateWrite {
			need = CanImpersonateWrite
		}
		if !staff.Can(need) {
			return ErrForbidden
		}
		var acct Account
		if err := tx.GetContext(ctx, &acct, impLockAccountSQL, in.AccountSlug); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if in.Mode == ImpersonateWrite && !acct.SupportAccess {
			return ErrNoSupportConsent
		}
		var hasOwner bool
		if err := tx.GetContext(ctx, &hasOwner, impHasOwnerSQL, acct.ID); err != nil {
			return err
		}
		if !hasOwner {
			return Invalid("account", acct.Name+" has no active owner to act as")
		}
		if err := endSessionImpersonation(ctx, tx, now, staffToken, staff.Actor(), EndReplaced); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		imp = Impersonation{StaffID: staff.StaffID, StaffEmail: staff.Email, StaffName: staff.Name,
			AccountID: acct.ID, AccountSlug: acct.Slug, AccountName: acct.Name, Reason: in.Reason, Mode: in.Mode,
			StartedAt: now, ExpiresAt: now.Add(in.Duration), ReturnTo: in.ReturnTo}
		if imp.ExpiresAt.After(row.SessionExpiresAt) { // never outlive the console session it rides on
			imp.ExpiresAt = row.SessionExpiresAt
		}
		if err := tx.GetContext(ctx, &imp.ID, impInsertSQL, imp.StaffID, imp.AccountID, imp.Reason, imp.Mode,
			imp.StartedAt, imp.ExpiresAt, imp.ReturnTo); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, impAttachSQL, hashToken(staffToken), imp.ID); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: acct.ID, Actor: staff.Actor(), Action: "impersonation.start",
			TargetType: "impersonation", TargetID: itoa(imp.ID), After: map[string]any{
				"staff": staff.Email, "reason": imp.Reason, "mode": imp.Mode,
				"started_at": imp.StartedAt, "expires_at": imp.ExpiresAt}})
	})
	return imp, err
}

// ImpersonationByStaffToken resolves a staff cookie into the customer
// session it is acting as. ErrNotFound when the staff member is not
// impersonating (or signed out, or disabled); *ImpersonationExpiredError
// when the time box has passed.
func (s *Store) ImpersonationByStaffToken(ctx context.Context, staffToken string) (Session, error) {
	now := s.Now()
	var sess Session
	err := s.db.GetContext(ctx, &sess, impByStaffTokenSQL, hashToken(staffToken), now)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, err
	}
	if !now.Before(sess.ExpiresAt) {
		return Session{}, &ImpersonationExpiredError{ImpersonationID: sess.ImpersonationID}
	}
	return sess, nil
}

// EndImpersonation ends the impersonation of the staff session behind
// staffToken (reason EndByStaff or EndExpired) and returns it, so that the
// staff member goes back where they were. ErrNotFound when none is running.
func (s *Store) EndImpersonation(ctx context.Context, staffToken, reason string) (Impersonation, error) {
	var imp Impersonation
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &imp, impActiveForSessionSQL, hashToken(staffToken))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		actor := Actor{Type: "staff", ID: itoa(imp.StaffID), Label: imp.StaffEmail}
		return endImpersonation(ctx, tx, s.Now(), &imp, actor, reason)
	})
	return imp, err
}

// endSessionImpersonation ends whatever impersonation the staff session
// runs (ErrNotFound when none).
func endSessionImpersonation(ctx context.Context, tx *sqlx.Tx, now time.Time, staffToken string, actor Actor, reason string) error {
	var imp Impersonation
	err := tx.GetContext(ctx, &imp, impActiveForSessionSQL, hashToken(staffToken))
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	return endImpersonation(ctx, tx, now, &imp, actor, reason)
}

// endImpersonation closes one locked, running impersonation, detaches it
// from the staff session and records it in the account's audit chain. An
// expired one ends at its expiry, not at the moment it was noticed.
func endImpersonation(ctx context.Context, tx *sqlx.Tx, now time.Time, imp *Impersonation, actor Actor, reason string) error {
	var ended time.Time
	if err := tx.GetContext(ctx, &ended, impEndSQL, imp.ID, now, reason); errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	imp.EndedAt, imp.EndReason = sql.NullTime{Time: ended, Valid: true}, reason
	if _, err := tx.ExecContext(ctx, impDetachSQL, imp.ID); err != nil {
		return err
	}
	return audit(ctx, tx, now, AuditEvent{AccountID: imp.AccountID, Actor: actor, Action: "impersonation.end",
		TargetType: "impersonation", TargetID: itoa(imp.ID), After: map[string]any{
			"staff": imp.StaffEmail, "reason": imp.Reason, "mode": imp.Mode, "started_at": imp.StartedAt,
			"expires_at": imp.ExpiresAt, "ended_at": ended, "ended_because": reason}})
}

// ImpersonatedRequest is one request made while impersonating.
type ImpersonatedRequest struct {
	Method, Route, Path string
	Refused             bool // refused because the session is read-only
}

// AuditImpersonatedRequest records a request made while impersonating, in
// the account's chain, with both identities (the owner acted as and the
// staff member). It is written before the request runs, so refused and
// failed requests are on record too.
func (s *Store) AuditImpersonatedRequest(ctx context.Context, sess Session, r ImpersonatedRequest) error {
	if !sess.Impersonated() {
		return nil
	}
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		return audit(ctx, tx, s.Now(), AuditEvent{AccountID: sess.AccountID, Actor: sess.Actor(),
			Action: "impersonation.request", TargetType: "route", TargetID: r.Method + " " + r.Route,
			After: map[string]any{"path": r.Path, "impersonation": sess.ImpersonationID, "mode": sess.Mode, "refused": r.Refused}})
	})
}

// EndStaffSession signs a staff member out: their running impersonation
// ends and the session row goes, in one transaction.
func (s *Store) EndStaffSession(ctx context.Context, staffToken string) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var imp Impersonation
		err := tx.GetContext(ctx, &imp, impActiveForSessionSQL, hashToken(staffToken))
		switch {
		case err == nil:
			actor := Actor{Type: "staff", ID: itoa(imp.StaffID), Label: imp.StaffEmail}
			if err := endImpersonation(ctx, tx, s.Now(), &imp, actor, EndSignedOut); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, deleteSessionSQL, hashToken(staffToken))
		return err
	})
}

// safeReturnPath accepts only console paths, never another site.
func safeReturnPath(p string) bool {
	return (p == "/admin" || strings.HasPrefix(p, "/admin/")) && !strings.Contains(p, "//") && !strings.Contains(p, `\`)
}
