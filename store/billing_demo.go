package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"
)

// demoBilling gives each demo account a simulated Stripe customer and
// subscription that agree with its seeded subscription: Globex pays by card,
// Initech trials Business with no card (falling back to Free unless it adds
// one), Umbrella's card fails and an invoice has been open for two days;
// Hooli (Enterprise, single sign-on) pays by card.
var demoBilling = map[string]struct {
	hasCard, paymentsFail bool
	stripeStatus          string
	fallbackPlan          string
	openInvoiceAge        time.Duration
}{
	"globex":   {hasCard: true, stripeStatus: "active"},
	"initech":  {stripeStatus: "trialing", fallbackPlan: "free"},
	"umbrella": {hasCard: true, paymentsFail: true, stripeStatus: "past_due", openInvoiceAge: 48 * time.Hour},
	"hooli":    {hasCard: true, stripeStatus: "active"},
}

const (
	demoSubRowSQL = `
SELECT s.id, s.account_id, s.seats, s.trial_ends_at, s.current_period_end, pp.stripe_price_id, pp.unit_amount,
       pp.currency, pv.plan_id, a.slug
FROM subscription s JOIN account a ON a.id = s.account_id
JOIN plan_version pv ON pv.id = s.plan_version_id
JOIN plan_price pp ON pp.plan_version_id = pv.id
WHERE a.slug = $1 ORDER BY pp.billing_interval LIMIT 1`
	demoPriceOfPlanSQL = `
SELECT pp.stripe_price_id FROM plan_price pp JOIN plan_version pv ON pv.id = pp.plan_version_id
JOIN plan pl ON pl.id = pv.plan_id WHERE pl.key = $1 ORDER BY pv.version DESC, pp.billing_interval LIMIT 1`
	demoLinkSubSQL      = `UPDATE subscription SET stripe_subscription_id = $2 WHERE id = $1`
	demoLinkCustomerSQL = `UPDATE account SET stripe_customer_id = $2 WHERE id = $1`
)

// seedDemoBilling runs inside SeedDemo's transaction.
func seedDemoBilling(ctx context.Context, tx *sqlx.Tx, now time.Time, actor Actor) error {
	for _, d := range demoAccounts {
		b, ok := demoBilling[d.slug]
		if !ok {
			continue
		}
		var row struct {
			ID               int64        `db:"id"`
			AccountID        int64        `db:"account_id"`
			Seats            int          `db:"seats"`
			TrialEndsAt      sql.NullTime `db:"trial_ends_at"`
			CurrentPeriodEnd sql.NullTime `db:"current_period_end"`
			PriceID          string       `db:"stripe_price_id"`
			UnitAmount       int64        `db:"unit_amount"`
			Currency         string       `db:"currency"`
			PlanID           int64        `db:"plan_id"`
			Slug             string       `db:"slug"`
		}
		if err := tx.GetContext(ctx, &row, demoSubRowSQL, d.slug); err != nil {
			return err
		}
		cus := SimCustomer{ID: "cus_sim_" + d.slug, AccountID: row.AccountID, Email: d.owner,
			HasPaymentMethod: b.hasCard, PaymentsFail: b.paymentsFail, CreatedAt: now.AddDate(0, -6, 0)}
		if _, err := tx.NamedExecContext(ctx, insertSimCustomerSQL, cus); err != nil {
			return err
		}
		sub := SimSubscription{ID: "sub_sim_" + d.slug, AccountID: row.AccountID, CustomerID: cus.ID, PriceID: row.PriceID,
			Quantity: row.Seats, Status: b.stripeStatus, TrialEnd: row.TrialEndsAt,
			CurrentPeriodStart: row.CurrentPeriodEnd.Time.AddDate(0, -1, 0), CurrentPeriodEnd: row.CurrentPeriodEnd.Time,
			CreatedAt: cus.CreatedAt}
		if b.fallbackPlan != "" {
			if err := tx.GetContext(ctx, &sub.TrialFallbackPriceID, demoPriceOfPlanSQL, b.fallbackPlan); err != nil {
				return err
			}
		}
		a := SimAccount{Customer: cus, Subscriptions: []SimSubscription{sub}}
		if b.openInvoiceAge > 0 {
			a.Invoices = append(a.Invoices, SimInvoice{ID: "in_sim_" + d.slug + "_open",
				Number: SimInvoiceNumber(cus.ID, 1), AccountID: row.AccountID,
				CustomerID: cus.ID, SubscriptionID: sub.ID, AmountDue: row.UnitAmount * int64(row.Seats),
				Currency: row.Currency, Status: "open", BillingReason: "subscription_cycle", Attempts: 1,
				CreatedAt: now.Add(-b.openInvoiceAge)})
		}
		if err := saveSim(ctx, tx, a); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, demoLinkCustomerSQL, row.AccountID, cus.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, demoLinkSubSQL, row.ID, sub.ID); err != nil {
			return err
		}
		if b.stripeStatus == "trialing" {
			if _, err := tx.ExecContext(ctx, recordTrialSQL, row.AccountID, row.PlanID, now, ""); err != nil {
				return err
			}
		}
		if err := audit(ctx, tx, now, AuditEvent{AccountID: row.AccountID, Actor: actor, Action: "billing.customer_create",
			TargetType: "account", TargetID: itoa(row.AccountID),
			After: map[string]any{"stripe_customer": cus.ID, "stripe_subscription": sub.ID}}); err != nil {
			return err
		}
	}
	return nil
}
