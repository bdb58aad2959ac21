package store

import "context"

// SCIMGroupQuery is a group filter of "eq" terms (see SCIMUserQuery).
type SCIMGroupQuery struct {
	DisplayName *string // case-insensitive: Entra and JumpCloud find groups by name
	ExternalID  *string
	ID          *string
	MemberID    *string // groups that have this user
	Offset      int
	Limit       int
	WithMembers bool
}

const (
	scimGroupWhere = `
WHERE g.account_id = $1 AND g.deleted_at IS NULL
  AND ($2::text IS NULL OR lower(g.display_name) = lower($2))
  AND ($3::text IS NULL OR g.external_id = $3)
  AND ($4::text IS NULL OR g.scim_id = $4)
  AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM idp_group_member gm JOIN membership m ON m.id = gm.membership_id
                                   WHERE gm.group_id = g.id AND m.scim_id = $5))`
	scimGroupsSQL      = `SELECT ` + scimGroupColumns + ` FROM idp_group g` + scimGroupWhere + ` ORDER BY g.id OFFSET $6 LIMIT $7`
	countSCIMGroupsSQL = `SELECT count(*) FROM idp_group g` + scimGroupWhere
	allSCIMGroupsSQL   = `SELECT ` + scimGroupColumns + ` FROM idp_group g WHERE g.account_id = $1 AND g.deleted_at IS NULL ORDER BY g.id`
)

// SCIMGroups answers one page of a group query and the number of matches.
func (s *Store) SCIMGroups(ctx context.Context, accountID int64, q SCIMGroupQuery) ([]SCIMGroup, int, error) {
	args := []any{accountID, q.DisplayName, q.ExternalID, q.ID, q.MemberID}
	var total int
	if err := s.db.GetContext(ctx, &total, countSCIMGroupsSQL, args...); err != nil {
		return nil, 0, err
	}
	if q.Limit <= 0 || q.Offset >= total {
		return []SCIMGroup{}, total, nil
	}
	var groups []SCIMGroup
	if err := s.db.SelectContext(ctx, &groups, scimGroupsSQL, append(args, q.Offset, q.Limit)...); err != nil {
		return nil, 0, err
	}
	if q.WithMembers {
		return groups, total, attachGroupMembers(ctx, s.db, accountID, groups)
	}
	return groups, total, nil
}

// AllSCIMGroups lists every group with its members, for filters
// SCIMGroupQuery cannot express.
func (s *Store) AllSCIMGroups(ctx context.Context, accountID int64) ([]SCIMGroup, error) {
	var groups []SCIMGroup
	if err := s.db.SelectContext(ctx, &groups, allSCIMGroupsSQL, accountID); err != nil {
		return nil, err
	}
	return groups, attachGroupMembers(ctx, s.db, accountID, groups)
}
