package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/entitle-dev/entitle/licensing"
)

// CatalogChange is one thing `catalog apply` did, for its report.
type CatalogChange struct {
	Product, Plan, Feature string
	What                   string // created, updated, versioned, settings (visibility or regions only), unchanged
}

const (
	upsertProductSQL = `
INSERT INTO product (key, name) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET name = EXCLUDED.name
RETURNING id`
	// The old row's regions come back beside the id (a CTE reads the
	// snapshot from before the statement), so a change can be audited.
	upsertFeatureSQL = `
WITH old AS (SELECT regions_allow, regions_deny FROM feature WHERE product_id = $1 AND key = $2)
INSERT INTO feature (product_id, key, name, kind, period, position, regions_allow, regions_deny)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (product_id, key) DO UPDATE
   SET name = EXCLUDED.name, kind = EXCLUDED.kind, period = EXCLUDED.period, position = EXCLUDED.position,
       regions_allow = EXCLUDED.regions_allow, regions_deny = EXCLUDED.regions_deny
RETURNING id, coalesce((SELECT regions_allow FROM old), '{}') AS old_allow,
          coalesce((SELECT regions_deny FROM old), '{}') AS old_deny`
	upsertPlanSQL = `
WITH old AS (SELECT visibility, regions_allow, regions_deny FROM plan WHERE product_id = $1 AND key = $2)
INSERT INTO plan (product_id, key, visibility, regions_allow, regions_deny) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (product_id, key) DO UPDATE
   SET visibility = EXCLUDED.visibility, regions_allow = EXCLUDED.regions_allow, regions_deny = EXCLUDED.regions_deny
RETURNING id, coalesce((SELECT visibility FROM old), '') AS old_visibility,
          coalesce((SELECT regions_allow FROM old), '{}') AS old_allow,
          coalesce((SELECT regions_deny FROM old), '{}') AS old_deny`
	latestPlanVersionSQL = `
SELECT pv.id, pv.version, pv.fingerprint,
       EXISTS (SELECT 1 FROM subscription s
               WHERE s.plan_version_id = pv.id OR s.scheduled_plan_version_id = pv.id) AS has_subscribers
FROM plan_version pv WHERE pv.plan_id = $1 ORDER BY pv.version DESC LIMIT 1`
	insertPlanVersionSQL = `
INSERT INTO plan_version (plan_id, version, name, rank, seat_based, trial_days, fingerprint)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`
	updatePlanVersionSQL = `
UPDATE plan_version SET name = $2, rank = $3, seat_based = $4, trial_days = $5, fingerprint = $6 WHERE id = $1`
	deletePlanPricesSQL   = `DELETE FROM plan_price WHERE plan_version_id = $1`
	deletePlanFeaturesSQL = `DELETE FROM plan_feature WHERE plan_version_id = $1`
	insertPlanPriceSQL    = `
INSERT INTO plan_price (plan_version_id, stripe_price_id, billing_interval, unit_amount, currency)
VALUES ($1, $2, $3, $4, $5)`
	insertPlanFeatureSQL = `
INSERT INTO plan_feature (plan_version_id, feature_id, enabled, limit_value) VALUES ($1, $2, $3, $4)`
	lockCatalogSQL = `SELECT pg_advisory_xact_lock(17217, 0)` // "CA": one catalog apply at a time
)

// ApplyCatalog upserts validated products in one transaction. Applying the
// same catalog twice changes nothing. A plan whose content changed gets a
// new version when the current version has subscribers (they keep theirs);
// otherwise the current version is updated in place.
func (s *Store) ApplyCatalog(ctx context.Context, actor Actor, products []licensing.Product) ([]CatalogChange, error) {
	var changes []CatalogChange
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, lockCatalogSQL); err != nil {
			return err
		}
		for _, p := range products {
			var productID int64
			if err := tx.GetContext(ctx, &productID, upsertProductSQL, p.Key, p.Name); err != nil {
				return fmt.Errorf("product %q: %w", p.Key, err)
			}
			featureIDs := make(map[string]int64, len(p.Features))
			for i, f := range p.Features {
				id, err := s.applyFeature(ctx, tx, actor, productID, p.Key, i, f)
				if err != nil {
					return fmt.Errorf("product %q, feature %q: %w", p.Key, f.Key, err)
				}
				featureIDs[f.Key] = id
				if err := applyFeatureDevices(ctx, tx, id, f); err != nil {
					return fmt.Errorf("product %q, feature %q: %w", p.Key, f.Key, err)
				}
			}
			if err := s.applyExportControls(ctx, tx, actor, productID, p); err != nil {
				return fmt.Errorf("product %q, export controls: %w", p.Key, err)
			}
			if err := s.applyPromotions(ctx, tx, actor, productID, p); err != nil {
				return fmt.Errorf("product %q, promotions: %w", p.Key, err)
			}
			for _, plan := range p.Plans {
				what, err := s.applyPlan(ctx, tx, actor, productID, p.Key, featureIDs, plan)
				if err != nil {
					return fmt.Errorf("product %q, plan %q: %w", p.Key, plan.Key, err)
				}
				changes = append(changes, CatalogChange{Product: p.Key, Plan: plan.Key, What: what})
				if what != "unchanged" && what != "settings" {
					if err := audit(ctx, tx, s.Now(), AuditEvent{Actor: actor, Action: "catalog.plan_" + what,
						TargetType: "plan", TargetID: p.Key + "/" + plan.Key,
						After: map[string]any{"fingerprint": plan.Fingerprint(), "rank": plan.Rank, "name": plan.Name}}); err != nil {
						return err
					}
				}
			}
			if err := s.applyAddOns(ctx, tx, actor, productID, p.Key, featureIDs, p.AddOns); err != nil {
				return fmt.Errorf("product %q, add-ons: %w", p.Key, err)
			}
		}
		// Entitlement API: every instance drops its cached states.
		return notifyCatalogChanged(ctx, tx)
	})
	if err == nil {
		s.committed(ChangedEverything)
	}
	return changes, err
}

func (s *Store) applyPlan(ctx context.Context, tx *sqlx.Tx, actor Actor, productID int64, productKey string,
	featureIDs map[string]int64, plan licensing.Plan) (string, error) {
	planID, settingsChanged, err := s.applyPlanSettings(ctx, tx, actor, productID, productKey, plan)
	if err != nil {
		return "", err
	}
	what, err := s.applyPlanContent(ctx, tx, planID, featureIDs, plan)
	if what == "unchanged" && settingsChanged {
		what = "settings"
	}
	return what, err
}

// applyPlanContent writes the plan's versioned content: a new version when
// the current one has subscribers, in place otherwise.
func (s *Store) applyPlanContent(ctx context.Context, tx *sqlx.Tx, planID int64, featureIDs map[string]int64, plan licensing.Plan) (string, error) {
	fingerprint := plan.Fingerprint()
	var cur struct {
		ID             int64  `db:"id"`
		Version        int    `db:"version"`
		Fingerprint    string `db:"fingerprint"`
		HasSubscribers bool   `db:"has_subscribers"`
	}
	err := tx.GetContext(ctx, &cur, latestPlanVersionSQL, planID)
	var versionID int64
	var what string
	switch {
	case errors.Is(err, sql.ErrNoRows):
		what = "created"
		err = tx.GetContext(ctx, &versionID, insertPlanVersionSQL, planID, 1, plan.Name, plan.Rank, plan.SeatBased, plan.TrialDays, fingerprint)
	case err != nil:
		return "", err
	case cur.Fingerprint == fingerprint:
		return "unchanged", nil
	case cur.HasSubscribers:
		what = "versioned"
		err = tx.GetContext(ctx, &versionID, insertPlanVersionSQL, planID, cur.Version+1, plan.Name, plan.Rank, plan.SeatBased, plan.TrialDays, fingerprint)
	default:
		what, versionID = "updated", cur.ID
		if _, err = tx.ExecContext(ctx, updatePlanVersionSQL, cur.ID, plan.Name, plan.Rank, plan.SeatBased, plan.TrialDays, fingerprint); err == nil {
			if _, err = tx.ExecContext(ctx, deletePlanPricesSQL, cur.ID); err == nil {
				_, err = tx.ExecContext(ctx, deletePlanFeaturesSQL, cur.ID)
			}
		}
	}
	if err != nil {
		return "", err
	}
	for _, pr := range plan.Prices {
		if _, err := tx.ExecContext(ctx, insertPlanPriceSQL, versionID, pr.StripePriceID, pr.Interval, pr.UnitAmount, pr.Currency); err != nil {
			return "", err
		}
	}
	for key, v := range plan.Values {
		if _, err := tx.ExecContext(ctx, insertPlanFeatureSQL, versionID, featureIDs[key], v.Enabled, v.Limit); err != nil {
			return "", fmt.Errorf("feature %q: %w", key, err)
		}
	}
	return what, nil
}

// PlanVersion is a plan version as listed for buyers and operators.
type PlanVersion struct {
	ID         int64  `db:"id"`
	ProductKey string `db:"product_key"`
	PlanKey    string `db:"plan_key"`
	Version    int    `db:"version"`
	Name       string `db:"name"`
	Rank       int    `db:"rank"`
	SeatBased  bool   `db:"seat_based"`
	TrialDays  int    `db:"trial_days"`
}

const currentPlanVersionsSQL = `
SELECT DISTINCT ON (pl.id) pv.id, pr.key AS product_key, pl.key AS plan_key, pv.version, pv.name,
       pv.rank, pv.seat_based, pv.trial_days
FROM plan_version pv JOIN plan pl ON pl.id = pv.plan_id JOIN product pr ON pr.id = pl.product_id
ORDER BY pl.id, pv.version DESC`

// CurrentPlanVersions lists the newest version of every plan.
func (s *Store) CurrentPlanVersions(ctx context.Context) ([]PlanVersion, error) {
	var out []PlanVersion
	err := s.db.SelectContext(ctx, &out, `SELECT * FROM (`+currentPlanVersionsSQL+`) v ORDER BY product_key, rank`)
	return out, err
}
