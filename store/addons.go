package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// Add-ons: the catalog's rows (applied in place, retired rather than
// deleted when the file drops one) and what each subscription holds, which
// only the provider's subscription events change.

type addOnRow struct {
	ID         int64          `db:"id"`
	ProductID  int64          `db:"product_id"`
	Key        string         `db:"key"`
	Name       string         `db:"name"`
	FeatureKey string         `db:"feature_key"`
	Quantity   int64          `db:"quantity"`
	MaxUnits   int            `db:"max_units"`
	Plans      pq.StringArray `db:"plans"`
	PriceID    string         `db:"stripe_price_id"`
	Interval   string         `db:"billing_interval"`
	UnitAmount int64          `db:"unit_amount"`
	Currency   string         `db:"currency"`
	Retired    bool           `db:"retired"`
}

func (r addOnRow) addOn() licensing.AddOn {
	a := licensing.AddOn{Key: r.Key, Name: r.Name, Feature: r.FeatureKey, Quantity: r.Quantity, MaxUnits: r.MaxUnits,
		Price: licensing.Price{StripePriceID: r.PriceID, Interval: r.Interval, UnitAmount: r.UnitAmount, Currency: r.Currency}}
	if len(r.Plans) > 0 {
		a.Plans = slices.Clone([]string(r.Plans))
	}
	return a
}

const (
	addOnColumns = `
SELECT a.id, a.product_id, a.key, a.name, f.key AS feature_key, a.quantity, a.max_units, a.plans, a.stripe_price_id,
       a.billing_interval, a.unit_amount, a.currency, a.retired_at IS NOT NULL AS retired
FROM addon a JOIN feature f ON f.id = a.feature_id`
	productAddOnsSQL = addOnColumns + ` WHERE a.product_id = $1 ORDER BY a.retired_at IS NOT NULL, a.position, a.key`
	upsertAddOnSQL   = `
INSERT INTO addon (product_id, key, name, feature_id, quantity, max_units, plans, stripe_price_id, billing_interval,
                   unit_amount, currency, position, retired_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL)
ON CONFLICT (product_id, key) DO UPDATE
   SET name = EXCLUDED.name, feature_id = EXCLUDED.feature_id, quantity = EXCLUDED.quantity,
       max_units = EXCLUDED.max_units, plans = EXCLUDED.plans, stripe_price_id = EXCLUDED.stripe_price_id,
       billing_interval = EXCLUDED.billing_interval, unit_amount = EXCLUDED.unit_amount,
       currency = EXCLUDED.currency, position = EXCLUDED.position, retired_at = NULL`
	retireAddOnSQL = `UPDATE addon SET retired_at = $2 WHERE id = $1`
)

func productAddOns(ctx context.Context, q sqlx.QueryerContext, productID int64) ([]addOnRow, error) {
	var rows []addOnRow
	err := sqlx.SelectContext(ctx, q, &rows, productAddOnsSQL, productID)
	return rows, err
}

// applyAddOns writes a product's add-ons as the file says them, auditing
// each one created, changed or retired.
func (s *Store) applyAddOns(ctx context.Context, tx *sqlx.Tx, actor Actor, productID int64, productKey string,
	featureIDs map[string]int64, addOns []licensing.AddOn) error {
	rows, err := productAddOns(ctx, tx, productID)
	if err != nil {
		return err
	}
	before := map[string]addOnRow{}
	for _, r := range rows {
		before[r.Key] = r
	}
	for i, a := range addOns {
		plans := pq.StringArray{}
		plans = append(plans, a.Plans...)
		if _, err := tx.ExecContext(ctx, upsertAddOnSQL, productID, a.Key, a.Name, featureIDs[a.Feature], a.Quantity,
			a.MaxUnits, plans, a.Price.StripePriceID, a.Price.Interval, a.Price.UnitAmount, a.Price.Currency, i); err != nil {
			return fmt.Errorf("add-on %q: %w", a.Key, err)
		}
		old, had := before[a.Key]
		action := "catalog.addon_created"
		var was any
		if had {
			if !old.Retired && licensing.DescribeAddOn(old.addOn()) == licensing.DescribeAddOn(a) {
				continue
			}
			action, was = "catalog.addon_updated", map[string]any{"name": old.Name, "addon": licensing.DescribeAddOn(old.addOn()), "retired": old.Retired}
		}
		if err := audit(ctx, tx, s.Now(), AuditEvent{Actor: actor, Action: action, TargetType: "addon",
			TargetID: productKey + "/" + a.Key, Before: was, After: map[string]any{"name": a.Name, "addon": licensing.DescribeAddOn(a)}}); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if r.Retired || slices.ContainsFunc(addOns, func(a licensing.AddOn) bool { return a.Key == r.Key }) {
			continue
		}
		if _, err := tx.ExecContext(ctx, retireAddOnSQL, r.ID, s.Now()); err != nil {
			return err
		}
		if err := audit(ctx, tx, s.Now(), AuditEvent{Actor: actor, Action: "catalog.addon_retired", TargetType: "addon",
			TargetID: productKey + "/" + r.Key, Before: map[string]any{"name": r.Name, "addon": licensing.DescribeAddOn(r.addOn())},
			After: map[string]any{"name": r.Name, "retired": true}}); err != nil {
			return err
		}
	}
	return nil
}

// storedAddOns lists a product's add-ons on sale, in file order, as an
// export writes them.
func storedAddOns(ctx context.Context, q sqlx.QueryerContext, productID int64) ([]licensing.AddOn, error) {
	rows, err := productAddOns(ctx, q, productID)
	if err != nil {
		return nil, err
	}
	var out []licensing.AddOn
	for _, r := range rows {
		if !r.Retired {
			out = append(out, r.addOn())
		}
	}
	return out, nil
}

const addOnHoldersSQL = `
SELECT p.key || '/' || a.key AS addon, acc.slug
FROM subscription_addon sa JOIN addon a ON a.id = sa.addon_id JOIN product p ON p.id = a.product_id
JOIN account acc ON acc.id = sa.account_id
ORDER BY addon, acc.slug`

// addOnHolders names the accounts holding each add-on, by "product/addon".
func addOnHolders(ctx context.Context, q sqlx.QueryerContext) (map[string][]string, error) {
	var rows []struct {
		AddOn string `db:"addon"`
		Slug  string `db:"slug"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, addOnHoldersSQL); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[r.AddOn] = append(out[r.AddOn], r.Slug)
	}
	return out, nil
}

const heldAddOnsSQL = `
SELECT a.product_id, a.key, a.name, f.key AS feature_key, a.quantity, sa.units
FROM subscription_addon sa JOIN addon a ON a.id = sa.addon_id JOIN feature f ON f.id = a.feature_id
WHERE sa.account_id = $1
ORDER BY a.product_id, a.position, a.key`

// heldAddOns reads what an account's subscriptions hold, by product id,
// for evaluation.
func heldAddOns(ctx context.Context, q sqlx.QueryerContext, accountID int64) (map[int64][]licensing.HeldAddOn, error) {
	var rows []struct {
		ProductID  int64  `db:"product_id"`
		Key        string `db:"key"`
		Name       string `db:"name"`
		FeatureKey string `db:"feature_key"`
		Quantity   int64  `db:"quantity"`
		Units      int    `db:"units"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, heldAddOnsSQL, accountID); err != nil {
		return nil, err
	}
	out := map[int64][]licensing.HeldAddOn{}
	for _, r := range rows {
		out[r.ProductID] = append(out[r.ProductID], licensing.HeldAddOn{Key: r.Key, Name: r.Name, Feature: r.FeatureKey,
			Quantity: r.Quantity, Units: r.Units})
	}
	return out, nil
}

// StripeItem is one add-on item of a subscription object: its price names
// the add-on, its quantity the units held.
type StripeItem struct {
	ID       string
	PriceID  string
	Quantity int
}

const (
	subscriptionAddOnsSQL = `
SELECT sa.addon_id, a.key, a.name, sa.units, sa.stripe_item_id
FROM subscription_addon sa JOIN addon a ON a.id = sa.addon_id
WHERE sa.account_id = $1 AND sa.subscription_id = $2`
	addOnByPriceSQL    = `SELECT id, key, name FROM addon WHERE product_id = $1 AND stripe_price_id = $2 ORDER BY retired_at IS NOT NULL, id LIMIT 1`
	upsertHeldAddOnSQL = `
INSERT INTO subscription_addon (account_id, subscription_id, addon_id, units, stripe_item_id, added_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $6)
ON CONFLICT (subscription_id, addon_id) DO UPDATE
   SET units = EXCLUDED.units, stripe_item_id = EXCLUDED.stripe_item_id, updated_at = EXCLUDED.updated_at`
	deleteHeldAddOnSQL = `DELETE FROM subscription_addon WHERE account_id = $1 AND subscription_id = $2 AND addon_id = $3`
)

// syncAddOns makes the subscription's add-ons what the provider's
// subscription object says (its items other than the plan's), inside the
// transaction applying the event, with one audit entry per add-on added,
// changed or removed. Applying the same object again changes nothing and
// audits nothing; an older object never gets here (the ordering guard).
func syncAddOns(ctx context.Context, tx *sqlx.Tx, now time.Time, actor Actor, accountID, subID, productID int64, items []StripeItem) error {
	var held []struct {
		AddOnID int64  `db:"addon_id"`
		Key     string `db:"key"`
		Name    string `db:"name"`
		Units   int    `db:"units"`
		ItemID  string `db:"stripe_item_id"`
	}
	if err := tx.SelectContext(ctx, &held, subscriptionAddOnsSQL, accountID, subID); err != nil {
		return err
	}
	want := map[int64]StripeItem{}
	keys, names := map[int64]string{}, map[int64]string{}
	for _, it := range items {
		var a struct {
			ID   int64  `db:"id"`
			Key  string `db:"key"`
			Name string `db:"name"`
		}
		err := tx.GetContext(ctx, &a, addOnByPriceSQL, productID, it.PriceID)
		if errors.Is(err, sql.ErrNoRows) {
			return permanent("price %q maps to no add-on: fix the catalog, then retry this event", it.PriceID)
		}
		if err != nil {
			return err
		}
		if it.Quantity <= 0 {
			continue
		}
		prev := want[a.ID]
		it.Quantity += prev.Quantity // two items of one price: the units add up
		want[a.ID], keys[a.ID], names[a.ID] = it, a.Key, a.Name
	}
	record := func(action, key string, before, after any) error {
		return audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: action,
			TargetType: "subscription_addon", TargetID: itoa(subID) + "/" + key, Before: before, After: after})
	}
	for _, h := range held {
		it, keep := want[h.AddOnID]
		switch {
		case !keep:
			if _, err := tx.ExecContext(ctx, deleteHeldAddOnSQL, accountID, subID, h.AddOnID); err != nil {
				return err
			}
			if err := record("addon.removed", h.Key, map[string]any{"addon": h.Key, "name": h.Name, "units": h.Units}, nil); err != nil {
				return err
			}
		case it.Quantity != h.Units || it.ID != h.ItemID:
			if _, err := tx.ExecContext(ctx, upsertHeldAddOnSQL, accountID, subID, h.AddOnID, it.Quantity, it.ID, now); err != nil {
				return err
			}
			if it.Quantity != h.Units {
				if err := record("addon.changed", h.Key, map[string]any{"addon": h.Key, "name": h.Name, "units": h.Units},
					map[string]any{"addon": h.Key, "name": h.Name, "units": it.Quantity}); err != nil {
					return err
				}
			}
		}
		delete(want, h.AddOnID)
	}
	added := make([]int64, 0, len(want))
	for id := range want {
		added = append(added, id)
	}
	slices.Sort(added) // one order of audit entries whatever the map's
	for _, id := range added {
		it := want[id]
		if _, err := tx.ExecContext(ctx, upsertHeldAddOnSQL, accountID, subID, id, it.Quantity, it.ID, now); err != nil {
			return err
		}
		if err := record("addon.added", keys[id], nil, map[string]any{"addon": keys[id], "name": names[id], "units": it.Quantity}); err != nil {
			return err
		}
	}
	return nil
}

// BillingAddOn is an add-on of the account's product as /billing lists it:
// the catalog's entry and the units the subscription holds.
type BillingAddOn struct {
	licensing.AddOn
	FeatureName string
	FeatureKind licensing.FeatureKind
	Retired     bool // no longer sold; listed only while held
	Units       int  // held now
}

const addOnUnitsSQL = `SELECT addon_id, units FROM subscription_addon WHERE account_id = $1 AND subscription_id = $2`

// BillingAddOns lists the product's add-ons on sale, and the retired ones
// the subscription (subID, 0: none) still holds, with the units it holds.
func (s *Store) BillingAddOns(ctx context.Context, accountID, productID, subID int64) ([]BillingAddOn, error) {
	rows, err := productAddOns(ctx, s.db, productID)
	if err != nil {
		return nil, err
	}
	var units []struct {
		AddOnID int64 `db:"addon_id"`
		Units   int   `db:"units"`
	}
	if subID != 0 {
		if err := s.db.SelectContext(ctx, &units, addOnUnitsSQL, accountID, subID); err != nil {
			return nil, err
		}
	}
	features, err := s.productFeatures(ctx, productID)
	if err != nil {
		return nil, err
	}
	out := make([]BillingAddOn, 0, len(rows))
	for _, r := range rows {
		b := BillingAddOn{AddOn: r.addOn(), Retired: r.Retired}
		for _, u := range units {
			if u.AddOnID == r.ID {
				b.Units = u.Units
			}
		}
		if b.Retired && b.Units == 0 {
			continue
		}
		for _, f := range features {
			if f.Key == r.FeatureKey {
				b.FeatureName, b.FeatureKind = f.Name, f.Kind
			}
		}
		out = append(out, b)
	}
	return out, nil
}
