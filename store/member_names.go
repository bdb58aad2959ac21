package store

import (
	"context"
	"database/sql"
	"errors"
)

const memberEmailSQL = `
SELECT u.email FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = $1 AND m.id = $2`

// MemberEmail is the address of one member of the account, so that a
// message about a change names the person it was made to.
func (s *Store) MemberEmail(ctx context.Context, accountID, membershipID int64) (string, error) {
	var email string
	err := s.db.GetContext(ctx, &email, memberEmailSQL, accountID, membershipID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return email, err
}
