package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/entitle-dev/entitle/billing"
)

func TestOperatorsDriveTheSimulatorFromTheConsole(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	ops := p.staffLogin("ops@acme.test")
	res, doc := p.get(ops, "/admin/accounts/umbrella/billing")
	if res.StatusCode != http.StatusOK || text(doc, "sim-payments") != "fail" || text(doc, "admin-status") != "Past due" {
		t.Fatalf("%d payments %q status %q", res.StatusCode, text(doc, "sim-payments"), text(doc, "admin-status"))
	}
	res, _ = p.post(ops, "/admin/accounts/umbrella/billing/succeed", url.Values{"_csrf": {csrfToken(doc)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("succeed: %d", res.StatusCode)
	}
	process(t, b)
	_, doc = p.get(ops, "/admin/accounts/umbrella/billing")
	if text(doc, "admin-status") != "Active" || text(doc, "sim-payments") != "succeed" {
		t.Fatalf("after a successful payment: %q %q", text(doc, "admin-status"), text(doc, "sim-payments"))
	}
	// Support may look but not drive the simulator.
	support := p.staffLogin("support@acme.test")
	_, doc = p.get(support, "/admin/accounts/umbrella/billing")
	if doc.Find(`[data-testid="sim-advance"]`).Length() != 0 {
		t.Error("support sees the simulator's controls")
	}
	if res, _ := p.post(support, "/admin/accounts/umbrella/billing/advance", url.Values{"_csrf": {csrfToken(doc)}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("support advancing the clock: %d, want 403", res.StatusCode)
	}
}

func TestFailedWebhookEventsAreListedAndRetried(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	payload := []byte(`{"id": "evt_bad_price", "object": "event", "api_version": "2023-10-16", "created": ` + itoa(time.Now().Unix()) + `,
		"type": "customer.subscription.updated", "data": {"object": {"id": "sub_sim_globex", "object": "subscription",
		"customer": "cus_sim_globex", "status": "active", "items": {"object": "list", "data": [{"id": "si_1",
		"object": "subscription_item", "quantity": 10, "price": {"id": "price_nobody_sells", "object": "price"}}]}}}}`)
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: billing.DevWebhookSecret}).Header
	if _, _, err := b.Inbox.Receive(context.Background(), payload, sig); err != nil {
		t.Fatal(err)
	}
	process(t, b)
	if res, _ := p.get(p.staffLogin("support@acme.test"), "/admin/events"); res.StatusCode != http.StatusForbidden {
		t.Errorf("support on /admin/events: %d, want 403", res.StatusCode)
	}
	ops := p.staffLogin("ops@acme.test")
	_, doc := p.get(ops, "/admin/events")
	row := doc.Find(`[data-testid="stripe-event"][data-event="evt_bad_price"]`)
	if row.Length() != 1 {
		t.Fatalf("failed list: %d rows for evt_bad_price", row.Length())
	}
	if got := row.Find(`[data-testid="stripe-event-error"]`).Text(); !strings.Contains(got, `price "price_nobody_sells" maps to no plan`) {
		t.Fatalf("error shown: %q", got)
	}
	res, _ := p.post(ops, "/admin/events/evt_bad_price/retry", url.Values{"_csrf": {csrfToken(doc)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("retry: %d", res.StatusCode)
	}
	ev, _ := p.store.StripeEventByID(context.Background(), "evt_bad_price")
	if ev.FailedAt.Valid {
		t.Fatal("retry did not make the event due")
	}
	var actor string
	_ = p.store.DB().Get(&actor, `SELECT actor_label FROM audit_entry WHERE action = 'stripe_event.retry'`)
	if actor != "ops@acme.test" {
		t.Fatalf("retry audited as %q", actor)
	}
}
