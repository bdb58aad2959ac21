package handlers

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/views"
)

// fillStatement adds the money to /billing: what the plan costs a month,
// the next invoice, the payment method and the invoices, read from the
// provider. While a change is pending the page polls, and the provider is
// not asked again until it has landed. A provider that cannot be read is
// logged and the page says so; the rest of the page still works.
func (h *Handler) fillStatement(c echo.Context, st store.BillingState, v *views.BillingView) {
	sub := st.Subscription
	if sub == nil {
		return
	}
	v.Statement.UnitAmount = views.Money{Amount: sub.UnitAmount, Currency: sub.Currency}
	v.Statement.Monthly = views.Money{Amount: monthly(sub.UnitAmount, sub.Seats, sub.SeatBased), Currency: sub.Currency}
	if sub.ScheduledPlanKey.Valid || sub.ScheduledSeats.Valid {
		unit, seatBased, seats := sub.UnitAmount, sub.SeatBased, sub.Seats
		if p, ok := st.Plan(sub.ScheduledPlanKey.String); ok && sub.ScheduledPlanKey.Valid {
			unit, seatBased = p.UnitAmount, p.SeatBased
		}
		if sub.ScheduledSeats.Valid {
			seats = int(sub.ScheduledSeats.Int64)
		}
		v.ScheduledMonthly = views.Money{Amount: monthly(unit, seats, seatBased), Currency: sub.Currency}
	}
	state := sub.State()
	v.TrialEnds = state.TrialEndsAt
	v.ChangesLocked = billing.ChangesLocked(st)
	if sub.Status == string(licensing.PastDue) {
		v.Statement.GraceEnds = state.PastDueSince.Add(licensing.DefaultGracePeriod)
	}
	if v.Pending {
		return
	}
	stmt, err := h.Billing.Statement(c.Request().Context(), st.Account.ID)
	if err != nil {
		h.log(c).Error("load billing statement", "err", err)
		return
	}
	v.Statement.Loaded = true
	v.Statement.HasPaymentMethod, v.Statement.PaymentMethod, v.Statement.Declines = stmt.HasPaymentMethod, stmt.PaymentMethod, stmt.Declines
	if u := stmt.Upcoming; u != nil {
		v.Statement.Next = &views.NextInvoiceView{Date: u.At, Total: views.Money{Amount: u.AmountDue, Currency: u.Currency}}
	}
	v.Statement.Invoices = invoiceViews(stmt.Invoices, h.Billing.Sim == nil)
	if open := stmt.Open(); open != nil {
		iv := invoiceView(*open, h.Billing.Sim == nil)
		v.Statement.Open = &iv
	}
}

func monthly(unitAmount int64, seats int, seatBased bool) int64 {
	if seatBased {
		return unitAmount * int64(seats)
	}
	return unitAmount
}

func invoiceView(inv billing.Invoice, hosted bool) views.InvoiceView {
	return views.InvoiceView{Number: inv.Number, Date: inv.Created, Total: views.Money{Amount: inv.AmountDue, Currency: inv.Currency},
		Status: inv.Status, Reason: inv.Reason, URL: inv.URL, Hosted: hosted,
		Discount: views.Money{Amount: inv.Discount, Currency: inv.Currency}, DiscountCode: inv.DiscountCode}
}

func invoiceViews(invs []billing.Invoice, hosted bool) []views.InvoiceView {
	out := make([]views.InvoiceView, 0, len(invs))
	for _, inv := range invs {
		out = append(out, invoiceView(inv, hosted))
	}
	return out
}

// BillingPay pays the open invoice named by the form: at once with the
// simulator (the page then waits for its webhook), on Stripe's hosted
// invoice page with Stripe.
func (h *Handler) BillingPay(c echo.Context) error {
	return h.billingAction(c, func(ctx context.Context, id int64) (billing.Pending, error) {
		number := c.FormValue("invoice")
		if number == "" || len(number) > 64 {
			return billing.Pending{}, store.Invalid("invoice", "choose the invoice to pay")
		}
		return h.Billing.PayInvoice(ctx, actorFrom(c), id, number)
	})
}

// BillingConvertPreview says what converting the trial now charges, or
// asks for a payment method first.
func (h *Handler) BillingConvertPreview(c echo.Context) error {
	cur, err := mustBuy(c)
	if err != nil {
		return err
	}
	p, err := h.Billing.PreviewConvert(c.Request().Context(), cur.AccountID)
	if err != nil {
		return err
	}
	cv := views.ConvertConfirmView{PlanName: p.PlanName, Seats: p.Seats, SeatBased: p.SeatBased,
		Charge: views.Money{Amount: p.AmountDue, Currency: p.Currency}, NeedsCard: !p.HasPaymentMethod,
		PaymentMethod: p.PaymentMethod, CSRF: csrfToken(c)}
	if isHTMX(c) {
		return render(c, http.StatusOK, views.ConvertConfirm(cv))
	}
	return h.billingPageWith(c, cur, func(v *views.BillingView) { v.ConvertConfirm = &cv })
}

// BillingConvert ends the trial now and pays the plan's first month.
func (h *Handler) BillingConvert(c echo.Context) error {
	return h.billingAction(c, func(ctx context.Context, id int64) (billing.Pending, error) {
		return h.Billing.ConvertTrial(ctx, actorFrom(c), id)
	})
}

// BillingInvoice is the simulator's printable invoice; an invoice of
// another account is not found. With Stripe, invoices link to Stripe's
// hosted invoice pages instead.
func (h *Handler) BillingInvoice(c echo.Context) error {
	cur, canBuy, err := buyer(c)
	if err != nil {
		return err
	}
	if h.Billing.Sim == nil {
		return echo.ErrNotFound
	}
	ctx := c.Request().Context()
	inv, err := h.Store.SimInvoiceByNumber(ctx, cur.AccountID, c.Param("number"))
	if err != nil {
		return err
	}
	acct, err := h.Store.AccountByID(ctx, cur.AccountID)
	if err != nil {
		return err
	}
	iv := invoiceView(billing.SimInvoice(inv), false)
	iv.Account, iv.PaidAt = acct.Name, inv.PaidAt.Time
	return render(c, http.StatusOK, views.InvoicePage(h.shell(c, "Invoice "+inv.Number, "billing"),
		views.InvoicePageView{Invoice: iv, CanPay: canBuy, CSRF: csrfToken(c)}))
}
