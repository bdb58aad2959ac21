package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// Subscription is an account's subscription to one product, with the plan
// version it is on.
type Subscription struct {
	ID                 int64          `db:"id"`
	AccountID          int64          `db:"account_id"`
	ProductID          int64          `db:"product_id"`
	ProductKey         string         `db:"product_key"`
	ProductName        string         `db:"product_name"`
	PlanVersionID      int64          `db:"plan_version_id"`
	PlanKey            string         `db:"plan_key"`
	PlanName           string         `db:"plan_name"`
	PlanVersion        int            `db:"plan_version"`
	PlanRank           int            `db:"plan_rank"`
	SeatBased          bool           `db:"seat_based"`
	Status             string         `db:"status"`
	Seats              int            `db:"seats"`
	SeatsAssigned      int            `db:"seats_assigned"`
	TrialEndsAt        sql.NullTime   `db:"trial_ends_at"`
	PastDueSince       sql.NullTime   `db:"past_due_since"`
	CurrentPeriodEnd   sql.NullTime   `db:"current_period_end"`
	CancelAtPeriodEnd  bool           `db:"cancel_at_period_end"`
	StripeSubscription sql.NullString `db:"stripe_subscription_id"`
}

// State is the lifecycle state evaluation reads.
func (sub Subscription) State() *licensing.SubscriptionState {
	return subscriptionState(sub.Status, sub.SeatBased, sub.TrialEndsAt, sub.PastDueSince)
}

func subscriptionState(status string, seatBased bool, trialEndsAt, pastDueSince sql.NullTime) *licensing.SubscriptionState {
	return &licensing.SubscriptionState{
		Status:       licensing.Status(status),
		SeatBased:    seatBased,
		TrialEndsAt:  trialEndsAt.Time,
		PastDueSince: pastDueSince.Time,
	}
}

const subscriptionsSQL = `
SELECT s.id, s.account_id, s.product_id, p.key AS product_key, p.name AS product_name,
       s.plan_version_id, pl.key AS plan_key, pv.name AS plan_name, pv.version AS plan_version,
       pv.rank AS plan_rank, pv.seat_based, s.status, s.seats,
       s.seats_assigned,
       s.trial_ends_at, s.past_due_since, s.current_period_end, s.cancel_at_period_end, s.stripe_subscription_id
FROM subscription s
JOIN product p ON p.id = s.product_id
JOIN plan_version pv ON pv.id = s.plan_version_id
JOIN plan pl ON pl.id = pv.plan_id
WHERE s.account_id = $1
ORDER BY p.key`

// Subscriptions lists an account's subscriptions.
func (s *Store) Subscriptions(ctx context.Context, accountID int64) ([]Subscription, error) {
	var out []Subscription
	err := s.selectPrepared(ctx, &out, subscriptionsSQL, accountID)
	return out, err
}

const (
	productsSQL = `SELECT id, key, name FROM product ORDER BY key`
	// Every product's features, with the values of the plan version the
	// account's subscription to it is on (none without a subscription).
	featureValuesSQL = `
SELECT f.product_id, f.key, f.name, f.kind, f.period, f.regions_allow, f.regions_deny, pf.enabled, pf.limit_value
FROM feature f
LEFT JOIN subscription s ON s.account_id = $1 AND s.product_id = f.product_id
LEFT JOIN plan_feature pf ON pf.feature_id = f.id AND pf.plan_version_id = s.plan_version_id
ORDER BY f.product_id, f.position, f.key`
	activeGrantsSQL = `
SELECT g.kind, coalesce(f.key, '') AS feature_key, coalesce(g.product_id, f.product_id, 0) AS product_id,
       g.enabled, g.amount, g.reason, g.expires_at
FROM entitlement_grant g LEFT JOIN feature f ON f.id = g.feature_id
WHERE g.account_id = $1 AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $2)
ORDER BY g.id`
	// Usage is summed over each feature's own period: metered features by
	// calendar day, month or year; limit features over all time.
	usageSQL = `
SELECT f.product_id, f.key, sum(u.quantity)::bigint AS used
FROM usage_event u JOIN feature f ON f.id = u.feature_id
WHERE u.account_id = $1
  AND (f.kind = 'limit'
       OR u.occurred_at >= CASE f.period WHEN 'day' THEN $2::timestamptz WHEN 'year' THEN $4::timestamptz
                                         ELSE $3::timestamptz END)
GROUP BY f.product_id, f.key`
	// Seat holders whose membership is not deactivated.
	stateSeatHoldersSQL = `
SELECT sa.subscription_id, u.id AS user_id, u.email
FROM seat_assignment sa
JOIN membership m ON m.id = sa.membership_id AND m.account_id = sa.account_id
JOIN app_user u ON u.id = m.user_id
WHERE sa.account_id = $1 AND m.status <> 'deactivated'
ORDER BY sa.subscription_id, lower(u.email)`
)

// stateQueries are the statements of an account's state. The check cache
// reads the state again after every change of the account, and every usage
// report reads it under the account's usage lock: prepared, none is
// parsed or planned again. The seat
// holders are left out: their best plan depends on the account's size (a
// kept plan read a 2-seat account's holders in 1.3 ms instead of 0.8 ms
// with planning).
var stateQueries = []string{accountByIDSQL, subscriptionsSQL, productsSQL, activeGrantsSQL,
	accountPlanRegionsSQL, allExportControlsSQL, heldAddOnsSQL, featureValuesSQL, usageSQL}

// stateStatements prepares stateQueries on the pool, before the
// transaction that reads the state begins (preparing takes a connection of
// its own).
func (s *Store) stateStatements(ctx context.Context) (map[string]*sqlx.Stmt, error) {
	return s.preparedSet(ctx, stateQueries)
}

// stateParts says what of an account's state a reader needs: a usage
// report checks no seat, so it need not read the seat holders (thousands
// of rows in a large account).
type stateParts struct {
	seatHolders bool
}

var (
	wholeState        = stateParts{seatHolders: true}
	stateWithoutSeats = stateParts{}
)

// AccountState assembles everything evaluation reads for an account, at the
// store's clock. The portal, the API and the offline licence all evaluate
// this snapshot with licensing.Evaluate.
func (s *Store) AccountState(ctx context.Context, accountID int64) (licensing.AccountState, error) {
	return s.accountState(ctx, s.db, accountID, wholeState)
}

// accountState reads the snapshot through q: the pool, or a transaction
// that must see its own locks' view (recording usage).
func (s *Store) accountState(ctx context.Context, q sqlx.QueryerContext, accountID int64, parts stateParts) (licensing.AccountState, error) {
	now := s.Now()
	var acct Account
	err := sqlx.GetContext(ctx, q, &acct, accountByIDSQL, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return licensing.AccountState{}, ErrNotFound
	}
	if err != nil {
		return licensing.AccountState{}, err
	}
	var subs []Subscription
	if err := sqlx.SelectContext(ctx, q, &subs, subscriptionsSQL, accountID); err != nil {
		return licensing.AccountState{}, err
	}
	// Entitlement API: who holds a seat, per subscription.
	var holders []struct {
		SubscriptionID int64  `db:"subscription_id"`
		UserID         int64  `db:"user_id"`
		Email          string `db:"email"`
	}
	if parts.seatHolders {
		if err := sqlx.SelectContext(ctx, q, &holders, stateSeatHoldersSQL, accountID); err != nil {
			return licensing.AccountState{}, err
		}
	}
	var products []struct {
		ID   int64  `db:"id"`
		Key  string `db:"key"`
		Name string `db:"name"`
	}
	if err := sqlx.SelectContext(ctx, q, &products, productsSQL); err != nil {
		return licensing.AccountState{}, err
	}
	var grants []struct {
		Kind       string       `db:"kind"`
		FeatureKey string       `db:"feature_key"`
		ProductID  int64        `db:"product_id"`
		Enabled    bool         `db:"enabled"`
		Amount     int64        `db:"amount"`
		Reason     string       `db:"reason"`
		ExpiresAt  sql.NullTime `db:"expires_at"`
	}
	if err := sqlx.SelectContext(ctx, q, &grants, activeGrantsSQL, accountID, now); err != nil {
		return licensing.AccountState{}, err
	}

	rules, err := regionRules(ctx, q, accountID)
	if err != nil {
		return licensing.AccountState{}, err
	}
	addOns, err := heldAddOns(ctx, q, accountID)
	if err != nil {
		return licensing.AccountState{}, err
	}

	var features []struct {
		ProductID int64          `db:"product_id"`
		Key       string         `db:"key"`
		Name      string         `db:"name"`
		Kind      string         `db:"kind"`
		Period    string         `db:"period"`
		Allow     pq.StringArray `db:"regions_allow"`
		Deny      pq.StringArray `db:"regions_deny"`
		Enabled   sql.NullBool   `db:"enabled"`
		Limit     sql.NullInt64  `db:"limit_value"`
	}
	if err := sqlx.SelectContext(ctx, q, &features, featureValuesSQL, accountID); err != nil {
		return licensing.AccountState{}, err
	}
	var usage []struct {
		ProductID int64  `db:"product_id"`
		Key       string `db:"key"`
		Used      int64  `db:"used"`
	}
	if err := sqlx.SelectContext(ctx, q, &usage, usageSQL, accountID, licensing.PeriodStart(licensing.Daily, now),
		licensing.PeriodStart(licensing.Monthly, now), licensing.PeriodStart(licensing.Yearly, now)); err != nil {
		return licensing.AccountState{}, err
	}

	state := licensing.AccountState{Account: acct.Slug, AccountName: acct.Name, Country: acct.Country.String}
	for _, p := range products {
		ps := licensing.ProductState{Product: p.Key, ProductName: p.Name, Values: map[string]licensing.PlanValue{}, Usage: map[string]int64{},
			Country: acct.Country.String, Regions: rules[p.ID]}
		for _, sub := range subs {
			if sub.ProductID == p.ID {
				ps.Plan = &licensing.PlanRef{Key: sub.PlanKey, Name: sub.PlanName, Version: sub.PlanVersion, Rank: sub.PlanRank, SeatBased: sub.SeatBased}
				ps.Subscription = sub.State()
				ps.Seats, ps.SeatsAssigned = sub.Seats, sub.SeatsAssigned
				ps.AddOns = addOns[p.ID]
				for _, h := range holders {
					if h.SubscriptionID == sub.ID {
						ps.SeatHolders = append(ps.SeatHolders, licensing.SeatHolder{UserID: h.UserID, Email: h.Email})
					}
				}
			}
		}
		for _, r := range features {
			if r.ProductID != p.ID {
				continue
			}
			ps.Features = append(ps.Features, licensing.Feature{Key: r.Key, Name: r.Name, Kind: licensing.FeatureKind(r.Kind),
				Period: licensing.Period(r.Period), Regions: regionsOf(r.Allow, r.Deny)})
			if r.Enabled.Valid {
				v := licensing.PlanValue{Enabled: r.Enabled.Bool}
				if r.Limit.Valid {
					limit := r.Limit.Int64
					v.Limit = &limit
				}
				ps.Values[r.Key] = v
			}
		}
		for _, g := range grants {
			if g.ProductID == p.ID {
				ps.Grants = append(ps.Grants, licensing.Grant{Kind: licensing.GrantKind(g.Kind), FeatureKey: g.FeatureKey,
					Enabled: g.Enabled, Amount: g.Amount, Reason: g.Reason, ExpiresAt: g.ExpiresAt.Time})
			}
		}
		for _, u := range usage {
			if u.ProductID == p.ID {
				ps.Usage[u.Key] = u.Used
			}
		}
		state.Products = append(state.Products, ps)
	}
	return state, nil
}
