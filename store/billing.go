package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// BillingSubscription is a subscription as the billing page and the
// billing actions see it.
type BillingSubscription struct {
	Subscription
	EventSeq          int64          `db:"event_seq"`
	ScheduledPlanKey  sql.NullString `db:"scheduled_plan_key"`
	ScheduledPlanName sql.NullString `db:"scheduled_plan_name"`
	ScheduledSeats    sql.NullInt64  `db:"scheduled_seats"`
	PriceID           sql.NullString `db:"price_id"`
	UnitAmount        int64          `db:"unit_amount"` // of PriceID, per seat or per month
	Currency          string         `db:"currency"`
	CustomerID        sql.NullString `db:"customer_id"`
}

// BillingPlan is one plan of the comparison: its newest version, its
// monthly price and its value for every feature.
type BillingPlan struct {
	PlanVersion
	PlanID      int64          `db:"plan_id"`
	PriceID     sql.NullString `db:"price_id"`
	UnitAmount  int64          `db:"unit_amount"`
	Currency    string         `db:"currency"`
	Visibility  string         `db:"visibility"`
	PilotListed bool           `db:"pilot_listed"`
	Allow       pq.StringArray `db:"regions_allow"`
	Deny        pq.StringArray `db:"regions_deny"`
	Values      map[string]licensing.PlanValue
	// Buyable: the account may move onto the plan (public, or a pilot it
	// is listed for). Available: its country may have it. A plan is only
	// listed when the account may see it (licensing.PlanOffer).
	Buyable   bool
	Available bool
}

// BillingState is everything the billing page and the billing actions
// read for an account's product (the first product it subscribes to, or
// the catalog's first product).
type BillingState struct {
	Account       Account
	ProductID     int64
	ProductKey    string
	ProductName   string
	Subscription  *BillingSubscription // nil: no subscription yet
	Features      []licensing.Feature
	CurrentValues map[string]licensing.PlanValue // of the version the subscription is on
	Plans         []BillingPlan                  // ascending rank
	TrialsUsed    map[string]bool                // plan key → a trial was had
	Pending       int                            // events not yet applied
	Parked        int                            // events that failed until an operator retries them
}

// Plan finds a plan of the comparison by key.
func (b BillingState) Plan(key string) (BillingPlan, bool) {
	for _, p := range b.Plans {
		if p.PlanKey == key {
			return p, true
		}
	}
	return BillingPlan{}, false
}

const (
	billingSubscriptionSQL = `
SELECT s.id, s.account_id, s.product_id, p.key AS product_key, p.name AS product_name,
       s.plan_version_id, pl.key AS plan_key, pv.name AS plan_name, pv.version AS plan_version,
       pv.rank AS plan_rank, pv.seat_based, s.status, s.seats,
       s.seats_assigned,
       s.trial_ends_at, s.past_due_since, s.current_period_end, s.cancel_at_period_end, s.stripe_subscription_id,
       s.event_seq, spl.key AS scheduled_plan_key, spv.name AS scheduled_plan_name, s.scheduled_seats,
       pp.stripe_price_id AS price_id, coalesce(pp.unit_amount, 0) AS unit_amount, coalesce(pp.currency, '') AS currency,
       a.stripe_customer_id AS customer_id
FROM subscription s
JOIN account a ON a.id = s.account_id
LEFT JOIN LATERAL (SELECT * FROM plan_price WHERE plan_version_id = s.plan_version_id
                   ORDER BY billing_interval, id LIMIT 1) pp ON true
JOIN product p ON p.id = s.product_id
JOIN plan_version pv ON pv.id = s.plan_version_id
JOIN plan pl ON pl.id = pv.plan_id
LEFT JOIN plan_version spv ON spv.id = s.scheduled_plan_version_id LEFT JOIN plan spl ON spl.id = spv.plan_id
WHERE s.account_id = $1
ORDER BY p.key LIMIT 1`
	firstProductSQL = `SELECT id, key, name FROM product ORDER BY key LIMIT 1`
	productByIDSQL  = `SELECT id, key, name FROM product WHERE id = $1`
	// $2 is the account (0: a visitor), for its place on pilot lists.
	billingPlansSQL = `
SELECT DISTINCT ON (pl.id) pv.id, pr.key AS product_key, pl.key AS plan_key, pv.version, pv.name, pv.rank,
       pv.seat_based, pv.trial_days, pl.id AS plan_id, pp.stripe_price_id AS price_id,
       coalesce(pp.unit_amount, 0) AS unit_amount, coalesce(pp.currency, '') AS currency,
       pl.visibility, pl.regions_allow, pl.regions_deny,
       EXISTS (SELECT 1 FROM plan_pilot_account ppa WHERE ppa.plan_id = pl.id AND ppa.account_id = $2) AS pilot_listed
FROM plan_version pv JOIN plan pl ON pl.id = pv.plan_id JOIN product pr ON pr.id = pl.product_id
LEFT JOIN LATERAL (SELECT * FROM plan_price WHERE plan_version_id = pv.id
                   ORDER BY billing_interval, id LIMIT 1) pp ON true
WHERE pl.product_id = $1
ORDER BY pl.id, pv.version DESC`
	productFeaturesSQL = `SELECT key, name, kind, period FROM feature WHERE product_id = $1 ORDER BY position, key`
	planValuesSQL      = `
SELECT pf.plan_version_id, f.key, pf.enabled, pf.limit_value
FROM plan_feature pf JOIN feature f ON f.id = pf.feature_id
WHERE pf.plan_version_id = ANY($1)`
	trialsUsedSQL = `
SELECT pl.key FROM billing_trial bt JOIN plan pl ON pl.id = bt.plan_id WHERE bt.account_id = $1`
)

// BillingState loads an account's billing state.
func (s *Store) BillingState(ctx context.Context, accountID int64) (BillingState, error) {
	acct, err := s.AccountByID(ctx, accountID)
	if err != nil {
		return BillingState{}, err
	}
	st := BillingState{Account: acct, TrialsUsed: map[string]bool{}}
	// The inbox is read before the subscription. A page that polls after
	// a change is done once nothing is pending and the subscription has
	// moved (handlers.billingView); read the other way round, an event
	// applied between the two reads would count as done while the
	// subscription shown is from before it, and the page would stop
	// polling on the old plan. Read first, "nothing pending" means every
	// event received so far is in the subscription read after it.
	if st.Pending, st.Parked, err = s.PendingStripeEvents(ctx, accountID); err != nil {
		return st, err
	}
	var sub BillingSubscription
	var product struct {
		ID   int64  `db:"id"`
		Key  string `db:"key"`
		Name string `db:"name"`
	}
	err = s.db.GetContext(ctx, &sub, billingSubscriptionSQL, accountID)
	switch {
	case err == nil:
		st.Subscription = &sub
		err = s.db.GetContext(ctx, &product, productByIDSQL, sub.ProductID)
	case errors.Is(err, sql.ErrNoRows):
		err = s.db.GetContext(ctx, &product, firstProductSQL)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return st, ErrNotFound // no catalog
	}
	if err != nil {
		return st, err
	}
	st.ProductID, st.ProductKey, st.ProductName = product.ID, product.Key, product.Name

	if st.Features, err = s.productFeatures(ctx, st.ProductID); err != nil {
		return st, err
	}
	var current []string
	if st.Subscription != nil {
		current = []string{st.Subscription.PlanKey, st.Subscription.ScheduledPlanKey.String}
		values, err := s.planValues(ctx, []int64{st.Subscription.PlanVersionID})
		if err != nil {
			return st, err
		}
		st.CurrentValues = values[st.Subscription.PlanVersionID]
	}
	if st.Plans, err = s.plansOffered(ctx, st.ProductID, &acct, current); err != nil {
		return st, err
	}
	var used []string
	if err := s.db.SelectContext(ctx, &used, trialsUsedSQL, accountID); err != nil {
		return st, err
	}
	for _, k := range used {
		st.TrialsUsed[k] = true
	}
	return st, nil
}

// planValues loads the feature values of plan versions; a feature a
// version does not list is absent from its map (not in the plan).
func (s *Store) planValues(ctx context.Context, versionIDs []int64) (map[int64]map[string]licensing.PlanValue, error) {
	var rows []struct {
		VersionID int64         `db:"plan_version_id"`
		Key       string        `db:"key"`
		Enabled   bool          `db:"enabled"`
		Limit     sql.NullInt64 `db:"limit_value"`
	}
	if err := s.db.SelectContext(ctx, &rows, planValuesSQL, pq.Array(versionIDs)); err != nil {
		return nil, err
	}
	out := map[int64]map[string]licensing.PlanValue{}
	for _, r := range rows {
		if out[r.VersionID] == nil {
			out[r.VersionID] = map[string]licensing.PlanValue{}
		}
		v := licensing.PlanValue{Enabled: r.Enabled}
		if r.Limit.Valid {
			limit := r.Limit.Int64
			v.Limit = &limit
		}
		out[r.VersionID][r.Key] = v
	}
	return out, nil
}

const setCustomerSQL = `
UPDATE account SET stripe_customer_id = $2 WHERE id = $1 AND stripe_customer_id IS NULL RETURNING id`

// SetStripeCustomer records the Stripe customer created for an account
// (only once: an account keeps its customer).
func (s *Store) SetStripeCustomer(ctx context.Context, actor Actor, accountID int64, customerID string) error {
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, setCustomerSQL, accountID, customerID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrConflict
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "billing.customer_create",
			TargetType: "account", TargetID: itoa(accountID), After: map[string]any{"stripe_customer": customerID}})
	})
}

// productFeatures lists a product's features in catalog order.
func (s *Store) productFeatures(ctx context.Context, productID int64) ([]licensing.Feature, error) {
	var rows []struct {
		Key    string `db:"key"`
		Name   string `db:"name"`
		Kind   string `db:"kind"`
		Period string `db:"period"`
	}
	if err := s.db.SelectContext(ctx, &rows, productFeaturesSQL, productID); err != nil {
		return nil, err
	}
	out := make([]licensing.Feature, 0, len(rows))
	for _, f := range rows {
		out = append(out, licensing.Feature{Key: f.Key, Name: f.Name, Kind: licensing.FeatureKind(f.Kind), Period: licensing.Period(f.Period)})
	}
	return out, nil
}

// Pricing is the catalog as the public pricing page shows it: the first
// product's features and the plans a visitor is offered (no pilot or
// retired plans), with their values, in rank order.
func (s *Store) Pricing(ctx context.Context) (BillingState, error) {
	return s.PricingFor(ctx, 0)
}

// PricingFor is Pricing as a signed-in account sees it: also the pilot
// plans it is listed for (accountID 0: a visitor).
func (s *Store) PricingFor(ctx context.Context, accountID int64) (BillingState, error) {
	var st BillingState
	var product struct {
		ID   int64  `db:"id"`
		Key  string `db:"key"`
		Name string `db:"name"`
	}
	err := s.db.GetContext(ctx, &product, firstProductSQL)
	if errors.Is(err, sql.ErrNoRows) {
		return st, ErrNotFound
	}
	if err != nil {
		return st, err
	}
	st.ProductID, st.ProductKey, st.ProductName = product.ID, product.Key, product.Name
	if st.Features, err = s.productFeatures(ctx, st.ProductID); err != nil {
		return st, err
	}
	st.Plans, err = s.PlansOffered(ctx, st.ProductID, accountID)
	return st, err
}
