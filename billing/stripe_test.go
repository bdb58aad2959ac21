package billing_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// stripeMockURL is stripe-mock (a go.mod tool) on a loopback port, started
// for this package's tests and stopped after them.
var stripeMockURL string

func TestMain(m *testing.M) {
	stop, err := startStripeMock()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stripe-mock:", err)
		os.Exit(1) // fail, never skip: Stripe mode is tested against it
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

func startStripeMock() (func(), error) {
	cmd := exec.Command("go", "tool", "stripe-mock", "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // `go tool` runs a child: stop the whole group
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok {
				found <- "http://" + addr
			}
		}
	}()
	select {
	case stripeMockURL = <-found:
		return stop, nil
	case <-time.After(3 * time.Minute):
		stop()
		return nil, errors.New("did not start listening")
	}
}

func TestStripeProviderCallsAgainstStripeMock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := billing.NewStripe("sk_test_123", stripeMockURL, nil)
	customer, err := p.CreateCustomer(ctx, billing.CustomerInput{AccountID: 1, Slug: "globex", Name: "Globex", Email: "owner@globex.test"})
	if err != nil || !strings.HasPrefix(customer, "cus_") {
		t.Fatalf("create customer: %q %v", customer, err)
	}
	url, err := p.Subscribe(ctx, billing.SubscribeInput{AccountID: 1, CustomerID: customer, PriceID: teamPrice, Quantity: 3,
		SuccessURL: "http://portal.test/billing", CancelURL: "http://portal.test/billing"})
	if err != nil || url == "" {
		t.Fatalf("checkout: %q %v", url, err)
	}
	preview, err := p.PreviewChange(ctx, customer, "sub_123", businessPrice, 10, nil)
	if err != nil || preview.Currency == "" {
		t.Fatalf("preview: %+v %v", preview, err)
	}
	for name, call := range map[string]func() error{
		"change plan":    func() error { return p.ChangePlan(ctx, "sub_123", businessPrice, 10, nil) },
		"change seats":   func() error { return p.ChangeSeats(ctx, "sub_123", 12) },
		"schedule":       func() error { return p.ScheduleChange(ctx, "sub_123", teamPrice, 8) },
		"clear schedule": func() error { return p.ScheduleChange(ctx, "sub_123", "", 0) },
		"trial":          func() error { return p.StartTrial(ctx, "sub_123", businessPrice, 10, 14, teamPrice) },
		"extend trial":   func() error { return p.ExtendTrial(ctx, "sub_123", time.Now().AddDate(0, 0, 30)) },
		"cancel":         func() error { return p.SetCancelAtPeriodEnd(ctx, "sub_123", true) },
		"resume":         func() error { return p.SetCancelAtPeriodEnd(ctx, "sub_123", false) },
	} {
		if err := call(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if u, err := p.PortalURL(ctx, customer, "http://portal.test/billing"); err != nil || !strings.HasPrefix(u, "http") {
		t.Errorf("portal: %q %v", u, err)
	}
}

func TestStripeRefusalsAreShownInWords(t *testing.T) {
	t.Parallel()
	// stripe-mock accepts every well-formed request, so Stripe's card
	// decline is played by a loopback server answering as Stripe does.
	declines := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusPaymentRequired)
		_, _ = w.Write([]byte(`{"error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
			"message": "Your card has insufficient funds."}}`))
	}))
	defer declines.Close()
	p := billing.NewStripe("sk_test_123", declines.URL, nil)
	err := p.SetCancelAtPeriodEnd(context.Background(), "sub_123", true)
	var pe *billing.ProviderError
	if !errors.As(err, &pe) || pe.Message != "Stripe refused the change: Your card has insufficient funds." {
		t.Fatalf("err = %v", err)
	}
	unreachable := billing.NewStripe("sk_test_123", "http://127.0.0.1:1", nil)
	if err := unreachable.SetCancelAtPeriodEnd(context.Background(), "sub_123", true); !errors.As(err, &pe) ||
		!strings.Contains(pe.Message, "could not be reached") {
		t.Fatalf("unreachable: %v", err)
	}
}

func TestStripeModeUpgradeWaitsForTheWebhook(t *testing.T) {
	t.Parallel()
	c := storetest.NewClock(time.Now().UTC().Truncate(time.Second))
	st := storetest.NewDemo(t, c)
	const secret = "whsec_test_stripe_mode"
	b, err := billing.New(st, c, nil, billing.Config{SecretKey: "sk_test_123", WebhookSecret: secret, APIBase: stripeMockURL})
	if err != nil {
		t.Fatal(err)
	}
	if b.Sim != nil || b.Provider.Mode() != "stripe" {
		t.Fatal("a secret key must select Stripe")
	}
	e := &env{t: t, ctx: context.Background(), clock: c, store: st, b: b}
	id := e.accountID("globex")
	if _, err := b.ChangePlan(e.ctx, owner, id, "business", "/billing"); err != nil {
		t.Fatal(err)
	}
	if got := e.sub("globex"); got.Plan != "team" {
		t.Fatalf("changed before Stripe's webhook: %+v", got)
	}
	c.Advance(time.Minute)
	payload := event("customer.subscription.updated", c.Now(),
		subscription("sub_sim_globex", "cus_sim_globex", "active", businessPrice, 10, c.Now().AddDate(0, 1, 0), nil))
	if _, _, err := b.Inbox.Receive(e.ctx, payload, sign(payload, billing.DevWebhookSecret)); !errors.Is(err, billing.ErrBadSignature) {
		t.Fatalf("the dev secret must not verify in Stripe mode: %v", err)
	}
	if _, _, err := b.Inbox.Receive(e.ctx, payload, webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret}).Header); err != nil {
		t.Fatal(err)
	}
	e.process()
	if got := e.sub("globex"); got.Plan != "business" {
		t.Fatalf("after the webhook: %+v", got)
	}
	if _, err := billing.New(st, c, nil, billing.Config{SecretKey: "sk_test_123"}); err == nil {
		t.Fatal("Stripe mode without a webhook secret must refuse to start")
	}
}

func TestStripeStatementPayAndConvertAgainstStripe(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := billing.NewStripe("sk_test_123", stripeMockURL, nil)
	st, err := p.Statement(ctx, "cus_123", "sub_123")
	if err != nil {
		t.Fatalf("statement: %v", err)
	}
	for _, inv := range st.Invoices {
		if inv.Status == "draft" {
			t.Errorf("a draft invoice is listed: %+v", inv)
		}
	}
	if err := p.EndTrial(ctx, "sub_123"); err != nil {
		t.Errorf("end trial: %v", err)
	}

	// Paying goes to the open invoice's hosted page, found by its number
	// among the customer's open invoices (played by a loopback server: the
	// mock's fixtures have no open invoice of a chosen number).
	stripe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/v1/invoices" || r.URL.Query().Get("customer") != "cus_123" || r.URL.Query().Get("status") != "open" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error": {"type": "invalid_request_error", "message": "No such thing"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"object": "list", "url": "/v1/invoices", "has_more": false, "data": [
			{"id": "in_1", "object": "invoice", "number": "ABCD-0001", "status": "open", "hosted_invoice_url": "https://invoice.stripe.com/i/abcd"}]}`))
	}))
	defer stripe.Close()
	p = billing.NewStripe("sk_test_123", stripe.URL, nil)
	if url, err := p.PayInvoice(ctx, "cus_123", "ABCD-0001"); err != nil || url != "https://invoice.stripe.com/i/abcd" {
		t.Errorf("pay: %q %v", url, err)
	}
	if _, err := p.PayInvoice(ctx, "cus_123", "OTHER-0001"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pay another customer's invoice: %v", err)
	}
}

// A free plan's Checkout asks for no card (Stripe's Checkout always does
// unless told if_required), so the customer has none on file after it; a
// paid plan's Checkout asks for one.
func TestStripeCheckoutAsksForACardOnlyForAPaidPlan(t *testing.T) {
	t.Parallel()
	target, err := url.Parse(stripeMockURL)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var sent []url.Values
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/checkout/sessions" {
			body, _ := io.ReadAll(r.Body)
			form, _ := url.ParseQuery(string(body))
			mu.Lock()
			sent = append(sent, form)
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p := billing.NewStripe("sk_test_123", srv.URL, nil)
	for _, free := range []bool{true, false} {
		if _, err := p.Subscribe(context.Background(), billing.SubscribeInput{AccountID: 1, CustomerID: "cus_123", PriceID: teamPrice,
			Quantity: 1, Free: free, SuccessURL: "http://portal.test/billing", CancelURL: "http://portal.test/billing"}); err != nil {
			t.Fatalf("checkout (free %v): %v", free, err)
		}
	}
	if len(sent) != 2 {
		t.Fatalf("%d checkout sessions sent", len(sent))
	}
	if got := sent[0].Get("payment_method_collection"); got != "if_required" {
		t.Errorf("free plan's checkout: payment_method_collection = %q", got)
	}
	if got := sent[1].Get("payment_method_collection"); got != "" {
		t.Errorf("paid plan's checkout: payment_method_collection = %q (Stripe's default asks for a card)", got)
	}
}
