package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
)

// DemoTOTPSecret is the two-factor secret of the demo's support admin and
// admin (`make run` prints it, like the SCIM token): add it to an
// authenticator app, or compute a code with twofactor.Code. Never use a
// known secret outside the demo.
const DemoTOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// DemoTwoAccountPerson belongs to two demo accounts (admin of Initech,
// billing of Umbrella): the account switcher's demo.
const DemoTwoAccountPerson = "pat@partners.test"

const demoMemberByEmailSQL = `
INSERT INTO membership (account_id, user_id, role, status, source, created_at)
SELECT a.id, $2, $3, 'active', 'manual', $4 FROM account a WHERE a.slug = $1 RETURNING id, account_id`

// seedDemoFrontDoor adds, beside the demo accounts' figures: two-factor
// for the staff roles that need it, and a person in two accounts.
func seedDemoFrontDoor(ctx context.Context, tx *sqlx.Tx, now time.Time, actor Actor, hash string) error {
	for _, st := range demoStaff {
		if StaffNeedsTwoFactor(st.role) {
			if err := seedTOTP(ctx, tx, now, st.email, DemoTOTPSecret); err != nil {
				return err
			}
		}
	}
	var userID int64
	if err := tx.GetContext(ctx, &userID, insertUserSQL, DemoTwoAccountPerson, "Pat Partner", hash, now); err != nil {
		return err
	}
	for _, m := range []struct{ slug, role string }{{"initech", "admin"}, {"umbrella", "billing"}} {
		var row struct {
			ID        int64 `db:"id"`
			AccountID int64 `db:"account_id"`
		}
		if err := tx.GetContext(ctx, &row, demoMemberByEmailSQL, m.slug, userID, m.role, now); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, AuditEvent{AccountID: row.AccountID, Actor: actor, Action: "member.add",
			TargetType: "membership", TargetID: itoa(row.ID),
			After: map[string]any{"email": DemoTwoAccountPerson, "role": m.role}}); err != nil {
			return err
		}
	}
	return nil
}
