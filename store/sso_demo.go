package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"
)

// Demo single sign-on: Hooli (Enterprise) uses the demo identity provider.
const (
	DemoSSOAccount = "hooli"
	DemoSSODomain  = "hooli.test"
	DemoSSOGroup   = "Engineering" // its rule gives a seat of analytics
)

const (
	demoSSOAccountSQL = `SELECT id FROM account WHERE slug = $1`
	demoSSODomainSQL  = `
INSERT INTO sso_domain (account_id, domain, token, created_at, verified_at, verified_by)
VALUES ($1, $2, 'demo', $3, $3, 'demo seed') ON CONFLICT (account_id, domain) DO NOTHING`
	demoSSOGroupSQL = `
INSERT INTO idp_group (account_id, scim_id, display_name, created_at, updated_at)
SELECT $1, 'demo-engineering', $2, $3, $3
WHERE NOT EXISTS (SELECT 1 FROM idp_group WHERE account_id = $1 AND scim_id = 'demo-engineering')`
	demoSSORuleSQL = `
INSERT INTO provisioning_rule (account_id, group_id, role, product_id, priority, created_at)
SELECT g.account_id, g.id, '', p.id, 10, $2 FROM idp_group g, product p
WHERE g.account_id = $1 AND g.scim_id = 'demo-engineering' AND p.key = 'analytics'
  AND NOT EXISTS (SELECT 1 FROM provisioning_rule r WHERE r.account_id = $1 AND r.group_id = g.id)`
)

// ConfigureDemoSSO points the demo Enterprise account at the demo identity
// provider started by `entitle serve` (its port may differ between runs):
// provider settings, the verified domain hooli.test, and the group
// Engineering whose rule gives a seat. It does nothing when the demo
// account does not exist.
func (s *Store) ConfigureDemoSSO(ctx context.Context, issuer, clientID, clientSecret string, secret []byte) error {
	var accountID int64
	err := s.db.GetContext(ctx, &accountID, demoSSOAccountSQL, DemoSSOAccount)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	var breakGlass int64
	err = s.db.GetContext(ctx, &breakGlass, `SELECT m.id FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = $1 AND lower(u.email) = 'owner@hooli.test'`, accountID)
	if err != nil {
		return err
	}
	cfg, err := s.SSOConfig(ctx, accountID)
	in := SSOSettings{Issuer: issuer, ClientID: clientID, ClientSecret: clientSecret, DefaultRole: "member",
		BreakGlassID: breakGlass}
	if err == nil {
		in.DefaultRole, in.RequireSSO, in.BreakGlassID = cfg.DefaultRole, cfg.RequireSSO, cfg.BreakGlassID.Int64
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	if err == nil && cfg.Issuer == issuer && cfg.ClientID == clientID {
		in.ClientSecret = ""
	}
	if err := s.SaveSSOConfig(ctx, SystemActor("demo identity provider"), accountID, in, secret); err != nil {
		return err
	}
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, demoSSODomainSQL, accountID, DemoSSODomain, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, demoSSOGroupSQL, accountID, DemoSSOGroup, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, demoSSORuleSQL, accountID, now)
		return err
	})
}
