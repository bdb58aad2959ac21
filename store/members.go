package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

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

// MemberFilter selects and pages the members list.
type MemberFilter struct {
	Query  string // part of a name or an address
	Role   string // "" for any
	Status string // "" for current (active and invited), or active, invited, deactivated, all
	Seat   string // "" for any, "with" or "without" a seat
	After  string // cursor: the page after this row
	Before string // cursor: the page before this row
	Limit  int
}

// MemberRow is one line of the members list.
type MemberRow struct {
	MembershipID int64          `db:"id"`
	UserID       int64          `db:"user_id"`
	Name         string         `db:"name"`
	Email        string         `db:"email"`
	Role         string         `db:"role"`
	Status       string         `db:"status"`
	LastSignInAt sql.NullTime   `db:"last_sign_in_at"`
	Products     pq.StringArray `db:"products"` // names of the products whose seats they hold
	SortKey      string         `db:"sort_key"`
}

// MemberPage is one page of the members list; Next and Prev are cursors,
// empty when there is no such page.
type MemberPage struct {
	Rows       []MemberRow
	Total      int
	Next, Prev string
}

// The list is ordered by (sort key, user id), the order of app_user_sort_idx,
// so a page is an index range scan whatever the page number (keyset
// pagination); the optional filters are folded away by the planner when
// empty because lib/pq's unnamed statements get plans for their values.
const (
	memberSortKey = `u.sort_key`
	memberSelect  = `
SELECT m.id, m.user_id, u.name, u.email, m.role, m.status, m.last_sign_in_at,
       ` + memberSortKey + ` AS sort_key,
       coalesce((SELECT array_agg(p.name ORDER BY p.name) FROM seat_assignment sa
                   JOIN subscription s ON s.id = sa.subscription_id JOIN product p ON p.id = s.product_id
                  WHERE sa.account_id = m.account_id AND sa.membership_id = m.id), '{}') AS products
FROM membership m JOIN app_user u ON u.id = m.user_id`
	memberWhere = `
WHERE m.account_id = $1 AND m.status = ANY($2)
  AND ($3 = '' OR m.role = $3)
  AND ($4 = '' OR ($4 = 'with') = EXISTS (SELECT 1 FROM seat_assignment sa
                                            WHERE sa.account_id = m.account_id AND sa.membership_id = m.id))`
	memberSearch = `
  AND ($5 = '' OR u.search_text LIKE $5)`
	membersAfterSQL = memberSelect + memberWhere + memberSearch + `
  AND (` + memberSortKey + `, u.id) > ($6, $7)
ORDER BY ` + memberSortKey + `, u.id LIMIT $8`
	membersBeforeSQL = memberSelect + memberWhere + memberSearch + `
  AND (` + memberSortKey + `, u.id) < ($6, $7)
ORDER BY ` + memberSortKey + ` DESC, u.id DESC LIMIT $8`
	membersCountSQL = `SELECT count(*) FROM membership m JOIN app_user u ON u.id = m.user_id` + memberWhere + memberSearch
	// Without a search the count needs no user row: an index-only scan.
	membersCountNoSearchSQL = `SELECT count(*) FROM membership m` + memberWhere
)

// ListMembers returns one page of an account's members, sorted by name.
func (s *Store) ListMembers(ctx context.Context, accountID int64, f MemberFilter) (MemberPage, error) {
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	statuses := []string{"active", "invited"}
	switch f.Status {
	case "active", "invited", "deactivated":
		statuses = []string{f.Status}
	case "all":
		statuses = []string{"active", "invited", "deactivated"}
	}
	pattern := ""
	if q := strings.TrimSpace(strings.ToLower(f.Query)); q != "" {
		pattern = "%" + likeEscaper.Replace(q) + "%"
	}
	seat := ""
	if f.Seat == "with" || f.Seat == "without" {
		seat = f.Seat
	}
	args := []any{accountID, pq.Array(statuses), f.Role, seat, pattern}

	var page MemberPage
	countSQL, countArgs := membersCountSQL, args
	if pattern == "" {
		countSQL, countArgs = membersCountNoSearchSQL, args[:4]
	}
	if err := s.db.GetContext(ctx, &page.Total, countSQL, countArgs...); err != nil {
		return MemberPage{}, err
	}
	query, key, id, backward := membersAfterSQL, "", int64(0), false
	if k, i, ok := decodeCursor(f.Before); ok {
		query, key, id, backward = membersBeforeSQL, k, i, true
	} else if k, i, ok := decodeCursor(f.After); ok {
		key, id = k, i
	}
	var rows []MemberRow
	if err := s.db.SelectContext(ctx, &rows, query, append(args, key, id, limit+1)...); err != nil {
		return MemberPage{}, err
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	if backward {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	}
	page.Rows = rows
	if len(rows) > 0 {
		first, last := rows[0], rows[len(rows)-1]
		if (backward && more) || (!backward && f.After != "") {
			page.Prev = encodeCursor(first.SortKey, first.UserID)
		}
		if backward || more {
			page.Next = encodeCursor(last.SortKey, last.UserID)
		}
	}
	return page, nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func encodeCursor(key string, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10) + ":" + key))
}

func decodeCursor(c string) (string, int64, bool) {
	if c == "" {
		return "", 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", 0, false
	}
	idText, key, ok := strings.Cut(string(b), ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil {
		return "", 0, false
	}
	return key, id, true
}

// member is a membership row as the changing methods read it, locked.
type member struct {
	ID     int64  `db:"id"`
	UserID int64  `db:"user_id"`
	Email  string `db:"email"`
	Role   string `db:"role"`
	Status string `db:"status"`
}

const (
	lockMemberSQL = `
SELECT m.id, m.user_id, u.email, m.role, m.status
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
func (s *Store) InviteDomains(ctx context.Context, accountID int64) ([]string, error) {
	var d pq.StringArray
	err := s.db.GetContext(ctx, &d, inviteDomainsSQL, accountID)
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
