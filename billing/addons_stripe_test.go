package billing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store/storetest"
)

const addOnPrice = "price_analytics_addon_api_calls_monthly"

func TestStripeAddOnCallsAgainstStripeMock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := billing.NewStripe("sk_test_123", stripeMockURL, nil)
	preview, err := p.PreviewAddOn(ctx, "cus_123", "sub_123", addOnPrice, 2)
	if err != nil || preview.Currency == "" {
		t.Fatalf("preview: %+v %v", preview, err)
	}
	if err := p.SetAddOn(ctx, "sub_123", "extra_api_calls", addOnPrice, 2); err != nil {
		t.Errorf("add: %v", err)
	}
	if err := p.SetAddOn(ctx, "sub_123", "extra_api_calls", addOnPrice, 0); err != nil {
		t.Errorf("remove what the subscription does not hold: %v", err)
	}
}

// stripeSubscriptionWithAddOn is a subscription object as Stripe sends it
// with an add-on item listed before the plan's: the item marked with the
// add-on's key is the add-on, whatever the order.
func stripeSubscriptionWithAddOn(price string, seats, units int, periodEnd time.Time) map[string]any {
	sub := subscription("sub_sim_globex", "cus_sim_globex", "active", price, seats, periodEnd, nil)
	items := sub["items"].(map[string]any)
	addOn := map[string]any{"id": "si_addon", "object": "subscription_item", "quantity": units,
		"price":    map[string]any{"id": addOnPrice, "object": "price", "currency": "usd"},
		"metadata": map[string]any{"entitle_addon": "extra_api_calls"}}
	items["data"] = append([]any{addOn}, items["data"].([]any)...)
	return sub
}

func TestStripeModeAddOnIsHeldOnceTheWebhookSaysSo(t *testing.T) {
	t.Parallel()
	c := storetest.NewClock(time.Now().UTC().Truncate(time.Second))
	st := storetest.NewDemo(t, c)
	const secret = "whsec_test_stripe_addons"
	b, err := billing.New(st, c, nil, billing.Config{SecretKey: "sk_test_123", WebhookSecret: secret, APIBase: stripeMockURL})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: context.Background(), clock: c, store: st, b: b}
	if _, err := b.SetAddOn(e.ctx, owner, e.accountID("globex"), "extra_api_calls", 3); err != nil {
		t.Fatal(err)
	}
	if got := e.apiCallsLimit("globex"); got != 50000 {
		t.Fatalf("granted before Stripe's webhook: %d", got)
	}
	deliver := func(units int) {
		c.Advance(time.Minute)
		payload := event("customer.subscription.updated", c.Now(), stripeSubscriptionWithAddOn(teamPrice, 10, units, c.Now().AddDate(0, 1, 0)))
		sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret}).Header
		if _, _, err := b.Inbox.Receive(e.ctx, payload, sig); err != nil {
			t.Fatal(err)
		}
		e.process()
	}
	deliver(3)
	if got := e.apiCallsLimit("globex"); got != 80000 {
		t.Fatalf("after the webhook: %d", got)
	}
	if got := e.sub("globex"); got.Plan != "team" || got.Seats != 10 {
		t.Fatalf("the add-on item was read as the plan's: %+v", got)
	}
	if got := strings.Join(e.addOnAudits("globex"), ", "); got != "addon.added 3" {
		t.Fatalf("audit: %s", got)
	}
	var item string
	if err := st.DB().Get(&item, `SELECT stripe_item_id FROM subscription_addon`); err != nil || item != "si_addon" {
		t.Fatalf("item id %q, %v", item, err)
	}
}
