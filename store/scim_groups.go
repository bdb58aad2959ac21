package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// SCIMGroup is a group the identity provider pushed. Its members live in
// idp_group_member, not in the stored document, so that adding one member
// to a group of thousands is one row.
type SCIMGroup struct {
	ID          string         `db:"scim_id"`
	GroupID     int64          `db:"id"`
	DisplayName string         `db:"display_name"`
	ExternalID  sql.NullString `db:"external_id"`
	Attributes  []byte         `db:"attributes"` // the document without id, meta and members
	Created     time.Time      `db:"created_at"`
	Updated     time.Time      `db:"updated_at"`
	Members     []SCIMRef      `db:"-"` // filled when asked for
}

// SCIMGroupInput is a group document and what the store keeps in columns.
type SCIMGroupInput struct {
	DisplayName string
	ExternalID  string
	Attributes  []byte // without members
}

// MemberOp is one change to a group's members, applied in order: add the
// users named by their SCIM ids, remove them, or replace the members with
// exactly them (an empty replace removes everyone).
type MemberOp struct {
	Op  string // "add", "remove" or "replace"
	IDs []string
}

const (
	scimGroupColumns   = `g.id, g.scim_id, g.display_name, g.external_id, g.attributes, g.created_at, g.updated_at`
	scimGroupByIDSQL   = `SELECT ` + scimGroupColumns + ` FROM idp_group g WHERE g.account_id = $1 AND g.scim_id = $2 AND g.deleted_at IS NULL`
	lockSCIMGroupSQL   = scimGroupByIDSQL + ` FOR UPDATE OF g`
	insertSCIMGroupSQL = `
INSERT INTO idp_group (account_id, scim_id, display_name, external_id, attributes, created_at, updated_at)
VALUES ($1, gen_random_uuid()::text, $2, nullif($3, ''), $4, $5, $5) RETURNING id`
	updateSCIMGroupSQL = `
UPDATE idp_group SET display_name = $3, external_id = nullif($4, ''), attributes = $5, updated_at = $6
WHERE account_id = $1 AND id = $2`
	deleteSCIMGroupSQL = `UPDATE idp_group SET deleted_at = $3, updated_at = $3 WHERE account_id = $1 AND id = $2`
	groupMembersSQL    = `
SELECT gm.group_id, m.scim_id AS value, coalesce(m.scim_user_name, '') AS display
FROM idp_group_member gm JOIN membership m ON m.account_id = gm.account_id AND m.id = gm.membership_id
WHERE gm.account_id = $1 AND gm.group_id = ANY($2) AND m.scim_id IS NOT NULL
ORDER BY gm.since, m.id`
	resolveMembersSQL = `SELECT scim_id, id FROM membership WHERE account_id = $1 AND scim_id = ANY($2)`
	addMembersSQL     = `
INSERT INTO idp_group_member (account_id, group_id, membership_id, since)
SELECT $1, $2, x, $4 FROM unnest($3::bigint[]) AS x
ON CONFLICT (group_id, membership_id) DO NOTHING RETURNING membership_id`
	removeMembersSQL = `
DELETE FROM idp_group_member WHERE account_id = $1 AND group_id = $2 AND membership_id = ANY($3) RETURNING membership_id`
	keepMembersSQL = `
DELETE FROM idp_group_member WHERE account_id = $1 AND group_id = $2 AND NOT (membership_id = ANY($3))
RETURNING membership_id`
)

// CreateSCIMGroup creates a group with its first members (SCIM ids of
// provisioned users; an unknown one refuses the whole request).
func (s *Store) CreateSCIMGroup(ctx context.Context, tok SCIMToken, in SCIMGroupInput, memberIDs []string) (SCIMGroup, error) {
	if err := checkSCIMGroup(&in); err != nil {
		return SCIMGroup{}, err
	}
	now := s.Now()
	var g SCIMGroup
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := lockProvisioning(ctx, tx, tok.AccountID, false); err != nil {
			return err
		}
		var id int64
		if err := tx.GetContext(ctx, &id, insertSCIMGroupSQL, tok.AccountID, in.DisplayName, in.ExternalID,
			string(in.Attributes), now); err != nil {
			return err
		}
		added, removed, err := applyMemberOps(ctx, tx, now, tok.AccountID, id, []MemberOp{{Op: "replace", IDs: memberIDs}})
		if err != nil {
			return err
		}
		if err := settlePeople(ctx, tx, now, tok.AccountID, tok.Actor(), append(added, removed...)); err != nil {
			return err
		}
		if g, err = scimGroupIn(ctx, tx, tok.AccountID, id, false); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, AuditEvent{AccountID: tok.AccountID, Actor: tok.Actor(), Action: "scim.group.create",
			TargetType: "idp_group", TargetID: itoa(id), After: map[string]any{"displayName": in.DisplayName,
				"externalId": in.ExternalID, "members_added": orNone(added)}}); err != nil {
			return err
		}
		return notifyAccountChanged(ctx, tx, tok.AccountID)
	})
	return g, err
}

func checkSCIMGroup(in *SCIMGroupInput) error {
	if strings.TrimSpace(in.DisplayName) == "" {
		return Invalid("displayName", "displayName is required")
	}
	return nil
}

func orNone(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

// UpdateSCIMGroup changes one group under its row lock: change gets the
// group as stored (with its members when withMembers) and returns the new
// document and the member changes (a rename keeps the group's id). Whoever
// joins or leaves has their standing, seats and waiting entries settled in
// the same transaction; seats of short pools follow from the reconciler.
func (s *Store) UpdateSCIMGroup(ctx context.Context, tok SCIMToken, id string, withMembers bool,
	change func(SCIMGroup) (SCIMGroupInput, []MemberOp, error)) (SCIMGroup, error) {
	now := s.Now()
	var g SCIMGroup
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := lockProvisioning(ctx, tx, tok.AccountID, false); err != nil {
			return err
		}
		var cur SCIMGroup
		if err := tx.GetContext(ctx, &cur, lockSCIMGroupSQL, tok.AccountID, id); err != nil {
			return notFound(err)
		}
		if withMembers {
			groups := []SCIMGroup{cur}
			if err := attachGroupMembers(ctx, tx, tok.AccountID, groups); err != nil {
				return err
			}
			cur = groups[0]
		}
		in, ops, err := change(cur)
		if err != nil {
			return err
		}
		if err := checkSCIMGroup(&in); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, updateSCIMGroupSQL, tok.AccountID, cur.GroupID, in.DisplayName, in.ExternalID,
			string(in.Attributes), now); err != nil {
			return err
		}
		added, removed, err := applyMemberOps(ctx, tx, now, tok.AccountID, cur.GroupID, ops)
		if err != nil {
			return err
		}
		if err := settlePeople(ctx, tx, now, tok.AccountID, tok.Actor(), append(added, removed...)); err != nil {
			return err
		}
		if g, err = scimGroupIn(ctx, tx, tok.AccountID, cur.GroupID, false); err != nil {
			return err
		}
		after := map[string]any{"displayName": in.DisplayName, "externalId": in.ExternalID}
		if len(added) > 0 || len(removed) > 0 {
			after["members_added"], after["members_removed"] = orNone(added), orNone(removed)
		}
		if err := audit(ctx, tx, now, AuditEvent{AccountID: tok.AccountID, Actor: tok.Actor(), Action: "scim.group.update",
			TargetType: "idp_group", TargetID: itoa(cur.GroupID),
			Before: map[string]any{"displayName": cur.DisplayName, "externalId": cur.ExternalID.String}, After: after}); err != nil {
			return err
		}
		return notifyAccountChanged(ctx, tx, tok.AccountID)
	})
	return g, err
}

// applyMemberOps applies member changes in order and says who, in the
// end, joined and who left.
func applyMemberOps(ctx context.Context, tx *sqlx.Tx, now time.Time, accountID, groupID int64, ops []MemberOp) (added, removed []int64, err error) {
	var names []string
	for _, op := range ops {
		names = append(names, op.IDs...)
	}
	ids := map[string]int64{}
	if len(names) > 0 {
		var rows []struct {
			SCIMID string `db:"scim_id"`
			ID     int64  `db:"id"`
		}
		if err := tx.SelectContext(ctx, &rows, resolveMembersSQL, accountID, pq.Array(names)); err != nil {
			return nil, nil, err
		}
		for _, r := range rows {
			ids[r.SCIMID] = r.ID
		}
	}
	joined, left := map[int64]bool{}, map[int64]bool{}
	for _, op := range ops {
		var known, unknown = []int64{}, []string{}
		for _, name := range op.IDs {
			if id, ok := ids[name]; ok {
				known = append(known, id)
			} else {
				unknown = append(unknown, name)
			}
		}
		if len(unknown) > 0 && op.Op != "remove" {
			return nil, nil, Invalid("members", fmt.Sprintf("no provisioned user has the id %s", strings.Join(first(unknown, 3), ", ")))
		}
		var in, out []int64
		switch op.Op {
		case "add":
			err = tx.SelectContext(ctx, &in, addMembersSQL, accountID, groupID, pq.Array(known), now)
		case "remove":
			err = tx.SelectContext(ctx, &out, removeMembersSQL, accountID, groupID, pq.Array(known))
		case "replace":
			if err = tx.SelectContext(ctx, &out, keepMembersSQL, accountID, groupID, pq.Array(known)); err == nil {
				err = tx.SelectContext(ctx, &in, addMembersSQL, accountID, groupID, pq.Array(known), now)
			}
		default:
			err = fmt.Errorf("unknown member operation %q", op.Op)
		}
		if err != nil {
			return nil, nil, err
		}
		for _, id := range in {
			if left[id] {
				delete(left, id)
			} else {
				joined[id] = true
			}
		}
		for _, id := range out {
			if joined[id] {
				delete(joined, id)
			} else {
				left[id] = true
			}
		}
	}
	return sortedKeys(joined), sortedKeys(left), nil
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// sortedKeys lists a set of ids in order.
func sortedKeys(set map[int64]bool) []int64 {
	out := make([]int64, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// DeleteSCIMGroup deletes a group (SCIM DELETE): its id answers 404 from
// then on and its members leave it, settled as by a PATCH. Rules naming it
// stay (and match nobody) until an admin removes them.
func (s *Store) DeleteSCIMGroup(ctx context.Context, tok SCIMToken, id string) error {
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := lockProvisioning(ctx, tx, tok.AccountID, false); err != nil {
			return err
		}
		var cur SCIMGroup
		if err := tx.GetContext(ctx, &cur, lockSCIMGroupSQL, tok.AccountID, id); err != nil {
			return notFound(err)
		}
		if _, err := tx.ExecContext(ctx, deleteSCIMGroupSQL, tok.AccountID, cur.GroupID, now); err != nil {
			return err
		}
		_, left, err := applyMemberOps(ctx, tx, now, tok.AccountID, cur.GroupID, []MemberOp{{Op: "replace"}})
		if err != nil {
			return err
		}
		if err := settlePeople(ctx, tx, now, tok.AccountID, tok.Actor(), left); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, AuditEvent{AccountID: tok.AccountID, Actor: tok.Actor(), Action: "scim.group.delete",
			TargetType: "idp_group", TargetID: itoa(cur.GroupID),
			Before: map[string]any{"displayName": cur.DisplayName, "members": len(left)}}); err != nil {
			return err
		}
		return notifyAccountChanged(ctx, tx, tok.AccountID)
	})
}

// SCIMGroup reads one group, with its members when asked.
func (s *Store) SCIMGroup(ctx context.Context, accountID int64, id string, withMembers bool) (SCIMGroup, error) {
	var g SCIMGroup
	if err := s.db.GetContext(ctx, &g, scimGroupByIDSQL, accountID, id); err != nil {
		return SCIMGroup{}, notFound(err)
	}
	if !withMembers {
		return g, nil
	}
	groups := []SCIMGroup{g}
	err := attachGroupMembers(ctx, s.db, accountID, groups)
	return groups[0], err
}

func scimGroupIn(ctx context.Context, tx *sqlx.Tx, accountID, groupID int64, withMembers bool) (SCIMGroup, error) {
	var g SCIMGroup
	err := tx.GetContext(ctx, &g, `SELECT `+scimGroupColumns+` FROM idp_group g WHERE g.account_id = $1 AND g.id = $2`,
		accountID, groupID)
	if err != nil || !withMembers {
		return g, err
	}
	groups := []SCIMGroup{g}
	err = attachGroupMembers(ctx, tx, accountID, groups)
	return groups[0], err
}

// attachGroupMembers fills each group's members, earliest first.
func attachGroupMembers(ctx context.Context, q sqlx.QueryerContext, accountID int64, groups []SCIMGroup) error {
	if len(groups) == 0 {
		return nil
	}
	ids := make([]int64, len(groups))
	for i, g := range groups {
		ids[i] = g.GroupID
	}
	var rows []struct {
		GroupID int64 `db:"group_id"`
		SCIMRef
	}
	if err := sqlx.SelectContext(ctx, q, &rows, groupMembersSQL, accountID, pq.Array(ids)); err != nil {
		return err
	}
	byID := map[int64][]SCIMRef{}
	for _, r := range rows {
		byID[r.GroupID] = append(byID[r.GroupID], r.SCIMRef)
	}
	for i := range groups {
		groups[i].Members = byID[groups[i].GroupID]
		if groups[i].Members == nil {
			groups[i].Members = []SCIMRef{}
		}
	}
	return nil
}
