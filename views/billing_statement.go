package views

import (
	"time"
)

// Money is an amount in minor units with its currency.
type Money struct {
	Amount   int64
	Currency string
}

func (m Money) String() string { return FormatMoney(m.Amount, m.Currency) }

// InvoiceView is one invoice as the buyer reads it.
type InvoiceView struct {
	Number  string
	Date    time.Time
	Total   Money
	Status  string // draft, open, paid, void, uncollectible
	Reason  string // Stripe's billing_reason
	URL     string // hosted invoice page (Stripe) or the printable page (simulator)
	Hosted  bool   // URL leaves the portal (Stripe's page)
	PaidAt  time.Time
	Account string // billed to (the printable page)
	Plan    string // the plan the invoice was for, when known (the printable page)
	// Discount is the promotion's line: taken off by DiscountCode, Total
	// is after it.
	Discount     Money
	DiscountCode string
}

// Subtotal is the invoice before its discount.
func (v InvoiceView) Subtotal() Money {
	return Money{Amount: v.Total.Amount + v.Discount.Amount, Currency: v.Total.Currency}
}

// DiscountLine reads "LAUNCH20: −$5.80".
func (v InvoiceView) DiscountLine() string {
	code := v.DiscountCode
	if code == "" {
		code = "Discount"
	}
	return code + ": " + FormatMoney(-v.Discount.Amount, v.Discount.Currency)
}

// NextInvoiceView is the invoice the next renewal raises.
type NextInvoiceView struct {
	Date  time.Time
	Total Money
}

// StatementView is the buyer's money on /billing: what the plan costs a
// month, the next invoice, the payment method and the invoices.
type StatementView struct {
	Loaded           bool // false: the provider could not be read just now
	Monthly          Money
	UnitAmount       Money // per seat for seat-based plans
	HasPaymentMethod bool
	PaymentMethod    string
	Declines         bool
	Next             *NextInvoiceView
	Open             *InvoiceView // the oldest invoice waiting for payment
	Invoices         []InvoiceView
	GraceEnds        time.Time // past due: access continues until then
}

// ConvertConfirmView is what the buyer reads before converting a trial.
type ConvertConfirmView struct {
	PlanName      string
	Seats         int
	SeatBased     bool
	Charge        Money
	NeedsCard     bool
	PaymentMethod string
	CSRF          string
}

// InvoicePageView is the simulator's printable invoice.
type InvoicePageView struct {
	Invoice InvoiceView
	CanPay  bool
	CSRF    string
}

func invoiceReasonLabel(reason string) string {
	switch reason {
	case "subscription_create":
		return "First payment of the subscription"
	case "subscription_cycle":
		return "Monthly subscription"
	case "subscription_update":
		return "Change of plan, seats or add-ons, prorated"
	case "subscription_threshold":
		return "Usage threshold reached"
	case "manual":
		return "One-off invoice"
	}
	return "Subscription invoice"
}

func invoiceStatusLabel(status string) string {
	switch status {
	case "open":
		return "Due"
	case "paid":
		return "Paid"
	case "void":
		return "Voided"
	case "uncollectible":
		return "Uncollectible"
	case "draft":
		return "Draft"
	}
	return status
}

// seatsText is "10 seats" (or "1 seat").
func seatsText(n int) string { return formatCount(int64(n)) + " " + plural(n, "seat", "seats") }

// changeDoneText confirms a change once its events have been applied: the
// plan, the seats and the monthly price it leaves the account with.
func changeDoneText(v BillingView) string {
	now := v.PlanName
	if v.SeatBased {
		now += ", " + seatsText(v.Seats)
	}
	now += ", " + v.Statement.Monthly.String() + " a month"
	switch v.Done {
	case "upgrade":
		return "Upgraded. You are now on " + now + "."
	case "subscribe":
		return "Subscribed. You are on " + now + "."
	case "convert":
		return "Trial converted. You are on " + now + "."
	case "trial":
		return "Trial started. You are on " + now + " after the trial when a payment method is on file."
	case "pay":
		return "Payment received. You are on " + now + "."
	case "resume":
		return "Resumed. You stay on " + now + "."
	case "addon":
		return "Add-ons saved. You are on " + now + "."
	case "cancel":
		return "Canceled at period end: " + v.PlanName + " ends on " + v.PeriodEnd + ". Until then you are on " + now + "."
	case "downgrade", "seats", "keep":
		if v.ScheduledPlanName != "" || v.ScheduledSeats > 0 {
			return "Saved. From " + v.PeriodEnd + " you will be on " + scheduledText(v) + "; until then on " + now + "."
		}
		return "Saved. You are on " + now + "."
	}
	return ""
}

func scheduledText(v BillingView) string {
	plan, seats := v.PlanName, v.Seats
	if v.ScheduledPlanName != "" {
		plan = v.ScheduledPlanName
	}
	if v.ScheduledSeats > 0 {
		seats = v.ScheduledSeats
	}
	out := plan
	if v.SeatBased {
		out += ", " + seatsText(seats)
	}
	if v.ScheduledMonthly.Currency != "" || v.ScheduledMonthly.Amount > 0 {
		out += ", " + v.ScheduledMonthly.String() + " a month"
	}
	return out
}
