package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

const (
	ssoNoticeSQL = `SELECT downgrade_notice FROM sso_config WHERE account_id = $1 FOR UPDATE`
	// Whether the plan now has sso and the scheduled one has not; a live
	// vendor grant of sso keeps it whatever the plan.
	ssoLostSQL = `
SELECT coalesce(bool_or(pf.enabled) FILTER (WHERE pf.plan_version_id = $2), false)
       AND NOT coalesce(bool_or(pf.enabled) FILTER (WHERE pf.plan_version_id = $3), false)
       AND NOT EXISTS (SELECT 1 FROM entitlement_grant g JOIN feature gf ON gf.id = g.feature_id
                       WHERE g.account_id = $1 AND gf.key = 'sso' AND g.enabled AND g.revoked_at IS NULL
                         AND (g.expires_at IS NULL OR g.expires_at > $4))
FROM plan_feature pf JOIN feature f ON f.id = pf.feature_id
WHERE f.key = 'sso' AND pf.plan_version_id IN ($2, $3)`
	ssoOwnersSQL = `SELECT u.email FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = $1 AND m.role = 'owner' AND m.status = 'active' ORDER BY lower(u.email)`
	setSSONoticeSQL = `UPDATE sso_config SET downgrade_notice = $2 WHERE account_id = $1`
)

// noticeSSODowngrade tells the owners of an account using SSO, once per
// scheduled downgrade, that the plan it moves to at periodEnd has no `sso`:
// from then on people sign in with a password again. The sign-in path
// decides by the evaluation function, so SSO stops by itself when the plan
// changes.
func noticeSSODowngrade(ctx context.Context, tx *sqlx.Tx, now time.Time, actor Actor, accountID, planVersionID, scheduledID int64, periodEnd sql.NullTime) error {
	var notice sql.NullTime
	err := tx.GetContext(ctx, &notice, ssoNoticeSQL, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // no SSO set up: nothing to lose
	}
	if err != nil {
		return err
	}
	if notice.Valid && periodEnd.Valid && notice.Time.Equal(periodEnd.Time) {
		return nil
	}
	var lost bool
	if err := tx.GetContext(ctx, &lost, ssoLostSQL, accountID, planVersionID, scheduledID, now); err != nil || !lost {
		return err
	}
	var owners []string
	if err := tx.SelectContext(ctx, &owners, ssoOwnersSQL, accountID); err != nil {
		return err
	}
	when := "at the end of the billing period"
	if periodEnd.Valid {
		when = "on " + periodEnd.Time.UTC().Format("2 Jan 2006")
	}
	for _, to := range owners {
		if err := enqueueMail(ctx, tx, now, accountID, Mail{Kind: "sso_downgrade", To: to,
			Subject: "Single sign-on stops when your plan changes",
			Body:    fmt.Sprintf("Your account moves to a plan without single sign-on %s. From then on the portal asks for email and password again and \"require SSO\" no longer applies; people who only ever signed in through SSO have no password.\n\nKeep your current plan on the billing page to keep single sign-on.", when)}); err != nil {
			return err
		}
	}
	stamp := periodEnd
	if !stamp.Valid {
		stamp = nullTime(now)
	}
	if _, err := tx.ExecContext(ctx, setSSONoticeSQL, accountID, stamp); err != nil {
		return err
	}
	return audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "sso.downgrade_notice",
		TargetType: "account", TargetID: itoa(accountID), After: map[string]any{"owners_told": owners, "takes_effect": stamp.Time}})
}
