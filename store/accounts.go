package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Account is a customer organisation.
type Account struct {
	ID               int64          `db:"id" json:"id"`
	Slug             string         `db:"slug" json:"slug"`
	Name             string         `db:"name" json:"name"`
	StripeCustomerID sql.NullString `db:"stripe_customer_id" json:"-"`
	SupportAccess    bool           `db:"support_access" json:"support_access"`
	// ExternalID is the vendor's own id for this customer (unique when set);
	// Country is ISO 3166-1 alpha-2, empty when unknown.
	ExternalID sql.NullString `db:"external_id" json:"-"`
	Country    sql.NullString `db:"country" json:"-"`
	CreatedAt  time.Time      `db:"created_at" json:"created_at"`
}

// AccountSummary is one line of `entitle accounts list`.
type AccountSummary struct {
	Account
	Plan    sql.NullString `db:"plan" json:"plan"`
	Status  sql.NullString `db:"status" json:"status"`
	Members int            `db:"members" json:"members"`
}

const (
	accountColumns   = `a.id, a.slug, a.name, a.stripe_customer_id, a.support_access, a.external_id, a.country, a.created_at`
	accountByIDSQL   = `SELECT ` + accountColumns + ` FROM account a WHERE a.id = $1`
	accountBySlugSQL = `SELECT ` + accountColumns + ` FROM account a WHERE a.slug = $1`
	listAccountsSQL  = `
SELECT ` + accountColumns + `,
       (SELECT string_agg(pl.key, ',' ORDER BY pl.key) FROM subscription s
          JOIN plan_version pv ON pv.id = s.plan_version_id JOIN plan pl ON pl.id = pv.plan_id
         WHERE s.account_id = a.id) AS plan,
       (SELECT string_agg(s.status, ',' ORDER BY s.id) FROM subscription s WHERE s.account_id = a.id) AS status,
       (SELECT count(*) FROM membership m WHERE m.account_id = a.id AND m.status <> 'deactivated') AS members
FROM account a ORDER BY a.slug`
)

// AccountByID loads one account.
func (s *Store) AccountByID(ctx context.Context, id int64) (Account, error) {
	return s.getAccount(ctx, accountByIDSQL, id)
}

// AccountBySlug loads one account by its slug.
func (s *Store) AccountBySlug(ctx context.Context, slug string) (Account, error) {
	return s.getAccount(ctx, accountBySlugSQL, slug)
}

func (s *Store) getAccount(ctx context.Context, query string, arg any) (Account, error) {
	var a Account
	err := s.db.GetContext(ctx, &a, query, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, ErrNotFound
	}
	return a, err
}

// ListAccounts lists every account with its plan and member count.
func (s *Store) ListAccounts(ctx context.Context) ([]AccountSummary, error) {
	var out []AccountSummary
	err := s.db.SelectContext(ctx, &out, listAccountsSQL)
	return out, err
}
