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

	"github.com/entitle-dev/entitle/licensing"
)

// SCIMUser is a provisioned user: a membership the identity provider
// manages, with the SCIM document as stored (userName as sent). The store
// does not read SCIM documents: the handlers (which speak SCIM) summarise
// them into SCIMUserInput.
type SCIMUser struct {
	ID           string         `db:"scim_id"`
	MembershipID int64          `db:"id"`
	UserName     string         `db:"scim_user_name"`
	ExternalID   sql.NullString `db:"external_id"`
	Active       bool           `db:"scim_active"`
	Attributes   []byte         `db:"scim_attributes"` // the JSON document, without id and meta
	Created      time.Time      `db:"scim_created_at"`
	Updated      time.Time      `db:"scim_updated_at"`
	Groups       []SCIMRef      `db:"-"`
}

// SCIMRef names another resource: a user's group, a group's member.
type SCIMRef struct {
	Value   string `db:"value"`
	Display string `db:"display"`
}

// SCIMUserInput is a user document and what the store keeps of it in columns.
type SCIMUserInput struct {
	UserName   string
	ExternalID string
	Email      string // the login address: the primary email, else userName when it is an address
	Name       string // the person's name, for the portal
	Active     bool
	Attributes []byte // the document to store
}

const (
	scimUserColumns = `m.id, m.scim_id, m.scim_user_name, m.external_id, m.scim_active, m.scim_attributes,
       m.scim_created_at, m.scim_updated_at`
	scimUserByIDSQL   = `SELECT ` + scimUserColumns + ` FROM membership m WHERE m.account_id = $1 AND m.scim_id = $2`
	lockSCIMUserSQL   = scimUserByIDSQL + ` FOR UPDATE OF m`
	scimUserGroupsSQL = `
SELECT gm.membership_id, g.scim_id AS value, g.display_name AS display
FROM idp_group_member gm JOIN idp_group g ON g.id = gm.group_id
WHERE gm.account_id = $1 AND gm.membership_id = ANY($2) AND g.deleted_at IS NULL
ORDER BY g.display_name, g.id`
	upsertUserSQL = `
INSERT INTO app_user (email, name, created_at) VALUES ($1, $2, $3)
ON CONFLICT ((lower(email))) DO NOTHING RETURNING id`
	membershipOfSQL   = `SELECT id, scim_id IS NOT NULL AS live FROM membership WHERE account_id = $1 AND user_id = $2 FOR UPDATE`
	scimUserReturning = `RETURNING id, scim_id, scim_user_name, external_id, scim_active, scim_attributes, scim_created_at, scim_updated_at`
	// A new provisioned person has no group, seat or waiting entry yet, so
	// their standing is what licensing.Provision decides for such a person:
	// admitted as a member when active and the account admits people no
	// rule matches, else not admitted. Deciding it in the insert saves the
	// reconciler's round trips on every create of an initial import.
	insertSCIMMemberSQL = `
INSERT INTO membership (account_id, user_id, role, status, source, created_at, scim_id, external_id, scim_user_name,
                        scim_attributes, scim_active, scim_created_at, scim_updated_at)
VALUES ($1, $2, 'member',
        CASE WHEN $7 AND (SELECT unmatched_policy FROM account WHERE id = $1) = 'member' THEN 'active' ELSE 'deactivated' END,
        'scim', $3, gen_random_uuid()::text, nullif($4, ''), $5, $6, $7, $3, $3)
ON CONFLICT (account_id, user_id) DO NOTHING
` + scimUserReturning
	linkSCIMMemberSQL = `
UPDATE membership SET source = 'scim', scim_id = gen_random_uuid()::text, external_id = nullif($3, ''),
       scim_user_name = $4, scim_attributes = $5, scim_active = $6, scim_created_at = $7, scim_updated_at = $7
WHERE account_id = $1 AND id = $2`
	updateSCIMMemberSQL = `
UPDATE membership SET external_id = nullif($3, ''), scim_user_name = $4, scim_attributes = $5, scim_active = $6,
       scim_updated_at = $7
WHERE account_id = $1 AND id = $2`
	deleteSCIMMemberSQL = `
UPDATE membership SET source = 'manual', status = 'deactivated', scim_id = NULL, scim_user_name = NULL,
       external_id = NULL, scim_active = false, scim_updated_at = $3
WHERE account_id = $1 AND id = $2`
	leaveAllGroupsSQL = `DELETE FROM idp_group_member WHERE account_id = $1 AND membership_id = $2`
	// The identity provider may rename a person it alone knows: a login
	// shared with another account or holding a password is left alone.
	ownUserSQL = `
SELECT u.id, u.email FROM app_user u
WHERE u.id = $1 AND u.password_hash = ''
  AND NOT EXISTS (SELECT 1 FROM membership m WHERE m.user_id = u.id AND m.account_id <> $2)`
	renameUserSQL      = `UPDATE app_user SET name = $2 WHERE id = $1`
	changeUserEmailSQL = `
UPDATE app_user SET email = $2 WHERE id = $1
  AND NOT EXISTS (SELECT 1 FROM app_user o WHERE lower(o.email) = lower($2) AND o.id <> $1)`
	memberUserSQL = `SELECT user_id FROM membership WHERE account_id = $1 AND id = $2`
)

// checkSCIMUser validates what the columns need.
func checkSCIMUser(in *SCIMUserInput) error {
	in.UserName = strings.TrimRight(in.UserName, "\x00")
	email, ok := licensing.NormalizeEmail(in.Email)
	if !ok {
		email, ok = licensing.NormalizeEmail(in.UserName)
	}
	switch {
	case strings.TrimSpace(in.UserName) == "":
		return Invalid("userName", "userName is required")
	case !ok:
		return Invalid("emails", "a user needs an email address: send one in emails, or a userName that is one")
	}
	in.Email = email
	return nil
}

// linkSCIMUser makes an existing membership provisioned, and settles what
// that means for it (the rules now decide its standing and role).
func linkSCIMUser(ctx context.Context, tx *sqlx.Tx, now time.Time, tok SCIMToken, userID int64, in SCIMUserInput) (SCIMUser, error) {
	var existing struct {
		ID   int64 `db:"id"`
		Live bool  `db:"live"`
	}
	if err := tx.GetContext(ctx, &existing, membershipOfSQL, tok.AccountID, userID); err != nil {
		return SCIMUser{}, err
	}
	if existing.Live {
		return SCIMUser{}, fmt.Errorf("%w: %s is already provisioned as another user", ErrConflict, in.Email)
	}
	if _, err := tx.ExecContext(ctx, linkSCIMMemberSQL, tok.AccountID, existing.ID, in.ExternalID, in.UserName,
		string(in.Attributes), in.Active, now); err != nil {
		return SCIMUser{}, err
	}
	if err := settlePeople(ctx, tx, now, tok.AccountID, tok.Actor(), []int64{existing.ID}); err != nil {
		return SCIMUser{}, err
	}
	return scimUserIn(ctx, tx, tok.AccountID, existing.ID)
}

// userForEmail finds the login of an address, or creates one without a
// password (created says which).
func userForEmail(ctx context.Context, ptx preparedTx, now time.Time, email, name string) (id int64, created bool, err error) {
	err = ptx.get(ctx, &id, upsertUserSQL, email, name, now)
	if errors.Is(err, sql.ErrNoRows) {
		return id, false, ptx.GetContext(ctx, &id, userByEmailSQL, email)
	}
	return id, err == nil, err
}

// renameOwnUser keeps the portal's name and address of a login the
// identity provider alone knows in step with the provider.
func renameOwnUser(ctx context.Context, tx *sqlx.Tx, accountID, userID int64, in SCIMUserInput) error {
	var own struct {
		ID    int64  `db:"id"`
		Email string `db:"email"`
	}
	err := tx.GetContext(ctx, &own, ownUserSQL, userID, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if in.Name != "" {
		if _, err := tx.ExecContext(ctx, renameUserSQL, userID, in.Name); err != nil {
			return err
		}
	}
	if !strings.EqualFold(own.Email, in.Email) {
		_, err = tx.ExecContext(ctx, changeUserEmailSQL, userID, in.Email)
	}
	return err
}

// scimConflict turns the unique indexes' refusals into ErrConflict.
func scimConflict(err error, in SCIMUserInput) error {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" {
		if pqErr.Constraint == "membership_scim_user_name_idx" {
			return fmt.Errorf("%w: userName %q is already in use", ErrConflict, in.UserName)
		}
		return fmt.Errorf("%w: %s is already provisioned", ErrConflict, in.Email)
	}
	return err
}

func scimUserAudit(in SCIMUserInput) map[string]any {
	return map[string]any{"userName": in.UserName, "externalId": in.ExternalID, "email": in.Email, "active": in.Active}
}

// SCIMUser reads one provisioned user of the account; ErrNotFound for an
// unknown or deleted id, or another account's.
func (s *Store) SCIMUser(ctx context.Context, accountID int64, id string) (SCIMUser, error) {
	var u SCIMUser
	if err := s.db.GetContext(ctx, &u, scimUserByIDSQL, accountID, id); err != nil {
		return SCIMUser{}, notFound(err)
	}
	users := []SCIMUser{u}
	err := attachUserGroups(ctx, s.db, accountID, users)
	return users[0], err
}

func scimUserIn(ctx context.Context, tx *sqlx.Tx, accountID, membershipID int64) (SCIMUser, error) {
	var u SCIMUser
	err := tx.GetContext(ctx, &u, `SELECT `+scimUserColumns+` FROM membership m WHERE m.account_id = $1 AND m.id = $2`,
		accountID, membershipID)
	if err != nil {
		return u, err
	}
	users := []SCIMUser{u}
	err = attachUserGroups(ctx, tx, accountID, users)
	return users[0], err
}

// attachUserGroups fills each user's groups (read-only in SCIM).
func attachUserGroups(ctx context.Context, q sqlx.QueryerContext, accountID int64, users []SCIMUser) error {
	if len(users) == 0 {
		return nil
	}
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.MembershipID
	}
	var rows []struct {
		MembershipID int64 `db:"membership_id"`
		SCIMRef
	}
	if err := sqlx.SelectContext(ctx, q, &rows, scimUserGroupsSQL, accountID, pq.Array(ids)); err != nil {
		return err
	}
	byID := map[int64][]SCIMRef{}
	for _, r := range rows {
		byID[r.MembershipID] = append(byID[r.MembershipID], r.SCIMRef)
	}
	for i := range users {
		users[i].Groups = byID[users[i].MembershipID]
	}
	return nil
}

// UpdateSCIMUser changes one user under its row lock: change gets the user
// as stored and returns the new document (a PUT's body, or the current one
// with a PATCH applied), so that concurrent PATCHes of one user apply one
// after the other. An error from change is returned as it is, and nothing
// changes. Deactivating (active false) revokes the person's seats, takes
// them off the waiting lists and ends their portal sessions in the same
// transaction, with its audit entries.
func (s *Store) UpdateSCIMUser(ctx context.Context, tok SCIMToken, id string, change func(SCIMUser) (SCIMUserInput, error)) (SCIMUser, error) {
	now := s.Now()
	var u SCIMUser
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := lockProvisioning(ctx, tx, tok.AccountID, false); err != nil {
			return err
		}
		var cur SCIMUser
		if err := tx.GetContext(ctx, &cur, lockSCIMUserSQL, tok.AccountID, id); err != nil {
			return notFound(err)
		}
		users := []SCIMUser{cur}
		if err := attachUserGroups(ctx, tx, tok.AccountID, users); err != nil {
			return err
		}
		in, err := change(users[0])
		if err != nil {
			return err
		}
		if err := checkSCIMUser(&in); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, updateSCIMMemberSQL, tok.AccountID, cur.MembershipID, in.ExternalID,
			in.UserName, string(in.Attributes), in.Active, now); err != nil {
			return scimConflict(err, in)
		}
		var userID int64
		if err := tx.GetContext(ctx, &userID, memberUserSQL, tok.AccountID, cur.MembershipID); err != nil {
			return err
		}
		if err := renameOwnUser(ctx, tx, tok.AccountID, userID, in); err != nil {
			return err
		}
		if err := settlePeople(ctx, tx, now, tok.AccountID, tok.Actor(), []int64{cur.MembershipID}); err != nil {
			return err
		}
		if u, err = scimUserIn(ctx, tx, tok.AccountID, cur.MembershipID); err != nil {
			return err
		}
		action := "scim.user.update"
		switch {
		case cur.Active && !in.Active:
			action = "scim.user.deactivate"
		case !cur.Active && in.Active:
			action = "scim.user.reactivate"
		}
		if err := audit(ctx, tx, now, AuditEvent{AccountID: tok.AccountID, Actor: tok.Actor(), Action: action,
			TargetType: "membership", TargetID: itoa(cur.MembershipID),
			Before: map[string]any{"userName": cur.UserName, "externalId": cur.ExternalID.String, "active": cur.Active},
			After:  scimUserAudit(in)}); err != nil {
			return err
		}
		return notifyAccountChanged(ctx, tx, tok.AccountID)
	})
	return u, err
}

// DeleteSCIMUser removes a user from provisioning (SCIM DELETE): the id
// answers 404 from then on and the userName is free again; the membership
// is deactivated, out of every group, without seats, waiting entries or
// sessions, in one transaction. The membership row itself stays, as the
// audit log names it.
func (s *Store) DeleteSCIMUser(ctx context.Context, tok SCIMToken, id string) error {
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := lockProvisioning(ctx, tx, tok.AccountID, false); err != nil {
			return err
		}
		var cur SCIMUser
		if err := tx.GetContext(ctx, &cur, lockSCIMUserSQL, tok.AccountID, id); err != nil {
			return notFound(err)
		}
		var userID int64
		if err := tx.GetContext(ctx, &userID, memberUserSQL, tok.AccountID, cur.MembershipID); err != nil {
			return err
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{deleteSCIMMemberSQL, []any{tok.AccountID, cur.MembershipID, now}},
			{leaveAllGroupsSQL, []any{tok.AccountID, cur.MembershipID}},
			{endSessionsSQL, []any{tok.AccountID, userID}},
			{revokeInvSQL, []any{tok.AccountID, cur.MembershipID, now}},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
				return err
			}
		}
		if err := settlePeople(ctx, tx, now, tok.AccountID, tok.Actor(), []int64{cur.MembershipID}); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, AuditEvent{AccountID: tok.AccountID, Actor: tok.Actor(), Action: "scim.user.delete",
			TargetType: "membership", TargetID: itoa(cur.MembershipID),
			Before: map[string]any{"userName": cur.UserName, "externalId": cur.ExternalID.String, "active": cur.Active},
			After:  map[string]any{"status": "deactivated", "sessions_ended": true}}); err != nil {
			return err
		}
		return notifyAccountChanged(ctx, tx, tok.AccountID)
	})
}
