package billing_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/billing"
)

// With Stripe, a typed code is looked up among Stripe's active promotion
// codes, and the promotion code's id goes with the preview, the upgrade,
// the downgrade's subscription and the Checkout session.
func TestStripePromotionCodesGoWithEveryCall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base, seen := recordingStripe(t)
	p := billing.NewStripe("sk_test_123", base, nil)
	promo, _, err := p.ResolvePromotion(ctx, "launch20")
	if err != nil {
		t.Fatal(err)
	}
	if promo.StripeID == "" || promo.Duration == "" {
		t.Fatalf("resolved %+v", promo)
	}
	if r := seen()[0]; r.Method != http.MethodGet || r.Path != "/v1/promotion_codes" || r.Form.Get("code") != "launch20" || r.Form.Get("active") != "true" {
		t.Errorf("lookup %s %s %v", r.Method, r.Path, r.Form)
	}
	if _, err := p.PreviewChange(ctx, "cus_123", "sub_123", businessPrice, 10, &promo); err != nil {
		t.Fatal(err)
	}
	if err := p.ChangePlan(ctx, "sub_123", businessPrice, 10, &promo); err != nil {
		t.Fatal(err)
	}
	if err := p.AttachPromotion(ctx, "sub_123", promo); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Subscribe(ctx, billing.SubscribeInput{AccountID: 7, CustomerID: "cus_123", PriceID: teamPrice, Quantity: 3,
		SuccessURL: "http://portal.test/billing", CancelURL: "http://portal.test/billing", Promotion: &promo}); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, r := range seen() {
		switch {
		case r.Path == "/v1/invoices/upcoming" && r.Form.Get("discounts[0][promotion_code]") == promo.StripeID:
			found["preview"] = true
		case r.Method == http.MethodPost && r.Path == "/v1/subscriptions/sub_123" && r.Form.Get("promotion_code") == promo.StripeID:
			if r.Form.Get("items[0][price]") == businessPrice {
				found["upgrade"] = true
			} else if r.IdempotencyKey != "" { // no payment: a repeat is answered from the first
				found["attach"] = true
			}
		case r.Path == "/v1/checkout/sessions" && r.Form.Get("discounts[0][promotion_code]") == promo.StripeID:
			found["checkout"] = true
		}
	}
	for _, want := range []string{"preview", "upgrade", "attach", "checkout"} {
		if !found[want] {
			t.Errorf("no %s request carried the promotion code %s: %+v", want, promo.StripeID, seen())
		}
	}
}

// stripe-mock's promotion code expired in 2009 at 25.5% off for 3 months:
// its terms read as Stripe wrote them, and the expiry refuses it.
func TestAStripePromotionCodeReadsItsCouponsTerms(t *testing.T) {
	t.Parallel()
	p := billing.NewStripe("sk_test_123", stripeMockURL, nil)
	promo, redeemed, err := p.ResolvePromotion(context.Background(), "fall20")
	if err != nil {
		t.Fatal(err)
	}
	if promo.Code != "FALL20" || promo.PercentOff != 26 || promo.Duration != "repeating" || promo.DurationMonths != 3 ||
		promo.ExpiresOn != "2009-02-13" || redeemed != 0 {
		t.Fatalf("terms %+v, redeemed %d", promo, redeemed)
	}
	if r := promo.Usable(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "team", "Team", 0); r == nil || r.Reason != "expired" {
		t.Errorf("usable long after its expiry: %+v", r)
	}
}
