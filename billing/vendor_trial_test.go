package billing_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/entitle-dev/entitle/billing"
)

// stripeRequest is what a Stripe call carried, as Stripe would read it.
type stripeRequest struct {
	Method, Path, IdempotencyKey string
	Form                         url.Values
}

// recordingStripe forwards to stripe-mock and keeps every request.
func recordingStripe(t *testing.T) (string, func() []stripeRequest) {
	t.Helper()
	target, _ := url.Parse(stripeMockURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	var seen []stripeRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		for k, v := range r.URL.Query() { // a GET's parameters
			form[k] = v
		}
		mu.Lock()
		seen = append(seen, stripeRequest{r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), form})
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []stripeRequest { mu.Lock(); defer mu.Unlock(); return append([]stripeRequest(nil), seen...) }
}

// A trial the vendor starts for a customer is a subscription made at once
// at Stripe (the customer is not there to check out), with the catalog's
// trial, no card needed, the account and the plan to fall back to in its
// metadata; a second try is the same request under the same idempotency
// key, so Stripe makes one subscription.
func TestAVendorsTrialIsASubscriptionAtStripeWithoutCheckout(t *testing.T) {
	t.Parallel()
	base, seen := recordingStripe(t)
	p := billing.NewStripe("sk_test_123", base, nil)
	in := billing.SubscribeInput{AccountID: 42, CustomerID: "cus_123", PriceID: businessPrice, Quantity: 5,
		TrialDays: 14, TrialFallbackPriceID: teamPrice, ForCustomer: true, IdempotencyKey: "entitle-vendor-trial-7"}
	for try := 0; try < 2; try++ {
		if url, err := p.Subscribe(context.Background(), in); err != nil || url != "" {
			t.Fatalf("try %d: %q %v (want no checkout to send anyone to)", try, url, err)
		}
	}
	reqs := seen()
	if len(reqs) != 2 {
		t.Fatalf("%d requests: %+v", len(reqs), reqs)
	}
	for _, r := range reqs {
		f := r.Form
		if r.Method != http.MethodPost || r.Path != "/v1/subscriptions" || r.IdempotencyKey != "entitle-vendor-trial-7" ||
			f.Get("customer") != "cus_123" || f.Get("items[0][price]") != businessPrice || f.Get("items[0][quantity]") != "5" ||
			f.Get("trial_period_days") != "14" || f.Get("trial_settings[end_behavior][missing_payment_method]") != "pause" ||
			f.Get("metadata[entitle_account_id]") != "42" || f.Get("metadata[entitle_trial_fallback_price]") != teamPrice {
			t.Errorf("request %s %s key %q form %v", r.Method, r.Path, r.IdempotencyKey, f)
		}
	}
	// Without a trial there is nothing to start without the customer.
	in.TrialDays = 0
	if _, err := p.Subscribe(context.Background(), in); err == nil {
		t.Error("a paid subscription was made without the customer's checkout")
	}
}
