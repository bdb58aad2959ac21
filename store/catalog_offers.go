package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/entitle-dev/entitle/licensing"
)

// PlansOffered lists the plans of a product that an account may see, in
// ascending rank, each with its values, whether the account may buy it and
// whether its country may have it: public plans, pilots the account is
// listed for, and the plan it is on now. accountID 0 is a visitor (the
// public pricing page): public plans only, each buyable, the region
// decided at purchase once the account has a country.
func (s *Store) PlansOffered(ctx context.Context, productID, accountID int64) ([]BillingPlan, error) {
	if accountID == 0 {
		return s.plansOffered(ctx, productID, nil, nil)
	}
	acct, err := s.AccountByID(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var current string
	err = s.db.GetContext(ctx, &current, currentPlanKeySQL, accountID, productID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return s.plansOffered(ctx, productID, &acct, []string{current})
}

const currentPlanKeySQL = `
SELECT pl.key FROM subscription s JOIN plan_version pv ON pv.id = s.plan_version_id JOIN plan pl ON pl.id = pv.plan_id
WHERE s.account_id = $1 AND s.product_id = $2`

// plansOffered is PlansOffered for a loaded account (nil: a visitor) whose
// subscription is on, or scheduled onto, the plans keep.
func (s *Store) plansOffered(ctx context.Context, productID int64, acct *Account, keep []string) ([]BillingPlan, error) {
	var accountID int64
	if acct != nil {
		accountID = acct.ID
	}
	var all []BillingPlan
	if err := s.db.SelectContext(ctx, &all, `SELECT * FROM (`+billingPlansSQL+`) v ORDER BY rank`, productID, accountID); err != nil {
		return nil, err
	}
	controls, err := exportControls(ctx, s.db, productID)
	if err != nil {
		return nil, err
	}
	plans := make([]BillingPlan, 0, len(all))
	ids := make([]int64, 0, len(all))
	for _, p := range all {
		offer := licensing.PlanOffer{Visibility: licensing.Visibility(p.Visibility), Listed: p.PilotListed, Current: slices.Contains(keep, p.PlanKey)}
		if !offer.Visible() {
			continue
		}
		p.Buyable, p.Available = offer.Buyable(), true
		if acct != nil {
			p.Available = licensing.PlanAvailable(acct.Country.String, regionsOf(p.Allow, p.Deny), controls)
		}
		plans = append(plans, p)
		ids = append(ids, p.ID)
	}
	values, err := s.planValues(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range plans {
		plans[i].Values = values[plans[i].ID]
	}
	return plans, nil
}

// PilotPlan is a pilot plan and whether one account is on its list.
type PilotPlan struct {
	ProductKey string `db:"product_key"`
	PlanKey    string `db:"plan_key"`
	Name       string `db:"name"`
	Listed     bool   `db:"listed"`
}

const (
	pilotPlansSQL = `
SELECT p.key AS product_key, pl.key AS plan_key,
       (SELECT pv.name FROM plan_version pv WHERE pv.plan_id = pl.id ORDER BY pv.version DESC LIMIT 1) AS name,
       EXISTS (SELECT 1 FROM plan_pilot_account ppa WHERE ppa.plan_id = pl.id AND ppa.account_id = $1) AS listed
FROM plan pl JOIN product p ON p.id = pl.product_id
WHERE pl.visibility = 'pilot'
ORDER BY p.key, pl.key`
	pilotPlanSQL = `
SELECT pl.id FROM plan pl JOIN product p ON p.id = pl.product_id
WHERE p.key = $1 AND pl.key = $2 AND pl.visibility = 'pilot'`
	addPilotAccountSQL = `
INSERT INTO plan_pilot_account (plan_id, account_id, added_by, added_at) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING`
	removePilotAccountSQL = `DELETE FROM plan_pilot_account WHERE plan_id = $1 AND account_id = $2`
)

// PilotPlans lists every pilot plan of the catalog with whether the account
// is on its list, for the console.
func (s *Store) PilotPlans(ctx context.Context, accountID int64) ([]PilotPlan, error) {
	var out []PilotPlan
	err := s.db.SelectContext(ctx, &out, pilotPlansSQL, accountID)
	return out, err
}

// SetPilotAccount puts the account (by slug) on a pilot plan's list, or
// takes it off: listed accounts see the plan on /billing and may buy it;
// nobody else can. Taking an account off moves nobody: a subscriber keeps
// the plan, as with a retired one.
func (s *Store) SetPilotAccount(ctx context.Context, actor Actor, slug, productKey, planKey string, listed bool) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var accountID int64
		err := tx.GetContext(ctx, &accountID, grantLockAccountSQL, slug)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var planID int64
		err = tx.GetContext(ctx, &planID, pilotPlanSQL, productKey, planKey)
		if errors.Is(err, sql.ErrNoRows) {
			return Invalid("plan", "choose a pilot plan of the catalog")
		}
		if err != nil {
			return err
		}
		query, action := addPilotAccountSQL, "plan.pilot_add"
		args := []any{planID, accountID, actor.Label, s.Now()}
		if !listed {
			query, action, args = removePilotAccountSQL, "plan.pilot_remove", args[:2]
		}
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // already so: nothing to audit
		}
		return audit(ctx, tx, s.Now(), AuditEvent{AccountID: accountID, Actor: actor, Action: action,
			TargetType: "plan", TargetID: productKey + "/" + planKey})
	})
}

const setAccountCountrySQL = `
WITH old AS (SELECT id, country FROM account WHERE slug = $1 FOR UPDATE)
UPDATE account a SET country = $2 FROM old WHERE a.id = old.id
RETURNING a.id, coalesce(old.country, '') AS before`

// SetAccountCountry sets the account's country (ISO 3166-1 alpha-2, any
// letter case; empty clears it). Regional rules read it at once, on every
// instance: the entitlement caches hear of it through the audit entry.
func (s *Store) SetAccountCountry(ctx context.Context, actor Actor, slug, country string) error {
	country = strings.ToUpper(strings.TrimSpace(country))
	if country != "" && !licensing.IsCountryCode(country) {
		return Invalid("country", `enter a two-letter ISO 3166-1 code such as "DE", or leave it empty`)
	}
	var accountID int64
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			ID     int64  `db:"id"`
			Before string `db:"before"`
		}
		err := tx.GetContext(ctx, &row, setAccountCountrySQL, slug, sql.NullString{String: country, Valid: country != ""})
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		accountID = row.ID
		if row.Before == country {
			return nil
		}
		return audit(ctx, tx, s.Now(), AuditEvent{AccountID: row.ID, Actor: actor, Action: "account.country",
			TargetType: "account", TargetID: itoa(row.ID),
			Before: map[string]any{"country": row.Before}, After: map[string]any{"country": country}})
	})
	if err == nil {
		s.committed(accountPayload(accountID))
	}
	return err
}

// RecordTrialExtension audits an operator's request to extend a trial,
// before the billing provider is asked: the provider's event then changes
// the subscription, audited as Stripe's.
func (s *Store) RecordTrialExtension(ctx context.Context, actor Actor, accountID, subscriptionID int64, from, to time.Time, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Invalid("reason", "say why the trial is extended")
	}
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		return audit(ctx, tx, s.Now(), AuditEvent{AccountID: accountID, Actor: actor, Action: "billing.trial_extension",
			TargetType: "subscription", TargetID: itoa(subscriptionID),
			Before: map[string]any{"trial_ends_at": from.UTC().Format(time.RFC3339)},
			After:  map[string]any{"trial_ends_at": to.UTC().Format(time.RFC3339), "reason": reason}})
	})
}
