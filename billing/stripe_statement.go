package billing

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/entitle-dev/entitle/store"
)

// invoicesShown caps the invoices /billing lists (the portal has them all).
const invoicesShown = 24

// Statement reads the customer's default payment method, their recent
// invoices and, for subID, Stripe's upcoming invoice.
func (s *Stripe) Statement(ctx context.Context, customerID, subID string) (Statement, error) {
	cp := withContext(ctx, &stripe.CustomerParams{})
	cp.AddExpand("invoice_settings.default_payment_method")
	c, err := s.customers.Get(customerID, cp)
	if err != nil {
		return Statement{}, providerError(err)
	}
	var st Statement
	if c.InvoiceSettings != nil && c.InvoiceSettings.DefaultPaymentMethod != nil {
		st.HasPaymentMethod, st.PaymentMethod = true, paymentMethodText(c.InvoiceSettings.DefaultPaymentMethod)
	} else if c.DefaultSource != nil {
		st.HasPaymentMethod, st.PaymentMethod = true, "Card on file"
	}
	lp := withContext(ctx, &stripe.InvoiceListParams{Customer: stripe.String(customerID)})
	lp.Limit = stripe.Int64(invoicesShown)
	lp.Single = true
	it := s.invoices.List(lp)
	for it.Next() && len(st.Invoices) < invoicesShown {
		if inv := it.Invoice(); inv.Status != stripe.InvoiceStatusDraft {
			st.Invoices = append(st.Invoices, stripeInvoice(inv))
		}
	}
	if err := it.Err(); err != nil {
		return st, providerError(err)
	}
	if subID == "" {
		return st, nil
	}
	up, err := s.invoices.Upcoming(withContext(ctx, &stripe.InvoiceUpcomingParams{Customer: stripe.String(customerID),
		Subscription: stripe.String(subID)}))
	var se *stripe.Error
	switch {
	case errors.As(err, &se) && (se.Code == stripe.ErrorCodeInvoiceUpcomingNone || se.HTTPStatusCode == 404):
		return st, nil // nothing is coming: the subscription ends
	case err != nil:
		return st, providerError(err)
	}
	at := up.NextPaymentAttempt
	if at == 0 {
		at = up.PeriodEnd
	}
	st.Upcoming = &Upcoming{AmountDue: up.AmountDue, Currency: string(up.Currency), At: time.Unix(at, 0).UTC()}
	return st, nil
}

func stripeInvoice(inv *stripe.Invoice) Invoice {
	out := Invoice{ID: inv.ID, Number: inv.Number, Created: time.Unix(inv.Created, 0).UTC(), AmountDue: inv.AmountDue,
		Currency: string(inv.Currency), Status: string(inv.Status), Reason: string(inv.BillingReason), URL: inv.HostedInvoiceURL}
	for _, d := range inv.TotalDiscountAmounts {
		out.Discount += d.Amount
	}
	if inv.Discount != nil && inv.Discount.PromotionCode != nil {
		out.DiscountCode = inv.Discount.PromotionCode.Code
	}
	return out
}

func paymentMethodText(pm *stripe.PaymentMethod) string {
	if pm.Card != nil {
		brand := string(pm.Card.Brand)
		if pm.Card.DisplayBrand != "" {
			brand = pm.Card.DisplayBrand
		}
		return strings.ToUpper(brand[:min(1, len(brand))]) + brand[min(1, len(brand)):] + " •••• " + pm.Card.Last4
	}
	return strings.ReplaceAll(string(pm.Type), "_", " ")
}

// PayInvoice sends the buyer to the open invoice's hosted page, where
// Stripe takes the payment (and a new card if the one on file fails).
func (s *Stripe) PayInvoice(ctx context.Context, customerID, number string) (string, error) {
	lp := withContext(ctx, &stripe.InvoiceListParams{Customer: stripe.String(customerID), Status: stripe.String(string(stripe.InvoiceStatusOpen))})
	lp.Limit = stripe.Int64(100)
	it := s.invoices.List(lp)
	for it.Next() {
		if inv := it.Invoice(); inv.Number == number && inv.HostedInvoiceURL != "" {
			return inv.HostedInvoiceURL, nil
		}
	}
	if err := it.Err(); err != nil {
		return "", providerError(err)
	}
	return "", store.ErrNotFound
}

// EndTrial ends the trial now; Stripe invoices the first period at once
// and charges the default payment method. The trial's fallback is dropped
// from the metadata: there is nothing to fall back from any more.
func (s *Stripe) EndTrial(ctx context.Context, subID string) error {
	p := withContext(ctx, &stripe.SubscriptionParams{TrialEndNow: stripe.Bool(true),
		PaymentBehavior: stripe.String("error_if_incomplete")})
	p.AddMetadata(metaTrialFallback, "")
	_, err := s.subs.Update(subID, p)
	return providerError(err)
}
