package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// DemoPassword is every demo login's password (DESIGN.md, "Contracts").
const DemoPassword = "demo-password"

// DemoLogin is a login the demo prints.
type DemoLogin struct{ Email, Role, Where string }

// demoAccount describes one seeded customer.
type demoAccount struct {
	slug, name, plan, status string
	seats                    int
	owner                    string
	others                   []demoPerson
	assigned                 int // seats assigned, owner first
	apiCalls                 int64
}

type demoPerson struct{ email, name, role string }

var demoAccounts = []demoAccount{
	{
		slug: "globex", name: "Globex", plan: "team", status: "active", seats: 10, owner: "owner@globex.test",
		others: []demoPerson{
			{"admin@globex.test", "Hank Scorpio", "admin"},
			{"billing@globex.test", "Bea Counter", "billing"},
			{"alice@globex.test", "Alice Adams", "member"},
			{"bob@globex.test", "Bob Brown", "member"},
			{"carol@globex.test", "Carol Chen", "member"},
			{"dave@globex.test", "Dave Diaz", "member"},
			{"erin@globex.test", "Erin Evans", "member"},
			{"frank@globex.test", "Frank Fox", "member"},
		},
		assigned: 7, apiCalls: 4200,
	},
	{
		slug: "initech", name: "Initech", plan: "business", status: "trialing", seats: 5, owner: "owner@initech.test",
		others: []demoPerson{
			{"peter@initech.test", "Peter Gibbons", "member"},
			{"milton@initech.test", "Milton Waddams", "member"},
		},
		assigned: 2, apiCalls: 900,
	},
	{
		slug: "umbrella", name: "Umbrella", plan: "team", status: "past_due", seats: 3, owner: "owner@umbrella.test",
		others: []demoPerson{
			{"alice@umbrella.test", "Alice Abernathy", "member"},
		},
		assigned: 2, apiCalls: 12000,
	},
	{
		// Hooli signs its people in through its own identity provider (the
		// demo one `make run` starts): see ConfigureDemoSSO.
		slug: "hooli", name: "Hooli", plan: "enterprise", status: "active", seats: 20, owner: "owner@hooli.test",
		others: []demoPerson{
			{"cto@hooli.test", "Carla Walton", "owner"},
		},
		assigned: 2, apiCalls: 300,
	},
}

var demoStaff = []demoPerson{
	{"support@acme.test", "Sam Support", "support"},
	{"ops@acme.test", "Olivia Ops", "operator"},
	{"lead@acme.test", "Lee Lead", "support_admin"},
	{"admin@acme.test", "Ada Admin", "admin"},
}

// DemoLogins lists the logins the demo seeds.
func DemoLogins() []DemoLogin {
	var out []DemoLogin
	for _, a := range demoAccounts {
		out = append(out, DemoLogin{a.owner, "owner of " + a.name + " (" + a.plan + ", " + a.status + ")", "/login"})
	}
	out = append(out, DemoLogin{DemoTwoAccountPerson, "admin of Initech and billing of Umbrella (account switcher)", "/login"})
	for _, s := range demoStaff {
		role := "vendor " + s.role
		if StaffNeedsTwoFactor(s.role) {
			role += " (two-factor: secret " + DemoTOTPSecret + ")"
		}
		out = append(out, DemoLogin{s.email, role, "/admin/login"})
	}
	return out
}

// DemoPeopleLogins lists, beside DemoLogins, the demo's people who show an
// account in another role: each account's admins, billing managers and
// other owners, and its first plain member. Hooli's sign in through the
// demo identity provider, not with the password.
func DemoPeopleLogins() []DemoLogin {
	words := map[string]string{"owner": "owner", "admin": "admin", "billing": "billing manager", "member": "member"}
	var out []DemoLogin
	for _, a := range demoAccounts {
		member := false
		for _, p := range a.others {
			if p.role == "member" {
				if member {
					continue
				}
				member = true
			}
			role := words[p.role] + " of " + a.name
			if a.slug == DemoSSOAccount {
				role += " (single sign-on: the demo identity provider)"
			}
			out = append(out, DemoLogin{p.email, role, "/login"})
		}
	}
	return out
}

const (
	countAccountsSQL = `SELECT count(*) FROM account`
	insertUserSQL    = `INSERT INTO app_user (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id`
	insertMemberSQL  = `
INSERT INTO membership (account_id, user_id, role, status, source, created_at)
VALUES ($1, $2, $3, 'active', 'manual', $4) RETURNING id`
	planVersionByKeySQL = `
SELECT pv.id, pr.id AS product_id FROM plan_version pv
JOIN plan pl ON pl.id = pv.plan_id JOIN product pr ON pr.id = pl.product_id
WHERE pr.key = $1 AND pl.key = $2 ORDER BY pv.version DESC LIMIT 1`
	insertSubscriptionSQL = `
INSERT INTO subscription (account_id, product_id, plan_version_id, status, seats, trial_ends_at,
                          past_due_since, current_period_end, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`
	insertSeatSQL = `
INSERT INTO seat_assignment (account_id, subscription_id, membership_id, assigned_at) VALUES ($1, $2, $3, $4)`
	insertUsageSQL = `
INSERT INTO usage_event (account_id, feature_id, quantity, idempotency_key, occurred_at)
SELECT $1, f.id, $3, $4, $5 FROM feature f JOIN product p ON p.id = f.product_id
WHERE p.key = $2 AND f.key = 'api_calls'`
	insertStaffSQL = `INSERT INTO staff_user (email, name, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5)`
)

// SeedDemo fills an empty database with the demo accounts, people and
// staff of DESIGN.md. The catalog (product "analytics") must be applied
// first. It does nothing and reports false when any account exists.
func (s *Store) SeedDemo(ctx context.Context) (bool, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, countAccountsSQL); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	hash, err := HashPassword(DemoPassword)
	if err != nil {
		return false, err
	}
	now := s.Now()
	actor := SystemActor("demo seed")
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		for _, d := range demoAccounts {
			if err := seedDemoAccount(ctx, tx, now, actor, hash, d); err != nil {
				return fmt.Errorf("demo account %s: %w", d.slug, err)
			}
		}
		for _, st := range demoStaff {
			if _, err := tx.ExecContext(ctx, insertStaffSQL, st.email, st.name, hash, st.role, now); err != nil {
				return fmt.Errorf("demo staff %s: %w", st.email, err)
			}
			if err := audit(ctx, tx, now, AuditEvent{Actor: actor, Action: "staff.create", TargetType: "staff",
				TargetID: st.email, After: map[string]any{"role": st.role}}); err != nil {
				return err
			}
		}
		if err := seedDemoFrontDoor(ctx, tx, now, actor, hash); err != nil { // two-factor staff, a person in two accounts
			return fmt.Errorf("demo front door: %w", err)
		}
		if err := seedDemoProvisioning(ctx, tx, now, actor); err != nil { // provisioning: Initech's IdP
			return fmt.Errorf("demo provisioning: %w", err)
		}
		if err := seedDemoInsights(ctx, tx, now); err != nil { // insights: history and last use
			return err
		}
		return seedDemoBilling(ctx, tx, now, actor) // billing: simulated Stripe customers for the demo accounts
	})
	return err == nil, err
}

func seedDemoAccount(ctx context.Context, tx *sqlx.Tx, now time.Time, actor Actor, hash string, d demoAccount) error {
	var accountID int64
	if err := tx.GetContext(ctx, &accountID, `INSERT INTO account (slug, name, created_at) VALUES ($1, $2, $3) RETURNING id`,
		d.slug, d.name, now.AddDate(0, -6, 0)); err != nil {
		return err
	}
	if err := audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "account.create",
		TargetType: "account", TargetID: d.slug, After: map[string]any{"name": d.name}}); err != nil {
		return err
	}
	people := append([]demoPerson{{d.owner, "Owner of " + d.name, "owner"}}, d.others...)
	memberships := make([]int64, 0, len(people))
	for _, p := range people {
		var userID, membershipID int64
		if err := tx.GetContext(ctx, &userID, insertUserSQL, p.email, p.name, hash, now); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &membershipID, insertMemberSQL, accountID, userID, p.role, now); err != nil {
			return err
		}
		memberships = append(memberships, membershipID)
		if err := audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "member.add",
			TargetType: "membership", TargetID: itoa(membershipID), After: map[string]any{"email": p.email, "role": p.role}}); err != nil {
			return err
		}
	}

	var pv struct {
		ID        int64 `db:"id"`
		ProductID int64 `db:"product_id"`
	}
	if err := tx.GetContext(ctx, &pv, planVersionByKeySQL, "analytics", d.plan); err != nil {
		return fmt.Errorf("plan %q (apply the demo catalog first): %w", d.plan, err)
	}
	var trialEnds, pastDueSince time.Time
	switch d.status {
	case "trialing":
		trialEnds = now.Add(10 * 24 * time.Hour)
	case "past_due":
		pastDueSince = now.Add(-2 * 24 * time.Hour)
	}
	var subID int64
	if err := tx.GetContext(ctx, &subID, insertSubscriptionSQL, accountID, pv.ProductID, pv.ID, d.status, d.seats,
		nullTime(trialEnds), nullTime(pastDueSince), now.Add(20*24*time.Hour), now); err != nil {
		return err
	}
	if err := audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "subscription.create",
		TargetType: "subscription", TargetID: itoa(subID),
		After: map[string]any{"plan": d.plan, "status": d.status, "seats": d.seats}}); err != nil {
		return err
	}
	for i, m := range memberships[:d.assigned] {
		if _, err := tx.ExecContext(ctx, insertSeatSQL, accountID, subID, m, now); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "seat.assign",
			TargetType: "membership", TargetID: itoa(m), After: map[string]any{"email": people[i].email, "subscription": subID}}); err != nil {
			return err
		}
	}
	if err := seedDemoUsage(ctx, tx, accountID, d.apiCalls, now); err != nil {
		return err
	}
	return notifyAccountChanged(ctx, tx, accountID) // entitlement API
}

// ApplyDemo applies the demo catalog and seeds the demo accounts into an
// empty database (a database that has accounts keeps them).
func (s *Store) ApplyDemo(ctx context.Context) error {
	cat, err := ParseCatalog(DemoCatalog())
	if err != nil {
		return err
	}
	products, err := cat.Validate()
	if err != nil {
		return err
	}
	if _, err := s.ApplyCatalog(ctx, SystemActor("demo seed"), products); err != nil {
		return err
	}
	_, err = s.SeedDemo(ctx)
	return err
}
