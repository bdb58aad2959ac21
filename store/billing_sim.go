package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// The local billing simulator keeps what Stripe would hold in its own
// tables. Its rules live in the billing package; these methods only load
// and save its state under a row lock.

// SimCustomer is a simulated Stripe customer.
type SimCustomer struct {
	ID               string    `db:"id"`
	AccountID        int64     `db:"account_id"`
	Email            string    `db:"email"`
	HasPaymentMethod bool      `db:"has_payment_method"`
	PaymentsFail     bool      `db:"payments_fail"`
	ClockOffset      int64     `db:"clock_offset_seconds"`
	CreatedAt        time.Time `db:"created_at"`
}

// SimSubscription is a simulated Stripe subscription (Stripe's statuses).
type SimSubscription struct {
	ID                   string       `db:"id"`
	AccountID            int64        `db:"account_id"`
	CustomerID           string       `db:"customer_id"`
	PriceID              string       `db:"price_id"`
	Quantity             int          `db:"quantity"`
	Status               string       `db:"status"`
	TrialEnd             sql.NullTime `db:"trial_end"`
	TrialFallbackPriceID string       `db:"trial_fallback_price_id"`
	CurrentPeriodStart   time.Time    `db:"current_period_start"`
	CurrentPeriodEnd     time.Time    `db:"current_period_end"`
	CancelAtPeriodEnd    bool         `db:"cancel_at_period_end"`
	ScheduledPriceID     string       `db:"scheduled_price_id"`
	ScheduledQuantity    int          `db:"scheduled_quantity"`
	LastEventCreated     sql.NullTime `db:"last_event_created"`
	CreatedAt            time.Time    `db:"created_at"`
	AddOnItems           SimItems     `db:"addon_items"`
	SimDiscount
}

// SimInvoice is a simulated Stripe invoice.
type SimInvoice struct {
	ID             string       `db:"id"`
	Number         string       `db:"number"` // what the buyer reads and links by
	AccountID      int64        `db:"account_id"`
	CustomerID     string       `db:"customer_id"`
	SubscriptionID string       `db:"subscription_id"`
	AmountDue      int64        `db:"amount_due"`
	Currency       string       `db:"currency"`
	Status         string       `db:"status"`
	BillingReason  string       `db:"billing_reason"`
	Attempts       int          `db:"attempts"`
	CreatedAt      time.Time    `db:"created_at"`
	PaidAt         sql.NullTime `db:"paid_at"`
	// DiscountAmount was taken off by DiscountCode: AmountDue is after it.
	DiscountCode   string `db:"discount_code"`
	DiscountAmount int64  `db:"discount_amount"`
}

// SimAccount is one simulated customer with everything it owns.
type SimAccount struct {
	Customer      SimCustomer
	Subscriptions []SimSubscription
	Invoices      []SimInvoice // oldest first
}

// Subscription finds one of the customer's subscriptions.
func (a *SimAccount) Subscription(id string) *SimSubscription {
	for i := range a.Subscriptions {
		if a.Subscriptions[i].ID == id {
			return &a.Subscriptions[i]
		}
	}
	return nil
}

// SimPrice is a catalog price as the simulator charges it.
type SimPrice struct {
	ID         string `db:"stripe_price_id"`
	UnitAmount int64  `db:"unit_amount"`
	Currency   string `db:"currency"`
	Interval   string `db:"billing_interval"`
	SeatBased  bool   `db:"seat_based"`
}

const (
	insertSimCustomerSQL = `
INSERT INTO billing_sim_customer (id, account_id, email, has_payment_method, payments_fail, clock_offset_seconds, created_at)
VALUES (:id, :account_id, :email, :has_payment_method, :payments_fail, :clock_offset_seconds, :created_at)`
	simCustomerColumns      = `id, account_id, email, has_payment_method, payments_fail, clock_offset_seconds, created_at`
	lockSimCustomerSQL      = `SELECT ` + simCustomerColumns + ` FROM billing_sim_customer WHERE id = $1 FOR UPDATE`
	simCustomerByAccountSQL = `SELECT ` + simCustomerColumns + ` FROM billing_sim_customer WHERE account_id = $1`
	simSubsSQL              = `SELECT * FROM billing_sim_subscription WHERE customer_id = $1 ORDER BY created_at, id`
	simInvoicesSQL          = `SELECT * FROM billing_sim_invoice WHERE customer_id = $1 ORDER BY created_at, id`
	simSubByIDSQL           = `SELECT customer_id FROM billing_sim_subscription WHERE id = $1`
	updateSimCustomerSQL    = `
UPDATE billing_sim_customer SET has_payment_method = :has_payment_method, payments_fail = :payments_fail,
       clock_offset_seconds = :clock_offset_seconds
WHERE id = :id`
	upsertSimSubSQL = `
INSERT INTO billing_sim_subscription (id, account_id, customer_id, price_id, quantity, status, trial_end,
       trial_fallback_price_id, current_period_start, current_period_end, cancel_at_period_end,
       scheduled_price_id, scheduled_quantity, last_event_created, created_at, addon_items, discount_code,
       discount_percent_off, discount_amount_off, discount_currency, discount_duration, discount_end)
VALUES (:id, :account_id, :customer_id, :price_id, :quantity, :status, :trial_end, :trial_fallback_price_id,
       :current_period_start, :current_period_end, :cancel_at_period_end, :scheduled_price_id,
       :scheduled_quantity, :last_event_created, :created_at, :addon_items, :discount_code, :discount_percent_off,
       :discount_amount_off, :discount_currency, :discount_duration, :discount_end)
ON CONFLICT (id) DO UPDATE SET price_id = EXCLUDED.price_id, quantity = EXCLUDED.quantity, status = EXCLUDED.status,
       trial_end = EXCLUDED.trial_end, trial_fallback_price_id = EXCLUDED.trial_fallback_price_id,
       current_period_start = EXCLUDED.current_period_start, current_period_end = EXCLUDED.current_period_end,
       cancel_at_period_end = EXCLUDED.cancel_at_period_end, scheduled_price_id = EXCLUDED.scheduled_price_id,
       scheduled_quantity = EXCLUDED.scheduled_quantity, last_event_created = EXCLUDED.last_event_created,
       addon_items = EXCLUDED.addon_items,
       discount_code = EXCLUDED.discount_code, discount_percent_off = EXCLUDED.discount_percent_off,
       discount_amount_off = EXCLUDED.discount_amount_off, discount_currency = EXCLUDED.discount_currency,
       discount_duration = EXCLUDED.discount_duration, discount_end = EXCLUDED.discount_end`
	upsertSimInvoiceSQL = `
INSERT INTO billing_sim_invoice (id, number, account_id, customer_id, subscription_id, amount_due, currency, status,
       billing_reason, attempts, created_at, paid_at, discount_code, discount_amount)
VALUES (:id, :number, :account_id, :customer_id, :subscription_id, :amount_due, :currency, :status, :billing_reason,
       :attempts, :created_at, :paid_at, :discount_code, :discount_amount)
ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, attempts = EXCLUDED.attempts, paid_at = EXCLUDED.paid_at`
	// Plans' prices and add-ons' (never per seat: an add-on's units are
	// its item's quantity).
	simPricesSQL = `
(SELECT DISTINCT ON (pp.stripe_price_id) pp.stripe_price_id, pp.unit_amount, pp.currency, pp.billing_interval, pv.seat_based
 FROM plan_price pp JOIN plan_version pv ON pv.id = pp.plan_version_id
 ORDER BY pp.stripe_price_id, pv.version DESC)
UNION ALL
(SELECT DISTINCT ON (stripe_price_id) stripe_price_id, unit_amount, currency, billing_interval, false
 FROM addon ORDER BY stripe_price_id, retired_at IS NOT NULL, id)`
)

// CreateSimCustomer adds a simulated customer.
func (s *Store) CreateSimCustomer(ctx context.Context, c SimCustomer) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.Now()
	}
	_, err := s.db.NamedExecContext(ctx, insertSimCustomerSQL, c)
	return err
}

// SimAccountByAccount reads an account's simulated customer (console).
func (s *Store) SimAccountByAccount(ctx context.Context, accountID int64) (SimAccount, error) {
	var a SimAccount
	err := s.db.GetContext(ctx, &a.Customer, simCustomerByAccountSQL, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, err
	}
	if err := s.db.SelectContext(ctx, &a.Subscriptions, simSubsSQL, a.Customer.ID); err != nil {
		return a, err
	}
	err = s.db.SelectContext(ctx, &a.Invoices, simInvoicesSQL, a.Customer.ID)
	return a, err
}

// SimCustomerOfSubscription names the simulated customer owning a subscription.
func (s *Store) SimCustomerOfSubscription(ctx context.Context, subID string) (string, error) {
	var id string
	err := s.db.GetContext(ctx, &id, simSubByIDSQL, subID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return id, err
}

// UpdateSim loads a simulated customer with its subscriptions and invoices
// under a row lock, lets fn change them, and saves the result in the same
// transaction; an error from fn saves nothing.
func (s *Store) UpdateSim(ctx context.Context, customerID string, fn func(*SimAccount) error) error {
	return s.updateSim(ctx, customerID, nil, fn)
}

// UpdateSimAudited is UpdateSim for a change a person asked for: the audit
// entry fn fills in is written in the same transaction as the change.
func (s *Store) UpdateSimAudited(ctx context.Context, customerID string, fn func(*SimAccount, *AuditEvent) error) error {
	var ev AuditEvent
	return s.updateSim(ctx, customerID, &ev, func(a *SimAccount) error { return fn(a, &ev) })
}

func (s *Store) updateSim(ctx context.Context, customerID string, ev *AuditEvent, fn func(*SimAccount) error) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var a SimAccount
		err := tx.GetContext(ctx, &a.Customer, lockSimCustomerSQL, customerID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &a.Subscriptions, simSubsSQL, customerID); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &a.Invoices, simInvoicesSQL, customerID); err != nil {
			return err
		}
		if err := fn(&a); err != nil {
			return err
		}
		if err := saveSim(ctx, tx, a); err != nil {
			return err
		}
		if ev == nil {
			return nil
		}
		ev.AccountID = a.Customer.AccountID
		return audit(ctx, tx, s.Now(), *ev)
	})
}

func saveSim(ctx context.Context, tx *sqlx.Tx, a SimAccount) error {
	if _, err := tx.NamedExecContext(ctx, updateSimCustomerSQL, a.Customer); err != nil {
		return err
	}
	for _, sub := range a.Subscriptions {
		if _, err := tx.NamedExecContext(ctx, upsertSimSubSQL, sub); err != nil {
			return err
		}
	}
	for _, inv := range a.Invoices {
		if _, err := tx.NamedExecContext(ctx, upsertSimInvoiceSQL, inv); err != nil {
			return err
		}
	}
	return nil
}

// SimPrices lists every catalog price by Stripe price id.
func (s *Store) SimPrices(ctx context.Context) (map[string]SimPrice, error) {
	var rows []SimPrice
	if err := s.db.SelectContext(ctx, &rows, simPricesSQL); err != nil {
		return nil, err
	}
	out := make(map[string]SimPrice, len(rows))
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// RecordBillingRequest audits a buyer's request to the billing provider
// (pay an invoice, convert a trial): what changes follows in the
// provider's events, each audited as it is applied.
func (s *Store) RecordBillingRequest(ctx context.Context, actor Actor, accountID int64, action, targetType, targetID string, details map[string]any) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		return audit(ctx, tx, s.Now(), AuditEvent{AccountID: accountID, Actor: actor, Action: action,
			TargetType: targetType, TargetID: targetID, After: details})
	})
}

const simInvoiceByNumberSQL = `SELECT * FROM billing_sim_invoice WHERE account_id = $1 AND number = $2`

// SimInvoiceByNumber reads one of the account's simulated invoices by its
// number; another account's number is not found.
func (s *Store) SimInvoiceByNumber(ctx context.Context, accountID int64, number string) (SimInvoice, error) {
	var inv SimInvoice
	err := s.db.GetContext(ctx, &inv, simInvoiceByNumberSQL, accountID, number)
	if errors.Is(err, sql.ErrNoRows) {
		return inv, ErrNotFound
	}
	return inv, err
}

// SimInvoiceNumber is the number of a simulated customer's nth invoice,
// shaped like Stripe's: a prefix of the customer, a running count.
func SimInvoiceNumber(customerID string, n int) string {
	prefix := strings.ToUpper(strings.TrimPrefix(customerID, "cus_sim_"))
	if len(prefix) > 8 {
		prefix = prefix[:8]
	}
	return fmt.Sprintf("%s-%04d", prefix, n)
}

const simCustomerAccountSQL = `SELECT account_id FROM billing_sim_customer WHERE id = $1`

// SimAccountByCustomer reads a simulated customer by its id.
func (s *Store) SimAccountByCustomer(ctx context.Context, customerID string) (SimAccount, error) {
	var accountID int64
	err := s.db.GetContext(ctx, &accountID, simCustomerAccountSQL, customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return SimAccount{}, ErrNotFound
	}
	if err != nil {
		return SimAccount{}, err
	}
	return s.SimAccountByAccount(ctx, accountID)
}
