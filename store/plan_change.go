package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

const (
	lockSubscriptionByProductSQL = `
SELECT s.id, s.plan_version_id, pl.key AS plan_key
FROM subscription s JOIN product p ON p.id = s.product_id
JOIN plan_version pv ON pv.id = s.plan_version_id JOIN plan pl ON pl.id = pv.plan_id
WHERE s.account_id = $1 AND p.key = $2
FOR UPDATE OF s`
	newestPlanVersionSQL = `
SELECT pv.id FROM plan_version pv JOIN plan pl ON pl.id = pv.plan_id JOIN product p ON p.id = pl.product_id
WHERE p.key = $1 AND pl.key = $2 ORDER BY pv.version DESC LIMIT 1`
	setSubscriptionPlanSQL = `
UPDATE subscription SET plan_version_id = $2, scheduled_plan_version_id = NULL, updated_at = $3 WHERE id = $1`
)

// SetSubscriptionPlan moves the account's subscription to a product onto the
// newest version of planKey at once (what an applied upgrade, or a
// downgrade reaching its period end, does). The billing webhook worker calls
// it; every instance's entitlement cache hears of it through NOTIFY.
// ErrNotFound when the account has no subscription to the product or the
// product has no such plan.
func (s *Store) SetSubscriptionPlan(ctx context.Context, actor Actor, accountID int64, productKey, planKey string) error {
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var sub struct {
			ID            int64  `db:"id"`
			PlanVersionID int64  `db:"plan_version_id"`
			PlanKey       string `db:"plan_key"`
		}
		err := tx.GetContext(ctx, &sub, lockSubscriptionByProductSQL, accountID, productKey)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("subscription to %q: %w", productKey, ErrNotFound)
		}
		if err != nil {
			return err
		}
		var versionID int64
		err = tx.GetContext(ctx, &versionID, newestPlanVersionSQL, productKey, planKey)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("plan %q of %q: %w", planKey, productKey, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if versionID == sub.PlanVersionID {
			return nil
		}
		if _, err := tx.ExecContext(ctx, setSubscriptionPlanSQL, sub.ID, versionID, s.Now()); err != nil {
			return err
		}
		if err := audit(ctx, tx, s.Now(), AuditEvent{AccountID: accountID, Actor: actor, Action: "subscription.plan_change",
			TargetType: "subscription", TargetID: itoa(sub.ID),
			Before: map[string]any{"plan": sub.PlanKey}, After: map[string]any{"plan": planKey}}); err != nil {
			return err
		}
		return notifyAccountChanged(ctx, tx, accountID)
	})
	if err == nil {
		s.committed(accountPayload(accountID))
	}
	return err
}
