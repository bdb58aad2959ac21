package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// newBillingPortal is newPortal with billing in reach, so a test can run
// the worker when it wants the webhook to land.
func newBillingPortal(t *testing.T) (*portal, *billing.Billing) {
	t.Helper()
	s := storetest.NewDemo(t, nil)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := billing.New(s, nil, logger, billing.Config{PublicURL: "http://portal.test"})
	if err != nil {
		t.Fatal(err)
	}
	e := web.New(web.Options{Store: s, Logger: logger, Billing: b,
		SessionSecret: []byte("test-secret-test-secret-test-secret!")})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &portal{t: t, srv: srv, store: s, client: newClient()}, b
}

// htmx sends a request the way htmx does: HX-Request and the CSRF header.
func (p *portal) htmx(c *http.Client, method, path, token string, form url.Values) (*http.Response, *goquery.Document) {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	doc, _ := goquery.NewDocumentFromReader(res.Body)
	return res, doc
}

func process(t *testing.T, b *billing.Billing) {
	t.Helper()
	if _, err := b.Worker.ProcessPending(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestBuyerComparesPlansWithTheCurrentOneMarked(t *testing.T) {
	t.Parallel()
	p, _ := newBillingPortal(t)
	res, doc := p.get(p.login("owner@globex.test"), "/billing")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/billing: %d", res.StatusCode)
	}
	var plans []string
	doc.Find(`[data-testid="plan-column"]`).Each(func(_ int, s *goquery.Selection) {
		key, _ := s.Attr("data-plan")
		if cur, _ := s.Attr("data-current"); cur == "true" {
			key += "*"
		}
		plans = append(plans, key)
	})
	if got := strings.Join(plans, " "); got != "free team* business enterprise" {
		t.Errorf("plans = %s", got)
	}
	if n := doc.Find(`[data-testid="comparison-row"]`).Length(); n != 7 { // the demo's 7 features
		t.Errorf("%d feature rows", n)
	}
	for _, id := range []string{"choose-free", "choose-business", "choose-enterprise", "trial-business", "billing-simulated"} {
		if doc.Find(`[data-testid="`+id+`"]`).Length() != 1 {
			t.Errorf("no %s", id)
		}
	}
	if got := text(doc, "billing-plan"); got != "Team" {
		t.Errorf("plan = %q", got)
	}
}

func TestOnlyBuyersMayChangeBilling(t *testing.T) {
	t.Parallel()
	p, _ := newBillingPortal(t)
	if res, _ := p.get(p.login("alice@globex.test"), "/billing"); res.StatusCode != http.StatusForbidden {
		t.Errorf("member on /billing: %d, want 403", res.StatusCode)
	}
	admin := p.login("admin@globex.test")
	res, doc := p.get(admin, "/billing")
	if res.StatusCode != http.StatusOK || doc.Find(`[data-testid="choose-business"]`).Length() != 0 {
		t.Errorf("admin: %d, buttons %d", res.StatusCode, doc.Find(`[data-testid="choose-business"]`).Length())
	}
	if res, _ := p.post(admin, "/billing/change", url.Values{"_csrf": {csrfToken(doc)}, "plan": {"business"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("admin upgrading: %d, want 403", res.StatusCode)
	}
	if res, _ := p.get(p.login("billing@globex.test"), "/billing"); res.StatusCode != http.StatusOK {
		t.Errorf("billing role: %d", res.StatusCode)
	}
}

func TestUpgradeShowsTheChargeThenPendingUntilTheWebhookLands(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	c := p.login("owner@globex.test")
	_, page := p.get(c, "/billing")
	token := csrfToken(page)
	_, confirm := p.htmx(c, http.MethodGet, "/billing/change?plan=business", token, nil)
	if got := text(confirm, "proration-amount"); !strings.HasPrefix(got, "$") || got == "$0.00" {
		t.Fatalf("prorated amount = %q", got)
	}
	if dir, _ := confirm.Find(`[data-testid="change-confirm"]`).Attr("data-direction"); dir != "upgrade" {
		t.Fatalf("direction %q", dir)
	}
	res, body := p.htmx(c, http.MethodPost, "/billing/change", token, url.Values{"plan": {"business"}})
	if res.StatusCode != http.StatusOK || body.Find(`[data-testid="billing-pending"]`).Length() != 1 || text(body, "billing-plan") != "Team" {
		t.Fatalf("after confirming: %d, pending %d, plan %q", res.StatusCode, body.Find(`[data-testid="billing-pending"]`).Length(), text(body, "billing-plan"))
	}
	poll, _ := body.Find(`[data-testid="billing-pending"]`).Attr("hx-get")
	if _, again := p.htmx(c, http.MethodGet, poll, token, nil); again.Find(`[data-testid="billing-pending"]`).Length() != 1 {
		t.Fatal("no longer pending before the webhook was applied")
	}
	process(t, b)
	_, done := p.htmx(c, http.MethodGet, poll, token, nil)
	if done.Find(`[data-testid="billing-pending"]`).Length() != 0 || text(done, "billing-plan") != "Business" {
		t.Fatalf("after the webhook: plan %q", text(done, "billing-plan"))
	}
	if _, overview := p.get(c, "/"); text(overview, "plan-name") != "Business" {
		t.Fatalf("overview plan = %q", text(overview, "plan-name"))
	}
}

func TestDroppingSeatsNamesTheMembersHoldingThem(t *testing.T) {
	t.Parallel()
	p, _ := newBillingPortal(t)
	c := p.login("owner@globex.test")
	_, page := p.get(c, "/billing")
	_, confirm := p.htmx(c, http.MethodGet, "/billing/seats?seats=5", csrfToken(page), nil)
	if n, _ := confirm.Find(`[data-testid="seats-to-free"]`).Attr("data-count"); n != "2" {
		t.Fatalf("seats to free = %q", n)
	}
	if n := confirm.Find(`[data-testid="seat-holder"]`).Length(); n != 7 {
		t.Fatalf("%d seat holders listed", n)
	}
	_, down := p.htmx(c, http.MethodGet, "/billing/change?plan=free", csrfToken(page), nil)
	lost := map[string]string{}
	down.Find(`[data-testid="lost-feature"]`).Each(func(_ int, s *goquery.Selection) {
		f, _ := s.Attr("data-feature")
		lost[f] = strings.TrimSpace(s.Text())
	})
	if lost["api_calls"] != "API calls: 50,000 → 1,000" || lost["projects"] != "Projects: 20 → 3" {
		t.Fatalf("lost = %v", lost)
	}
}

func TestADeclinedCardIsShownInWordsAndNothingChanges(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	c := p.login("owner@globex.test")
	if err := b.Sim.SetPaymentsFail(context.Background(), mustAccount(t, p.store, "globex"), true); err != nil {
		t.Fatal(err)
	}
	_, page := p.get(c, "/billing")
	_, confirm := p.htmx(c, http.MethodGet, "/billing/seats?seats=12", csrfToken(page), nil)
	if text(confirm, "proration-amount") == "" {
		t.Fatal("no charge shown for more seats")
	}
	res, doc := p.htmx(c, http.MethodPost, "/billing/seats", csrfToken(page), url.Values{"seats": {"12"}})
	if res.StatusCode != http.StatusPaymentRequired || !strings.Contains(text(doc, "error-message"), "card was declined") ||
		res.Header.Get("HX-Retarget") != "#errors" {
		t.Fatalf("%d %q", res.StatusCode, text(doc, "error-message"))
	}
	if c, _ := p.store.StripeInboxCounts(context.Background()); c.Received != 0 {
		t.Fatalf("%d events sent", c.Received)
	}
	process(t, b)
	if _, doc := p.get(c, "/billing"); text(doc, "billing-seats") != "10" {
		t.Fatalf("seats = %q", text(doc, "billing-seats"))
	}
}

func signedEvent(secret string, ts time.Time) ([]byte, string) {
	payload := []byte(`{"id": "evt_web_1", "object": "event", "api_version": "` + stripe.APIVersion + `", "created": ` +
		itoa(time.Now().Unix()) + `, "type": "customer.subscription.updated", "data": {"object": {"id": "sub_sim_globex",
		"object": "subscription", "customer": "cus_sim_globex", "status": "active", "current_period_end": ` + itoa(time.Now().AddDate(0, 1, 0).Unix()) + `,
		"items": {"object": "list", "data": [{"id": "si_1", "object": "subscription_item", "quantity": 10,
		"price": {"id": "price_analytics_business_monthly", "object": "price"}}]}}}}`)
	return payload, webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: ts}).Header
}

func TestTheWebhookVerifiesStoresOnceAndAnswersAtOnce(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	send := func(payload []byte, sig string) int {
		req, _ := http.NewRequest(http.MethodPost, p.srv.URL+"/webhooks/stripe", strings.NewReader(string(payload)))
		req.Header.Set("Content-Type", "application/json")
		if sig != "" {
			req.Header.Set("Stripe-Signature", sig)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	payload, good := signedEvent(billing.DevWebhookSecret, time.Now())
	_, forged := signedEvent("whsec_forged", time.Now())
	_, stale := signedEvent(billing.DevWebhookSecret, time.Now().Add(-time.Hour))
	for name, sig := range map[string]string{"forged": forged, "missing": "", "stale": stale} {
		if code := send(payload, sig); code != http.StatusBadRequest {
			t.Errorf("%s signature: %d, want 400", name, code)
		}
	}
	if c, _ := p.store.StripeInboxCounts(context.Background()); c.Received != 0 {
		t.Fatalf("refused deliveries stored %d events", c.Received)
	}
	for range 3 {
		if code := send(payload, good); code != http.StatusOK {
			t.Fatalf("good delivery: %d", code)
		}
	}
	if c, _ := p.store.StripeInboxCounts(context.Background()); c.Received != 1 || c.Processed != 0 {
		t.Fatalf("inbox %+v: want one event, not yet applied", c)
	}
	process(t, b)
	if _, doc := p.get(p.login("owner@globex.test"), "/"); text(doc, "plan-name") != "Business" {
		t.Fatalf("plan after the webhook: %q", text(doc, "plan-name"))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
