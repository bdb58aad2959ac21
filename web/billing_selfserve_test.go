package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// noRawBillingIDs fails when a page shows the provider's internal words:
// invoice ids or billing reasons.
func noRawBillingIDs(t *testing.T, doc *goquery.Document) {
	t.Helper()
	body := doc.Find("main").Text()
	for _, raw := range []string{"in_sim_", "subscription_update", "subscription_cycle", "subscription_create"} {
		if strings.Contains(body, raw) {
			t.Errorf("the page shows %q", raw)
		}
	}
}

func subStatus(t *testing.T, p *portal, slug string) string {
	t.Helper()
	var status string
	if err := p.store.DB().Get(&status, `SELECT s.status FROM subscription s JOIN account a ON a.id = s.account_id WHERE a.slug = $1`, slug); err != nil {
		t.Fatal(err)
	}
	return status
}

// audited lists the account's audit actions by an actor, oldest first.
func audited(t *testing.T, p *portal, slug, actor string) string {
	t.Helper()
	var actions []string
	if err := p.store.DB().Select(&actions, `SELECT e.action FROM audit_entry e JOIN account a ON a.id = e.account_id
WHERE a.slug = $1 AND e.actor_label = $2 ORDER BY e.seq`, slug, actor); err != nil {
		t.Fatal(err)
	}
	return strings.Join(actions, " ")
}

func TestPastDueOwnerPaysTheOpenInvoiceAndIsActiveThroughTheWebhook(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	c := p.login("owner@umbrella.test")
	_, doc := p.get(c, "/")
	if href, _ := doc.Find(`[data-testid="banner-past-due-link"]`).Attr("href"); href != "/billing" {
		t.Fatalf("the past-due banner links to %q", href)
	}
	_, doc = p.get(c, "/billing")
	open := doc.Find(`[data-testid="billing-open-invoice"]`)
	if open.Length() == 0 || doc.Find(`[data-testid="billing-open-invoice"] ~ [data-testid="billing-subscription"]`).Length() == 0 {
		t.Fatal("/billing does not lead with the open invoice")
	}
	if got := open.AttrOr("data-invoice", ""); got != "UMBRELLA-0001" {
		t.Errorf("open invoice = %q", got)
	}
	if got := text(doc, "pay-now"); got != "Pay now $36.00" {
		t.Errorf("pay button = %q", got)
	}
	if text(doc, "update-payment-method") == "" || text(doc, "payment-method-declined") == "" {
		t.Error("no word on the declined card and no way to update it")
	}
	noRawBillingIDs(t, doc)

	// The card on file declines: paying is refused on the page, in words.
	res, refused := p.htmx(c, http.MethodPost, "/billing/pay", csrfToken(doc), url.Values{"invoice": {"UMBRELLA-0001"}})
	if res.StatusCode != http.StatusPaymentRequired || !strings.Contains(text(refused, "error-message"), "Update the payment method") {
		t.Fatalf("pay with the declined card: %d %q", res.StatusCode, text(refused, "error-message"))
	}

	// Update the payment method (the simulator's portal), then pay.
	res, _ = p.post(c, "/billing/portal", url.Values{"_csrf": {csrfToken(doc)}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/billing/simulator" {
		t.Fatalf("update payment method: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	res, _ = p.post(c, "/billing/simulator/card", url.Values{"_csrf": {csrfToken(doc)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("replace card: %d", res.StatusCode)
	}
	_, doc = p.get(c, "/billing")
	if got := text(doc, "billing-payment-method"); got != "Test card •••• 4242" {
		t.Errorf("payment method after the update = %q", got)
	}
	before, _ := p.store.StripeInboxCounts(context.Background())
	res, _ = p.post(c, "/billing/pay", url.Values{"_csrf": {csrfToken(doc)}, "invoice": {"UMBRELLA-0001"}})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/billing?since=") || !strings.Contains(loc, "did=pay") {
		t.Fatalf("pay: %d → %s", res.StatusCode, loc)
	}
	after, _ := p.store.StripeInboxCounts(context.Background())
	if after.Received <= before.Received {
		t.Fatal("paying sent no event to the webhook inbox")
	}
	if got := subStatus(t, p, "umbrella"); got != "past_due" {
		t.Fatalf("the portal wrote the subscription itself: %s before the webhook was applied", got)
	}
	_, doc = p.get(c, loc)
	if text(doc, "billing-pending") == "" {
		t.Error("no pending notice while the webhook is on its way")
	}
	process(t, b)
	_, doc = p.get(c, loc)
	if got := text(doc, "billing-status"); got != "Active" {
		t.Fatalf("status after paying = %q", got)
	}
	if got := text(doc, "billing-done"); got != "Payment received. You are on Team, 3 seats, $36.00 a month." {
		t.Errorf("confirmation = %q", got)
	}
	if doc.Find(`[data-testid="billing-open-invoice"]`).Length() != 0 {
		t.Error("the paid invoice still leads the page")
	}
	if got := doc.Find(`[data-testid="billing-invoice"][data-number="UMBRELLA-0001"] [data-testid="invoice-status"]`).Text(); got != "Paid" {
		t.Errorf("invoice status = %q", got)
	}
	if _, doc = p.get(c, "/"); doc.Find(`[data-testid="banner-past-due"]`).Length() != 0 {
		t.Error("the past-due banner stays after paying")
	}
	if got := subStatus(t, p, "umbrella"); got != "active" {
		t.Errorf("subscription = %s", got)
	}
	if got := audited(t, p, "umbrella", "owner@umbrella.test"); !strings.Contains(got, "billing.invoice_pay billing.payment_method_update billing.invoice_pay") {
		t.Errorf("audited for the owner: %s", got)
	}
}

// A trial converts before its plan or seats change: the page offers Convert
// now rather than buttons that could only be refused.
func TestATrialOffersConversionInsteadOfPlanChanges(t *testing.T) {
	t.Parallel()
	p, _ := newBillingPortal(t)
	c := p.login("owner@initech.test")
	_, doc := p.get(c, "/billing")
	if n := doc.Find(`[data-testid^="choose-"]`).Length(); n != 0 {
		t.Errorf("a trialing account is offered %d plan changes", n)
	}
	if !strings.Contains(text(doc, "billing-changes-locked"), "once the trial is converted") || doc.Find(`[data-testid="convert-now"]`).Length() != 1 {
		t.Errorf("the trial's billing page: locked %q, convert-now %d", text(doc, "billing-changes-locked"), doc.Find(`[data-testid="convert-now"]`).Length())
	}
	res, refused := p.htmx(c, http.MethodGet, "/billing/change?plan=team", csrfToken(doc), nil)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(refused, "error-message"), "convert the trial first") {
		t.Errorf("a crafted plan change during the trial: %d %q", res.StatusCode, text(refused, "error-message"))
	}
}

func TestUpgradeWhilePastDueLeadsToPaymentInsteadOfFailing(t *testing.T) {
	t.Parallel()
	p, _ := newBillingPortal(t)
	c := p.login("owner@umbrella.test")
	_, doc := p.get(c, "/billing")
	if doc.Find(`[data-testid^="choose-"]`).Length() != 0 || doc.Find(`[data-testid="seats-form"]`).Length() != 0 {
		t.Error("plan and seat changes are offered while a payment is past due")
	}
	if text(doc, "billing-changes-locked") == "" {
		t.Error("no word on why plan changes wait")
	}
	for _, path := range []string{"/billing/change?plan=business", "/billing/seats?seats=5"} {
		res, refused := p.htmx(c, http.MethodGet, path, csrfToken(doc), nil)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(refused, "error-message"), "pay the open invoice") {
			t.Errorf("%s while past due: %d %q", path, res.StatusCode, text(refused, "error-message"))
		}
	}
	res, refused := p.htmx(c, http.MethodPost, "/billing/change", csrfToken(doc), url.Values{"plan": {"business"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text(refused, "error-message"), "update the payment method") {
		t.Errorf("upgrade while past due: %d %q", res.StatusCode, text(refused, "error-message"))
	}
}

func TestAnInvoiceOfAnotherAccountIsNotFound(t *testing.T) {
	t.Parallel()
	p, _ := newBillingPortal(t)
	umbrella, globex := p.login("owner@umbrella.test"), p.login("owner@globex.test")
	res, doc := p.get(umbrella, "/billing/invoices/UMBRELLA-0001")
	if res.StatusCode != http.StatusOK || text(doc, "invoice-total") != "$36.00" || text(doc, "invoice-account") != "Umbrella" {
		t.Fatalf("own invoice: %d %q %q", res.StatusCode, text(doc, "invoice-total"), text(doc, "invoice-account"))
	}
	if text(doc, "invoice-pay-now") == "" {
		t.Error("an open invoice offers no Pay now")
	}
	noRawBillingIDs(t, doc)
	if res, _ := p.get(globex, "/billing/invoices/UMBRELLA-0001"); res.StatusCode != http.StatusNotFound {
		t.Errorf("Globex reads Umbrella's invoice: %d", res.StatusCode)
	}
	_, page := p.get(globex, "/billing")
	if res, _ := p.post(globex, "/billing/pay", url.Values{"_csrf": {csrfToken(page)}, "invoice": {"UMBRELLA-0001"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("Globex pays Umbrella's invoice: %d", res.StatusCode)
	}
}

func TestConvertNowWithoutACardAsksForOneFirst(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	c := p.login("owner@initech.test")
	_, doc := p.get(c, "/billing")
	if got := text(doc, "convert-now"); got != "Convert now: $145.00 a month" {
		t.Errorf("convert button = %q", got)
	}
	if got := text(doc, "billing-trial-days"); !strings.HasPrefix(got, "10 days left") {
		t.Errorf("trial = %q", got)
	}
	_, confirm := p.htmx(c, http.MethodGet, "/billing/convert", csrfToken(doc), nil)
	if text(confirm, "convert-needs-card") == "" || text(confirm, "convert-add-card") == "" || text(confirm, "confirm-convert") != "" {
		t.Fatalf("without a card, convert does not ask for one: %q", confirm.Text())
	}
	res, refused := p.htmx(c, http.MethodPost, "/billing/convert", csrfToken(doc), url.Values{})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(strings.ToLower(text(refused, "error-message")), "add a payment method first") {
		t.Fatalf("convert without a card: %d %q", res.StatusCode, text(refused, "error-message"))
	}
	if c, _ := p.store.StripeInboxCounts(context.Background()); c.Received != 0 {
		t.Fatalf("%d events sent for a refused conversion", c.Received)
	}

	p.post(c, "/billing/simulator/card", url.Values{"_csrf": {csrfToken(doc)}})
	_, confirm = p.htmx(c, http.MethodGet, "/billing/convert", csrfToken(doc), nil)
	if got := text(confirm, "convert-charge"); got != "$145.00" {
		t.Fatalf("charge to convert = %q", got)
	}
	res, _ = p.post(c, "/billing/convert", url.Values{"_csrf": {csrfToken(doc)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("convert: %d", res.StatusCode)
	}
	process(t, b)
	_, doc = p.get(c, res.Header.Get("Location"))
	if got := text(doc, "billing-status"); got != "Active" {
		t.Fatalf("status after converting = %q", got)
	}
	if got := text(doc, "billing-done"); got != "Trial converted. You are on Business, 5 seats, $145.00 a month." {
		t.Errorf("confirmation = %q", got)
	}
	if got := audited(t, p, "initech", "owner@initech.test"); got != "billing.payment_method_update billing.trial_convert" {
		t.Errorf("audited for the owner: %s", got)
	}
	if doc.Find(`[data-testid="convert-now"]`).Length() != 0 {
		t.Error("Convert now is still offered")
	}
	if got := doc.Find(`[data-testid="billing-invoice"][data-status="paid"] [data-testid="invoice-amount"]`).First().Text(); got != "$145.00" {
		t.Errorf("first invoice = %q", got)
	}
}

func TestBillingShowsWhatTheAccountPaysAndConfirmsEveryChange(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	c := p.login("owner@globex.test")
	_, doc := p.get(c, "/billing")
	if got := text(doc, "billing-monthly"); !strings.HasPrefix(got, "$120.00") || !strings.Contains(got, "10 seats × $12.00") {
		t.Errorf("monthly = %q", got)
	}
	if got := text(doc, "billing-next-invoice"); !strings.HasPrefix(got, "$120.00 on ") {
		t.Errorf("next invoice = %q", got)
	}

	res, _ := p.post(c, "/billing/change", url.Values{"_csrf": {csrfToken(doc)}, "plan": {"business"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("upgrade: %d", res.StatusCode)
	}
	process(t, b)
	_, doc = p.get(c, res.Header.Get("Location"))
	if got := text(doc, "billing-done"); got != "Upgraded. You are now on Business, 10 seats, $290.00 a month." {
		t.Errorf("confirmation = %q", got)
	}
	if got := text(doc, "billing-next-invoice"); !strings.HasPrefix(got, "$290.00 on ") {
		t.Errorf("next invoice after the upgrade = %q", got)
	}
	row := doc.Find(`[data-testid="billing-invoice"]`).First()
	if row.AttrOr("data-number", "") != "GLOBEX-0001" || !strings.Contains(row.Text(), "Change of plan, seats or add-ons, prorated") ||
		row.Find(`[data-testid="invoice-link"]`).AttrOr("href", "") != "/billing/invoices/GLOBEX-0001" {
		t.Errorf("invoice row = %q", row.Text())
	}
	noRawBillingIDs(t, doc)

	res, _ = p.post(c, "/billing/seats", url.Values{"_csrf": {csrfToken(doc)}, "seats": {"12"}})
	process(t, b)
	_, doc = p.get(c, res.Header.Get("Location"))
	if got := text(doc, "billing-done"); got != "Saved. You are on Business, 12 seats, $348.00 a month." {
		t.Errorf("confirmation after buying seats = %q", got)
	}
	res, _ = p.post(c, "/billing/seats", url.Values{"_csrf": {csrfToken(doc)}, "seats": {"11"}})
	process(t, b)
	_, doc = p.get(c, res.Header.Get("Location"))
	if got := text(doc, "billing-done"); !strings.Contains(got, "you will be on Business, 11 seats, $319.00 a month; until then on Business, 12 seats, $348.00 a month.") {
		t.Errorf("confirmation after dropping a seat = %q", got)
	}
}

func TestBuySeatsSitsBesideTheWaitingListForBuyers(t *testing.T) {
	t.Parallel()
	p, _ := newBillingPortal(t)
	// One member waits for a seat (as a provisioning rule would leave them).
	_, err := p.store.DB().Exec(`
INSERT INTO waiting_entry (account_id, subscription_id, membership_id, since, reason, position)
SELECT m.account_id, s.id, m.id, now(), 'no seat free', 1
FROM membership m JOIN account a ON a.id = m.account_id JOIN subscription s ON s.account_id = a.id
WHERE a.slug = 'globex' AND NOT EXISTS (SELECT 1 FROM seat_assignment sa WHERE sa.membership_id = m.id)
ORDER BY m.id LIMIT 1`)
	if err != nil {
		t.Fatal(err)
	}
	_, doc := p.get(p.login("owner@globex.test"), "/seats")
	if doc.Find(`[data-testid="waiting-row"]`).Length() != 1 {
		t.Fatal("no one waits")
	}
	if href := doc.Find(`[data-testid="waiting-buy-seats-link"]`).AttrOr("href", ""); href != "/billing#seats" {
		t.Errorf("Buy seats beside the waiting list goes to %q", href)
	}
	if got := text(doc, "seat-meter-text"); got != "7 of 10 seats used" {
		t.Errorf("meter = %q", got)
	}
	if _, doc := p.get(p.login("admin@globex.test"), "/seats"); doc.Find(`[data-testid="waiting-buy-seats-link"]`).Length() != 0 {
		t.Error("an admin, who may not buy, is offered Buy seats")
	}
}
