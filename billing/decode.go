package billing

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// Metadata keys Entitle puts on Stripe objects.
const (
	metaAccountID         = "entitle_account_id"
	metaScheduledPrice    = "entitle_scheduled_price"
	metaScheduledQuantity = "entitle_scheduled_quantity"
	metaTrialFallback     = "entitle_trial_fallback_price"
)

// Decode reads an inbox row's payload (the event as Stripe sent it) into
// the change it asks for. It uses the object the event carries, never a
// fresh read, so a correctly signed event from anywhere is applied alike.
func Decode(ev store.StripeEvent) (store.StripeChange, error) {
	// The object is kept raw and read once, into its own type (a
	// stripe.Event would also build a generic map of it).
	var e struct {
		Data struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(ev.Payload, &e); err != nil {
		return store.StripeChange{}, err
	}
	raw := e.Data.Object
	if len(raw) == 0 || string(raw) == "null" {
		return store.StripeChange{}, fmt.Errorf("event %s carries no object", ev.ID)
	}
	switch ev.Type {
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
		"customer.subscription.trial_will_end":
		var s stripe.Subscription
		if err := json.Unmarshal(raw, &s); err != nil {
			return store.StripeChange{}, err
		}
		ch, err := subscriptionChange(&s)
		if ev.Type == "customer.subscription.trial_will_end" {
			ch.Kind = store.ChangeTrialWillEnd
		}
		return ch, err
	case "invoice.paid", "invoice.payment_failed", "invoice.payment_action_required":
		var inv stripe.Invoice
		if err := json.Unmarshal(raw, &inv); err != nil {
			return store.StripeChange{}, err
		}
		kind := map[string]store.StripeChangeKind{"invoice.paid": store.ChangeInvoicePaid,
			"invoice.payment_failed": store.ChangeInvoiceFailed, "invoice.payment_action_required": store.ChangeInvoiceActionRequired}[ev.Type]
		ch := store.StripeChange{Kind: kind, CustomerID: customerID(inv.Customer),
			Invoice: store.StripeInvoice{ID: inv.ID, AmountDue: inv.AmountDue, Currency: string(inv.Currency)}}
		if inv.Subscription != nil {
			ch.Invoice.SubscriptionID = inv.Subscription.ID
		}
		return ch, nil
	case "checkout.session.completed":
		var cs stripe.CheckoutSession
		if err := json.Unmarshal(raw, &cs); err != nil {
			return store.StripeChange{}, err
		}
		ch := store.StripeChange{Kind: store.ChangeCheckoutCompleted, CustomerID: customerID(cs.Customer),
			Checkout: store.StripeCheckout{ID: cs.ID}}
		if cs.Subscription != nil {
			ch.Checkout.SubscriptionID = cs.Subscription.ID
		}
		ch.AccountRef, _ = strconv.ParseInt(cs.ClientReferenceID, 10, 64)
		if ch.AccountRef == 0 {
			ch.AccountRef, _ = strconv.ParseInt(cs.Metadata[metaAccountID], 10, 64)
		}
		return ch, nil
	}
	return store.StripeChange{Kind: store.ChangeIgnored}, nil
}

func subscriptionChange(s *stripe.Subscription) (store.StripeChange, error) {
	item, addOns := splitItems(s)
	if item == nil || item.Price == nil {
		return store.StripeChange{}, fmt.Errorf("subscription %s has no price", s.ID)
	}
	status, ok := statusFromStripe(s)
	if !ok {
		return store.StripeChange{}, fmt.Errorf("subscription %s has status %q, which Entitle does not know", s.ID, s.Status)
	}
	ch := store.StripeChange{Kind: store.ChangeSubscription, CustomerID: customerID(s.Customer),
		Subscription: store.StripeSubscription{
			ID: s.ID, Status: status, PriceID: item.Price.ID, Quantity: int(item.Quantity),
			TrialEnd: unix(s.TrialEnd), CurrentPeriodEnd: unix(s.CurrentPeriodEnd), CancelAtPeriodEnd: s.CancelAtPeriodEnd,
			ScheduledPriceID: s.Metadata[metaScheduledPrice], AddOns: addOns,
		}}
	ch.Subscription.ScheduledQuantity, _ = strconv.Atoi(s.Metadata[metaScheduledQuantity])
	ch.AccountRef, _ = strconv.ParseInt(s.Metadata[metaAccountID], 10, 64)
	return ch, nil
}

// statusFromStripe maps Stripe's subscription statuses onto the lifecycle
// of DESIGN.md: unpaid (all retries failed) and paused are suspended
// (access withheld, data kept); incomplete is past due (a first payment
// not made yet); incomplete_expired is canceled.
func statusFromStripe(s *stripe.Subscription) (licensing.Status, bool) {
	switch s.Status {
	case stripe.SubscriptionStatusTrialing:
		return licensing.Trialing, true
	case stripe.SubscriptionStatusActive:
		return licensing.Active, true
	case stripe.SubscriptionStatusPastDue, stripe.SubscriptionStatusIncomplete:
		return licensing.PastDue, true
	case stripe.SubscriptionStatusUnpaid, stripe.SubscriptionStatusPaused:
		return licensing.Suspended, true
	case stripe.SubscriptionStatusCanceled, stripe.SubscriptionStatusIncompleteExpired:
		return licensing.Canceled, true
	}
	return "", false
}

func customerID(c *stripe.Customer) string {
	if c == nil {
		return ""
	}
	return c.ID
}

func unix(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
