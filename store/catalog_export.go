package store

import (
	"context"
	"time"

	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

const (
	catalogProductsSQL = `SELECT id, key, name FROM product ORDER BY id`
	// A product's features as the last applied file declared them: those
	// the newest plan versions carry a value for. A feature dropped from
	// the file keeps its row (old versions and usage point at it) but no
	// newest version lists it any more.
	catalogFeaturesSQL = `
SELECT f.key, f.name, f.kind, f.period, f.regions_allow, f.regions_deny, f.lease_ttl_seconds, f.machines_per,
       f.machine_heartbeat_seconds, f.machine_on_dead
FROM feature f
WHERE f.product_id = $1
  AND EXISTS (SELECT 1 FROM plan_feature pf
              JOIN (SELECT DISTINCT ON (plan_id) id FROM plan_version ORDER BY plan_id, version DESC) nv
                ON nv.id = pf.plan_version_id
              WHERE pf.feature_id = f.id)
ORDER BY f.position, f.key`
	catalogPlansSQL = `
SELECT DISTINCT ON (pl.id) pv.id AS version_id, pl.key, pl.visibility, pl.regions_allow, pl.regions_deny,
       pv.version, pv.name, pv.rank, pv.seat_based, pv.trial_days, pv.fingerprint,
       EXISTS (SELECT 1 FROM subscription s
               WHERE s.plan_version_id = pv.id OR s.scheduled_plan_version_id = pv.id) AS has_subscribers
FROM plan pl JOIN plan_version pv ON pv.plan_id = pl.id
WHERE pl.product_id = $1
ORDER BY pl.id, pv.version DESC`
	catalogPricesSQL = `
SELECT plan_version_id, stripe_price_id, billing_interval, unit_amount, currency
FROM plan_price WHERE plan_version_id = ANY($1) ORDER BY id`
	catalogSubscribersSQL = `
SELECT a.slug, a.name, coalesce(a.country, '') AS country, p.key AS product, pl.key AS plan, pv.version
FROM subscription s
JOIN account a ON a.id = s.account_id
JOIN product p ON p.id = s.product_id
JOIN plan_version pv ON pv.id = s.plan_version_id JOIN plan pl ON pl.id = pv.plan_id
ORDER BY a.slug, p.key`
)

// StoredCatalog reads the catalog as the database holds it: the newest
// version of every plan with its rules, in the form a catalog file
// validates to, plus what applying compares (versions, fingerprints,
// subscribers). `catalog export` writes it out; `catalog diff` compares a
// file with it.
func (s *Store) StoredCatalog(ctx context.Context) (licensing.StoredCatalog, error) {
	out := licensing.StoredCatalog{Plans: map[string]licensing.StoredPlan{}}
	var products []struct {
		ID   int64  `db:"id"`
		Key  string `db:"key"`
		Name string `db:"name"`
	}
	if err := s.db.SelectContext(ctx, &products, catalogProductsSQL); err != nil {
		return out, err
	}
	for _, pr := range products {
		p := licensing.Product{Key: pr.Key, Name: pr.Name}
		var features []struct {
			Key    string         `db:"key"`
			Name   string         `db:"name"`
			Kind   string         `db:"kind"`
			Period string         `db:"period"`
			Allow  pq.StringArray `db:"regions_allow"`
			Deny   pq.StringArray `db:"regions_deny"`
			TTL    int            `db:"lease_ttl_seconds"`
			Per    string         `db:"machines_per"`
			Beat   int            `db:"machine_heartbeat_seconds"`
			OnDead string         `db:"machine_on_dead"`
		}
		if err := s.db.SelectContext(ctx, &features, catalogFeaturesSQL, pr.ID); err != nil {
			return out, err
		}
		for _, f := range features {
			p.Features = append(p.Features, licensing.Feature{Key: f.Key, Name: f.Name, Kind: licensing.FeatureKind(f.Kind),
				Period: licensing.Period(f.Period), Regions: regionsOf(f.Allow, f.Deny),
				LeaseTTLSeconds: f.TTL, Per: licensing.MachinesPer(f.Per),
				Heartbeat: licensing.HeartbeatText(time.Duration(f.Beat) * time.Second), OnDead: licensing.DeadMachinePolicy(f.OnDead)})
		}
		var plans []struct {
			VersionID      int64          `db:"version_id"`
			Key            string         `db:"key"`
			Visibility     string         `db:"visibility"`
			Allow          pq.StringArray `db:"regions_allow"`
			Deny           pq.StringArray `db:"regions_deny"`
			Version        int            `db:"version"`
			Name           string         `db:"name"`
			Rank           int            `db:"rank"`
			SeatBased      bool           `db:"seat_based"`
			TrialDays      int            `db:"trial_days"`
			Fingerprint    string         `db:"fingerprint"`
			HasSubscribers bool           `db:"has_subscribers"`
		}
		if err := s.db.SelectContext(ctx, &plans, `SELECT * FROM (`+catalogPlansSQL+`) v ORDER BY rank, key`, pr.ID); err != nil {
			return out, err
		}
		ids := make([]int64, 0, len(plans))
		for _, pl := range plans {
			ids = append(ids, pl.VersionID)
		}
		values, err := s.planValues(ctx, ids)
		if err != nil {
			return out, err
		}
		var prices []struct {
			VersionID int64  `db:"plan_version_id"`
			ID        string `db:"stripe_price_id"`
			Interval  string `db:"billing_interval"`
			Amount    int64  `db:"unit_amount"`
			Currency  string `db:"currency"`
		}
		if err := s.db.SelectContext(ctx, &prices, catalogPricesSQL, pq.Array(ids)); err != nil {
			return out, err
		}
		for _, pl := range plans {
			plan := licensing.Plan{Key: pl.Key, Name: pl.Name, Rank: pl.Rank, SeatBased: pl.SeatBased, TrialDays: pl.TrialDays,
				Visibility: licensing.Visibility(pl.Visibility), Regions: regionsOf(pl.Allow, pl.Deny),
				Values: map[string]licensing.PlanValue{}}
			for _, f := range p.Features {
				plan.Values[f.Key] = values[pl.VersionID][f.Key]
			}
			for _, x := range prices {
				if x.VersionID == pl.VersionID {
					plan.Prices = append(plan.Prices, licensing.Price{StripePriceID: x.ID, Interval: x.Interval, UnitAmount: x.Amount, Currency: x.Currency})
				}
			}
			p.Plans = append(p.Plans, plan)
			out.Plans[p.Key+"/"+pl.Key] = licensing.StoredPlan{Version: pl.Version, Fingerprint: pl.Fingerprint, HasSubscribers: pl.HasSubscribers}
		}
		if p.ExportControls, err = exportControls(ctx, s.db, pr.ID); err != nil {
			return out, err
		}
		if p.AddOns, err = storedAddOns(ctx, s.db, pr.ID); err != nil {
			return out, err
		}
		if p.Promotions, err = promotionsOf(ctx, s.db, pr.ID); err != nil {
			return out, err
		}
		out.Products = append(out.Products, p)
	}
	var subs []struct {
		Slug    string `db:"slug"`
		Name    string `db:"name"`
		Country string `db:"country"`
		Product string `db:"product"`
		Plan    string `db:"plan"`
		Version int    `db:"version"`
	}
	if err := s.db.SelectContext(ctx, &subs, catalogSubscribersSQL); err != nil {
		return out, err
	}
	var err error
	if out.AddOnHolders, err = addOnHolders(ctx, s.db); err != nil {
		return out, err
	}
	for _, x := range subs {
		out.Subscribers = append(out.Subscribers, licensing.CatalogSubscriber{Account: x.Slug, Name: x.Name, Country: x.Country,
			Product: x.Product, Plan: x.Plan, Version: x.Version})
	}
	return out, nil
}
