package store

import (
	"context"
)

// SCIMUserQuery is a SCIM user filter made of "eq" terms joined by "and"
// (all Okta and Entra send), answered by an indexed query; nil fields are
// not filtered on. Other filters are evaluated by the handler on
// AllSCIMUsers. Results come in a stable order (creation), as Okta's paging
// needs.
type SCIMUserQuery struct {
	UserName    *string // case-insensitive
	ExternalID  *string // case-exact
	ID          *string
	Email       *string // any email's value, case-insensitive
	EmailType   *string // with Email: only emails of this type ("work")
	DisplayName *string // case-insensitive
	Offset      int
	Limit       int // 0: count only
}

const (
	scimUserWhere = `
WHERE m.account_id = $1 AND m.scim_id IS NOT NULL
  AND ($2::text IS NULL OR lower(m.scim_user_name) = lower($2))
  AND ($3::text IS NULL OR m.external_id = $3)
  AND ($4::text IS NULL OR m.scim_id = $4)
  AND ($5::text IS NULL OR EXISTS (
        SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof(m.scim_attributes->'emails')
                                            WHEN 'array' THEN m.scim_attributes->'emails' ELSE '[]'::jsonb END) e
        WHERE lower(e->>'value') = lower($5) AND ($6::text IS NULL OR lower(e->>'type') = lower($6))))
  AND ($7::text IS NULL OR lower(m.scim_attributes->>'displayName') = lower($7))`
	scimUsersSQL      = `SELECT ` + scimUserColumns + `, count(*) OVER () AS total FROM membership m` + scimUserWhere + ` ORDER BY m.id OFFSET $8 LIMIT $9`
	countSCIMUsersSQL = `SELECT count(*) FROM membership m` + scimUserWhere
	allSCIMUsersSQL   = `SELECT ` + scimUserColumns + ` FROM membership m WHERE m.account_id = $1 AND m.scim_id IS NOT NULL ORDER BY m.id`
)

// SCIMUsers answers one page of a query and the total number of matches,
// in one query when the page is not past the end.
func (s *Store) SCIMUsers(ctx context.Context, accountID int64, q SCIMUserQuery) ([]SCIMUser, int, error) {
	args := []any{accountID, q.UserName, q.ExternalID, q.ID, q.Email, q.EmailType, q.DisplayName}
	var rows []struct {
		SCIMUser
		Total int `db:"total"`
	}
	if q.Limit > 0 {
		if err := s.db.SelectContext(ctx, &rows, scimUsersSQL, append(args, q.Offset, q.Limit)...); err != nil {
			return nil, 0, err
		}
	}
	if len(rows) == 0 {
		if q.Limit > 0 && q.Offset == 0 { // nothing matched (Okta's existence check of a newcomer)
			return []SCIMUser{}, 0, nil
		}
		var total int // a page past the end, or count=0: how many match
		err := s.db.GetContext(ctx, &total, countSCIMUsersSQL, args...)
		return []SCIMUser{}, total, err
	}
	users := make([]SCIMUser, len(rows))
	for i, r := range rows {
		users[i] = r.SCIMUser
	}
	return users, rows[0].Total, attachUserGroups(ctx, s.db, accountID, users)
}

// AllSCIMUsers lists every provisioned user of the account, for filters
// that SCIMUserQuery cannot express.
func (s *Store) AllSCIMUsers(ctx context.Context, accountID int64) ([]SCIMUser, error) {
	var users []SCIMUser
	if err := s.db.SelectContext(ctx, &users, allSCIMUsersSQL, accountID); err != nil {
		return nil, err
	}
	return users, attachUserGroups(ctx, s.db, accountID, users)
}
