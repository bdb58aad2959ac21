package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// ConsoleAccountQuery is the console's account search: free text matched
// against the account's name, slug, Stripe ids and members' emails (a
// domain such as "@globex.test" matches every member of that domain),
// filtered by plan key and subscription status, one page at a time.
type ConsoleAccountQuery struct {
	Text    string
	Plan    string
	Status  string
	Page    int // from 1
	PerPage int
}

// ConsoleAccountPage is one page of search results.
type ConsoleAccountPage struct {
	Accounts []AccountSummary
	Total    int
	Page     int
	PerPage  int
	Plans    []string // every plan key, for the filter
}

// The search's filter, shared by the count and the page queries. $1 is a
// LIKE pattern (input escaped), $2 a plan key, $3 a status.
const consoleAccountFilter = `
FROM account a
WHERE ($1 = '%%'
       OR a.name ILIKE $1 OR a.slug ILIKE $1 OR a.stripe_customer_id ILIKE $1
       OR EXISTS (SELECT 1 FROM subscription s WHERE s.account_id = a.id AND s.stripe_subscription_id ILIKE $1)
       OR EXISTS (SELECT 1 FROM membership m JOIN app_user u ON u.id = m.user_id
                   WHERE m.account_id = a.id AND u.email ILIKE $1))
  AND ($2 = '' OR EXISTS (SELECT 1 FROM subscription s JOIN plan_version pv ON pv.id = s.plan_version_id
                           JOIN plan pl ON pl.id = pv.plan_id WHERE s.account_id = a.id AND pl.key = $2))
  AND ($3 = '' OR EXISTS (SELECT 1 FROM subscription s WHERE s.account_id = a.id AND s.status = $3))`

const (
	consoleAccountCountSQL = `SELECT count(*) ` + consoleAccountFilter
	consoleAccountPageSQL  = `
SELECT ` + accountColumns + `,
       (SELECT string_agg(pl.key, ',' ORDER BY pl.key) FROM subscription s
          JOIN plan_version pv ON pv.id = s.plan_version_id JOIN plan pl ON pl.id = pv.plan_id
         WHERE s.account_id = a.id) AS plan,
       (SELECT string_agg(s.status, ',' ORDER BY s.id) FROM subscription s WHERE s.account_id = a.id) AS status,
       (SELECT count(*) FROM membership m WHERE m.account_id = a.id AND m.status <> 'deactivated') AS members
` + consoleAccountFilter + `
ORDER BY a.name, a.id LIMIT $4 OFFSET $5`
	consolePlanKeysSQL = `SELECT DISTINCT key FROM plan ORDER BY key`
)

// consoleLikePattern makes a "contains" pattern of user input, with LIKE's
// wildcards escaped so that "_" and "%" match themselves.
func consoleLikePattern(text string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.TrimSpace(text)) + "%"
}

// ConsoleSearchAccounts runs the console's account search.
func (s *Store) ConsoleSearchAccounts(ctx context.Context, q ConsoleAccountQuery) (ConsoleAccountPage, error) {
	if q.PerPage <= 0 || q.PerPage > 200 {
		q.PerPage = 25
	}
	q.Page = max(q.Page, 1)
	out := ConsoleAccountPage{Page: q.Page, PerPage: q.PerPage}
	pattern := consoleLikePattern(q.Text)
	if err := s.db.GetContext(ctx, &out.Total, consoleAccountCountSQL, pattern, q.Plan, q.Status); err != nil {
		return out, err
	}
	if err := s.db.SelectContext(ctx, &out.Accounts, consoleAccountPageSQL, pattern, q.Plan, q.Status,
		q.PerPage, (q.Page-1)*q.PerPage); err != nil {
		return out, err
	}
	err := s.db.SelectContext(ctx, &out.Plans, consolePlanKeysSQL)
	return out, err
}

// ConsoleMember is one member of an account as support sees it.
type ConsoleMember struct {
	ID         int64        `db:"id"`
	Email      string       `db:"email"`
	Name       string       `db:"name"`
	Role       string       `db:"role"`
	Status     string       `db:"status"`
	HasSeat    bool         `db:"has_seat"`
	LastSignIn sql.NullTime `db:"last_sign_in_at"`
}

// ConsoleStripeEvent is one row of the Stripe inbox.
type ConsoleStripeEvent struct {
	ID            string          `db:"id"`
	Type          string          `db:"type"`
	AccountSlug   sql.NullString  `db:"account_slug"`
	Created       time.Time       `db:"created"`
	ReceivedAt    time.Time       `db:"received_at"`
	ProcessedAt   sql.NullTime    `db:"processed_at"`
	Attempts      int             `db:"attempts"`
	NextAttemptAt time.Time       `db:"next_attempt_at"`
	LastError     string          `db:"last_error"`
	Payload       json.RawMessage `db:"payload"`
}

// ConsoleGrant is one vendor grant on an account.
type ConsoleGrant struct {
	ID         int64        `db:"id"`
	Kind       string       `db:"kind"`
	ProductKey string       `db:"product_key"`
	FeatureKey string       `db:"feature_key"`
	Enabled    bool         `db:"enabled"`
	Amount     int64        `db:"amount"`
	Reason     string       `db:"reason"`
	ExpiresAt  sql.NullTime `db:"expires_at"`
	CreatedBy  string       `db:"created_by"`
	CreatedAt  time.Time    `db:"created_at"`
}

// ConsoleFeature is a catalog feature a grant can name.
type ConsoleFeature struct {
	ProductKey string `db:"product_key"`
	Key        string `db:"key"`
	Name       string `db:"name"`
	Kind       string `db:"kind"`
}

// ConsoleAccountDetail is everything the console's account page shows.
type ConsoleAccountDetail struct {
	Account        Account
	Subscriptions  []Subscription
	Members        []ConsoleMember
	RecentAudit    []AuditEntry
	StripeEvents   []ConsoleStripeEvent
	Grants         []ConsoleGrant
	Impersonations []Impersonation
	Features       []ConsoleFeature // for the grant form
	Products       []string
}

const (
	consoleMembersSQL = `
SELECT m.id, u.email, u.name, m.role, m.status, m.last_sign_in_at,
       EXISTS (SELECT 1 FROM seat_assignment sa WHERE sa.account_id = m.account_id AND sa.membership_id = m.id) AS has_seat
FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = $1
ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 WHEN 'billing' THEN 2 ELSE 3 END, u.email`
	consoleRecentAuditSQL = `
SELECT id, account_id, seq, at, actor_type, actor_id, actor_label, impersonator, action,
       target_type, target_id, before, after, prev_hash, hash
FROM audit_entry WHERE account_id = $1 ORDER BY seq DESC LIMIT $2`
	consoleAccountEventsSQL = `
SELECT e.id, e.type, a.slug AS account_slug, e.created, e.received_at, e.processed_at, e.attempts,
       e.next_attempt_at, e.last_error, e.payload
FROM stripe_event e JOIN account a ON a.id = e.account_id
WHERE e.account_id = $1 ORDER BY e.created DESC, e.id LIMIT $2`
	consoleActiveGrantsSQL = `
SELECT g.id, g.kind, coalesce(p.key, '') AS product_key, coalesce(f.key, '') AS feature_key, g.enabled, g.amount,
       g.reason, g.expires_at, g.created_by, g.created_at
FROM entitlement_grant g
LEFT JOIN feature f ON f.id = g.feature_id
LEFT JOIN product p ON p.id = coalesce(g.product_id, f.product_id)
WHERE g.account_id = $1 AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $2)
ORDER BY g.id DESC`
	consoleImpersonationsSQL = `
SELECT i.id, i.staff_id, su.email AS staff_email, su.name AS staff_name, i.account_id, a.slug AS account_slug,
       a.name AS account_name, i.reason, i.mode, i.started_at, i.expires_at, i.ended_at, i.end_reason, i.return_to
FROM impersonation_session i JOIN staff_user su ON su.id = i.staff_id JOIN account a ON a.id = i.account_id
WHERE i.account_id = $1 ORDER BY i.started_at DESC, i.id DESC LIMIT $2`
	consoleFeaturesSQL = `
SELECT p.key AS product_key, f.key, f.name, f.kind
FROM feature f JOIN product p ON p.id = f.product_id ORDER BY p.key, f.position, f.key`
	consoleProductsSQL = `SELECT key FROM product ORDER BY key`
)

// ConsoleAccount loads the console's account page by slug.
func (s *Store) ConsoleAccount(ctx context.Context, slug string) (ConsoleAccountDetail, error) {
	var d ConsoleAccountDetail
	acct, err := s.AccountBySlug(ctx, slug)
	if err != nil {
		return d, err
	}
	d.Account = acct
	if d.Subscriptions, err = s.Subscriptions(ctx, acct.ID); err != nil {
		return d, err
	}
	queries := []struct {
		dest  any
		query string
		args  []any
	}{
		{&d.Members, consoleMembersSQL, []any{acct.ID}},
		{&d.RecentAudit, consoleRecentAuditSQL, []any{acct.ID, 20}},
		{&d.StripeEvents, consoleAccountEventsSQL, []any{acct.ID, 20}},
		{&d.Grants, consoleActiveGrantsSQL, []any{acct.ID, s.Now()}},
		{&d.Impersonations, consoleImpersonationsSQL, []any{acct.ID, 10}},
		{&d.Features, consoleFeaturesSQL, nil},
		{&d.Products, consoleProductsSQL, nil},
	}
	for _, q := range queries {
		if err := s.db.SelectContext(ctx, q.dest, q.query, q.args...); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return d, err
		}
	}
	return d, nil
}
