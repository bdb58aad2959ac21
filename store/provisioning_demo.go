package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// DemoSCIMToken is Initech's demo SCIM token, public like the demo
// password: `make run` prints it so that curl (or a real identity
// provider) can be pointed at /scim/v2 at once.
const DemoSCIMToken = "scim_demo-initech-identity-provider-token"

// demoGroup is a group Initech's identity provider pushed, with its rule.
type demoGroup struct {
	name     string
	role     string
	priority int
	people   []demoPerson
}

// Initech: 5 seats, 2 given by hand (owner, Peter); the identity provider
// manages five more people in two groups, and the rules give the 3 free
// seats to Engineering first, then Sales, whose last two wait.
var demoIdP = []demoGroup{
	{"Engineering", "member", 10, []demoPerson{
		{"samir@initech.test", "Samir Nagheenanajar", ""},
		{"michael@initech.test", "Michael Bolton", ""},
	}},
	{"Sales", "member", 20, []demoPerson{
		{"lumbergh@initech.test", "Bill Lumbergh", ""},
		{"bob.slydell@initech.test", "Bob Slydell", ""},
		{"bob.porter@initech.test", "Bob Porter", ""},
	}},
}

const (
	demoAccountIDSQL  = `SELECT id FROM account WHERE slug = $1`
	demoSCIMMemberSQL = `
INSERT INTO membership (account_id, user_id, role, status, source, created_at, scim_id, external_id, scim_user_name,
                        scim_attributes, scim_active, scim_created_at, scim_updated_at)
VALUES ($1, $2, 'member', 'active', 'scim', $3, gen_random_uuid()::text, $4, $5, $6, true, $3, $3) RETURNING id`
	demoGroupMemberSQL = `INSERT INTO idp_group_member (account_id, group_id, membership_id, since) VALUES ($1, $2, $3, $4)`
	demoRuleSQL        = `
INSERT INTO provisioning_rule (account_id, group_id, role, product_id, priority, created_at)
SELECT $1, $2, $3, p.id, $4, $5 FROM product p WHERE p.key = 'analytics'`
	demoTokenSQL = `
INSERT INTO scim_token (account_id, name, token_hash, prefix, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)`
)

// seedDemoProvisioning gives Initech its identity-provider-managed people,
// groups, rules and a SCIM token, then lets the rules decide seats and the
// waiting list, audited, in the seeding transaction.
func seedDemoProvisioning(ctx context.Context, tx *sqlx.Tx, now time.Time, actor Actor) error {
	var accountID int64
	if err := tx.GetContext(ctx, &accountID, demoAccountIDSQL, "initech"); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, demoTokenSQL, accountID, "Demo identity provider", hashToken(DemoSCIMToken),
		DemoSCIMToken[:len(scimTokenPrefix)+6], actor.Label, now); err != nil {
		return err
	}
	joined := now.Add(-time.Hour)
	for _, g := range demoIdP {
		var groupID int64
		attrs := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":%q}`, g.name)
		if err := tx.GetContext(ctx, &groupID, insertSCIMGroupSQL, accountID, g.name, "", attrs, now); err != nil {
			return err
		}
		for _, p := range g.people {
			userID, _, err := userForEmail(ctx, preparedTx{Tx: tx}, now, p.email, p.name)
			if err != nil {
				return err
			}
			given, family, _ := strings.Cut(p.name, " ")
			doc, _ := json.Marshal(map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
				"userName": p.email, "displayName": p.name, "active": true,
				"name":   map[string]any{"givenName": given, "familyName": family},
				"emails": []any{map[string]any{"value": p.email, "type": "work", "primary": true}}})
			var membershipID int64
			if err := tx.GetContext(ctx, &membershipID, demoSCIMMemberSQL, accountID, userID, now, "demo-"+p.email,
				p.email, string(doc)); err != nil {
				return err
			}
			joined = joined.Add(time.Minute)
			if _, err := tx.ExecContext(ctx, demoGroupMemberSQL, accountID, groupID, membershipID, joined); err != nil {
				return err
			}
			if err := audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "scim.user.create",
				TargetType: "membership", TargetID: itoa(membershipID),
				After: map[string]any{"userName": p.email, "email": p.email, "group": g.name}}); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, demoRuleSQL, accountID, groupID, g.role, g.priority, now); err != nil {
			return err
		}
	}
	if err := lockProvisioning(ctx, tx, accountID, true); err != nil {
		return err
	}
	_, err := reconcileLocked(ctx, tx, now, accountID, actor, modeCaused, false)
	return err
}
