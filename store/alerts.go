package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// Alert kinds, as alert_sent records them.
const (
	alertUsage    = "usage_threshold"
	alertPoolFull = "seat_pool_full"
	alertTrial    = "trial_ending"
)

const (
	alertOnceSQL = `
INSERT INTO alert_sent (account_id, kind, subject, period, sent_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT DO NOTHING`
	alertRecipientsSQL = `
SELECT u.email FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = $1 AND m.status = 'active' AND m.alerts AND m.role = ANY ($2::text[])
ORDER BY u.email`
	alertAccountNameSQL = `SELECT name FROM account WHERE id = $1`
)

// alertOnce records that an alert goes out, inside tx; false when it
// already went for this period (and must not go again).
func alertOnce(ctx context.Context, tx *sqlx.Tx, now time.Time, accountID int64, kind, subject, period string) (bool, error) {
	res, err := tx.ExecContext(ctx, alertOnceSQL, accountID, kind, subject, period, now)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// mailAlert writes the alert to every active member who receives alerts
// (the matrix's roles) and has not switched them off, through the outbox.
func mailAlert(ctx context.Context, tx *sqlx.Tx, now time.Time, accountID int64, subject, body string) error {
	var to []string
	if err := tx.SelectContext(ctx, &to, alertRecipientsSQL, accountID, pq.StringArray(rolesFor(licensing.ReceiveAlerts))); err != nil {
		return err
	}
	body += "\n\nYou receive this because you run this account in Entitle. Switch these alerts off at /settings/alerts.\n"
	for _, addr := range to {
		if err := enqueueMail(ctx, tx, now, accountID, Mail{Kind: "alert", To: addr, Subject: subject, Body: body}); err != nil {
			return err
		}
	}
	return nil
}

func accountName(ctx context.Context, tx *sqlx.Tx, accountID int64) (string, error) {
	var name string
	err := tx.GetContext(ctx, &name, alertAccountNameSQL, accountID)
	return name, err
}

func rolesFor(a licensing.Action) []string {
	var out []string
	for _, r := range licensing.Permissions[a] {
		out = append(out, string(r))
	}
	return out
}

// usageAlerts tells the account's admins and the vendor, inside the usage
// report's transaction, when the report took usage past 80% or 100% of the
// feature's limit: once per period and threshold.
func usageAlerts(ctx context.Context, tx *sqlx.Tx, now time.Time, accountID int64, product string, f licensing.Feature,
	d licensing.Decision, quantity int64) error {
	if d.Limit == nil {
		return nil
	}
	crossed := licensing.ThresholdsCrossed(*d.Limit, d.Used-quantity, d.Used)
	if len(crossed) == 0 {
		return nil
	}
	start, end := licensing.PeriodStart(f.Period, now), licensing.PeriodEnd(f.Period, now)
	if f.Kind == licensing.Limit { // a standing limit has no period
		start, end = time.Time{}, time.Time{}
	}
	name, err := accountName(ctx, tx, accountID)
	if err != nil {
		return err
	}
	var emits []map[string]any
	for _, pct := range crossed {
		first, err := alertOnce(ctx, tx, now, accountID, alertUsage, fmt.Sprintf("%s:%d", f.Key, pct), start.Format(time.RFC3339))
		if err != nil {
			return err
		}
		if !first {
			continue
		}
		subject := fmt.Sprintf("%s has used %d%% of its %s", name, pct, f.Name)
		body := fmt.Sprintf("%s has used %d of %d %s this period (%d%%).", name, d.Used, *d.Limit, f.Name, pct)
		if pct >= 100 {
			body += " Further use is refused until the period ends or the limit is raised: upgrade the plan on the billing page."
		} else {
			body += " Further use is refused at the limit; upgrade the plan on the billing page to raise it."
		}
		if err := mailAlert(ctx, tx, now, accountID, subject, body); err != nil {
			return err
		}
		emits = append(emits, map[string]any{
			"product": product, "feature": f.Key, "threshold": pct, "limit": *d.Limit, "used": d.Used,
			"period_start": start, "period_end": end})
	}
	// The events after the mail: the outbox row's key check takes a share
	// lock on the account, which must come before the audit lock.
	for _, data := range emits {
		if err := emitWebhookLocked(ctx, tx, now, accountID, EventUsageThreshold, data); err != nil {
			return err
		}
	}
	return nil
}

const (
	trialsEndingSQL = `
SELECT s.account_id, s.id FROM subscription s
WHERE s.status = 'trialing' AND s.trial_ends_at > $1 AND s.trial_ends_at <= $2`
	fullPoolsSQL = `
SELECT s.account_id, s.id, (SELECT count(*) FROM waiting_entry w WHERE w.subscription_id = s.id) AS waiting
FROM subscription s
WHERE s.status IN ('trialing', 'active', 'past_due')
  AND EXISTS (SELECT 1 FROM waiting_entry w WHERE w.subscription_id = s.id)
  AND s.seats_assigned >= s.seats`
)

// RunAlerts sends the alerts that come from time passing or from a pool
// filling up: trials ending within 3 days, and full seat pools with people
// waiting (once per billing period). It returns how many it sent.
func (s *Store) RunAlerts(ctx context.Context) (int, error) {
	now := s.Now()
	var trials []struct {
		AccountID int64 `db:"account_id"`
		ID        int64 `db:"id"`
	}
	if err := s.db.SelectContext(ctx, &trials, trialsEndingSQL, now, now.AddDate(0, 0, licensing.TrialAlertDays)); err != nil {
		return 0, err
	}
	var pools []struct {
		AccountID int64 `db:"account_id"`
		ID        int64 `db:"id"`
		Waiting   int   `db:"waiting"`
	}
	if err := s.db.SelectContext(ctx, &pools, fullPoolsSQL); err != nil {
		return 0, err
	}
	sent := 0
	for _, t := range trials {
		ok, err := s.alertTrialEnding(ctx, now, t.AccountID, t.ID)
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		}
	}
	for _, p := range pools {
		ok, err := s.alertPoolFull(ctx, now, p.AccountID, p.ID, p.Waiting)
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		}
	}
	return sent, nil
}

func (s *Store) alertTrialEnding(ctx context.Context, now time.Time, accountID, subID int64) (bool, error) {
	sent := false
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		sub, err := webhookSubscription(ctx, tx, accountID, subID)
		if err != nil || sub.TrialEndsAt == nil {
			return err
		}
		first, err := alertOnce(ctx, tx, now, accountID, alertTrial, itoa(subID), sub.TrialEndsAt.UTC().Format(time.RFC3339))
		if err != nil || !first {
			return err
		}
		name, err := accountName(ctx, tx, accountID)
		if err != nil {
			return err
		}
		sent = true
		if err := mailAlert(ctx, tx, now, accountID, fmt.Sprintf("%s: the %s trial ends on %s", name, sub.PlanName,
			sub.TrialEndsAt.UTC().Format("2 January 2006")),
			fmt.Sprintf("The %s trial of %s ends on %s. Choose a plan on the billing page to keep its features; "+
				"otherwise the account falls back to its previous plan.", sub.PlanName, name, sub.TrialEndsAt.UTC().Format("2 January 2006 15:04 UTC"))); err != nil {
			return err
		}
		// The event after the mail (the outbox's key check before the audit lock).
		days := int(sub.TrialEndsAt.Sub(now).Hours() / 24)
		return emitWebhookLocked(ctx, tx, now, accountID, EventTrialEnding, map[string]any{
			"subscription": sub, "trial_ends_at": sub.TrialEndsAt, "days_left": days})
	})
	return sent, err
}

func (s *Store) alertPoolFull(ctx context.Context, now time.Time, accountID, subID int64, waiting int) (bool, error) {
	sent := false
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		sub, err := webhookSubscription(ctx, tx, accountID, subID)
		if err != nil {
			return err
		}
		period := ""
		if sub.CurrentPeriodEnd != nil {
			period = sub.CurrentPeriodEnd.UTC().Format(time.RFC3339)
		}
		first, err := alertOnce(ctx, tx, now, accountID, alertPoolFull, itoa(subID), period)
		if err != nil || !first {
			return err
		}
		name, err := accountName(ctx, tx, accountID)
		if err != nil {
			return err
		}
		sent = true
		people := "1 person is"
		if waiting != 1 {
			people = fmt.Sprintf("%d people are", waiting)
		}
		if err := mailAlert(ctx, tx, now, accountID, fmt.Sprintf("%s: every %s seat is taken, %d waiting", name, sub.Product, waiting),
			fmt.Sprintf("All %d seats of %s (%s) are assigned and %s waiting for one. Buy seats on the billing page, "+
				"or free seats on the seats page.", sub.Seats, name, sub.PlanName, people)); err != nil {
			return err
		}
		return emitWebhookLocked(ctx, tx, now, accountID, EventSeatPoolFull, map[string]any{
			"subscription_id": sub.ID, "product": sub.Product, "seats": sub.Seats, "seats_assigned": sub.SeatsAssigned,
			"waiting": waiting})
	})
	return sent, err
}

const (
	alertsOnSQL    = `SELECT alerts FROM membership WHERE account_id = $1 AND id = $2`
	setAlertsOnSQL = `UPDATE membership SET alerts = $3 WHERE account_id = $1 AND id = $2`
)

// AlertsOn reports whether the member receives the account's alerts.
func (s *Store) AlertsOn(ctx context.Context, p Principal) (bool, error) {
	var on bool
	err := s.db.GetContext(ctx, &on, alertsOnSQL, p.AccountID, p.MembershipID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, ErrNotFound
	}
	return on, err
}

// SetAlertsOn switches the member's alerts for the account.
func (s *Store) SetAlertsOn(ctx context.Context, p Principal, on bool) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, setAlertsOnSQL, p.AccountID, p.MembershipID, on)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return audit(ctx, tx, s.Now(), AuditEvent{AccountID: p.AccountID, Actor: p.actor(), Action: "member.alerts",
			TargetType: "membership", TargetID: itoa(p.MembershipID), After: map[string]any{"alerts": on}})
	})
}
