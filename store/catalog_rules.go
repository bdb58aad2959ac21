package store

import (
	"context"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// Catalog rules that are not versioned: a feature's and a plan's regions,
// a plan's visibility, a product's export controls. Applying them changes
// the rows in place and audits each change, so they reach subscribers at
// once.

// regionArrays stores a rule as two arrays, both empty for "everywhere".
func regionArrays(r *licensing.Regions) (allow, deny pq.StringArray) {
	allow, deny = pq.StringArray{}, pq.StringArray{}
	if r != nil {
		allow, deny = append(allow, r.Allow...), append(deny, r.Deny...)
	}
	return allow, deny
}

// regionsOf reads a rule back: nil when both arrays are empty.
func regionsOf(allow, deny pq.StringArray) *licensing.Regions {
	if len(allow) == 0 && len(deny) == 0 {
		return nil
	}
	r := &licensing.Regions{}
	if len(allow) > 0 {
		r.Allow = slices.Clone([]string(allow))
	}
	if len(deny) > 0 {
		r.Deny = slices.Clone([]string(deny))
	}
	return r
}

func (s *Store) applyFeature(ctx context.Context, tx *sqlx.Tx, actor Actor, productID int64, productKey string, position int, f licensing.Feature) (int64, error) {
	allow, deny := regionArrays(f.Regions)
	var row struct {
		ID       int64          `db:"id"`
		OldAllow pq.StringArray `db:"old_allow"`
		OldDeny  pq.StringArray `db:"old_deny"`
	}
	if err := tx.GetContext(ctx, &row, upsertFeatureSQL, productID, f.Key, f.Name, string(f.Kind), string(f.Period), position, allow, deny); err != nil {
		return 0, err
	}
	if before := regionsOf(row.OldAllow, row.OldDeny); !before.Equal(f.Regions) {
		err := audit(ctx, tx, s.Now(), AuditEvent{Actor: actor, Action: "catalog.feature_regions", TargetType: "feature",
			TargetID: productKey + "/" + f.Key, Before: map[string]any{"regions": before.String()},
			After: map[string]any{"regions": f.Regions.String()}})
		if err != nil {
			return 0, err
		}
	}
	return row.ID, nil
}

// applyPlanSettings upserts the plan row with its visibility and regions,
// auditing a change; it reports whether either changed on an existing plan.
func (s *Store) applyPlanSettings(ctx context.Context, tx *sqlx.Tx, actor Actor, productID int64, productKey string, plan licensing.Plan) (int64, bool, error) {
	allow, deny := regionArrays(plan.Regions)
	var row struct {
		ID            int64          `db:"id"`
		OldVisibility string         `db:"old_visibility"`
		OldAllow      pq.StringArray `db:"old_allow"`
		OldDeny       pq.StringArray `db:"old_deny"`
	}
	if err := tx.GetContext(ctx, &row, upsertPlanSQL, productID, plan.Key, string(plan.Visibility), allow, deny); err != nil {
		return 0, false, err
	}
	before := regionsOf(row.OldAllow, row.OldDeny)
	if row.OldVisibility == "" || (row.OldVisibility == string(plan.Visibility) && before.Equal(plan.Regions)) {
		return row.ID, false, nil // a new plan (audited as created) or nothing changed
	}
	err := audit(ctx, tx, s.Now(), AuditEvent{Actor: actor, Action: "catalog.plan_settings", TargetType: "plan",
		TargetID: productKey + "/" + plan.Key,
		Before:   map[string]any{"visibility": row.OldVisibility, "regions": before.String()},
		After:    map[string]any{"visibility": string(plan.Visibility), "regions": plan.Regions.String()}})
	return row.ID, true, err
}

const (
	exportControlsSQL = `
SELECT p.key AS product, ec.countries, ec.features
FROM export_control ec JOIN product p ON p.id = ec.product_id
WHERE ec.product_id = $1 ORDER BY ec.position`
	deleteExportControlsSQL = `DELETE FROM export_control WHERE product_id = $1`
	insertExportControlSQL  = `
INSERT INTO export_control (product_id, position, countries, features) VALUES ($1, $2, $3, $4)`
)

type exportControlRow struct {
	Product   string         `db:"product"`
	Countries pq.StringArray `db:"countries"`
	Features  pq.StringArray `db:"features"`
}

func (r exportControlRow) control() licensing.ExportControl {
	e := licensing.ExportControl{Product: r.Product, Countries: slices.Clone([]string(r.Countries))}
	if len(r.Features) > 0 {
		e.Features = slices.Clone([]string(r.Features))
	}
	return e
}

func exportControls(ctx context.Context, q sqlx.QueryerContext, productID int64) ([]licensing.ExportControl, error) {
	var rows []exportControlRow
	if err := sqlx.SelectContext(ctx, q, &rows, exportControlsSQL, productID); err != nil {
		return nil, err
	}
	var out []licensing.ExportControl
	for _, r := range rows {
		out = append(out, r.control())
	}
	return out, nil
}

// applyExportControls replaces the product's export controls when the file
// says something else, and audits the change.
func (s *Store) applyExportControls(ctx context.Context, tx *sqlx.Tx, actor Actor, productID int64, p licensing.Product) error {
	before, err := exportControls(ctx, tx, productID)
	if err != nil {
		return err
	}
	same := slices.EqualFunc(before, p.ExportControls, func(a, b licensing.ExportControl) bool {
		return slices.Equal(a.Countries, b.Countries) && slices.Equal(a.Features, b.Features)
	})
	if same {
		return nil
	}
	if _, err := tx.ExecContext(ctx, deleteExportControlsSQL, productID); err != nil {
		return err
	}
	for i, e := range p.ExportControls {
		features := pq.StringArray{}
		features = append(features, e.Features...)
		if _, err := tx.ExecContext(ctx, insertExportControlSQL, productID, i, pq.StringArray(e.Countries), features); err != nil {
			return err
		}
	}
	return audit(ctx, tx, s.Now(), AuditEvent{Actor: actor, Action: "catalog.export_controls", TargetType: "product",
		TargetID: p.Key, Before: map[string]any{"export_controls": before},
		After: map[string]any{"export_controls": p.ExportControls}})
}

const (
	accountPlanRegionsSQL = `
SELECT s.product_id, pl.regions_allow, pl.regions_deny
FROM subscription s JOIN plan_version pv ON pv.id = s.plan_version_id JOIN plan pl ON pl.id = pv.plan_id
WHERE s.account_id = $1`
	allExportControlsSQL = `
SELECT ec.product_id, p.key AS product, ec.countries, ec.features
FROM export_control ec JOIN product p ON p.id = ec.product_id ORDER BY ec.product_id, ec.position`
)

// regionRules reads, per product id, the regional rules evaluation holds an
// account to: its plan's regions and the product's export controls.
func regionRules(ctx context.Context, q sqlx.QueryerContext, accountID int64) (map[int64]licensing.RegionRules, error) {
	out := map[int64]licensing.RegionRules{}
	var plans []struct {
		ProductID int64          `db:"product_id"`
		Allow     pq.StringArray `db:"regions_allow"`
		Deny      pq.StringArray `db:"regions_deny"`
	}
	if err := sqlx.SelectContext(ctx, q, &plans, accountPlanRegionsSQL, accountID); err != nil {
		return nil, err
	}
	for _, p := range plans {
		r := out[p.ProductID]
		r.Plan = regionsOf(p.Allow, p.Deny)
		out[p.ProductID] = r
	}
	var controls []struct {
		ProductID int64 `db:"product_id"`
		exportControlRow
	}
	if err := sqlx.SelectContext(ctx, q, &controls, allExportControlsSQL); err != nil {
		return nil, err
	}
	for _, c := range controls {
		r := out[c.ProductID]
		r.ExportControls = append(r.ExportControls, c.control())
		out[c.ProductID] = r
	}
	return out, nil
}
