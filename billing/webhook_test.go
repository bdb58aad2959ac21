package billing_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

const (
	teamPrice     = "price_analytics_team_monthly"
	businessPrice = "price_analytics_business_monthly"
)

func TestEachEventTypeIsApplied(t *testing.T) {
	t.Parallel()
	periodEnd := time.Now().UTC().Truncate(time.Second).AddDate(0, 1, 0)
	later := func(e *env, d time.Duration) time.Time { return e.clock.Now().Add(d) }
	cases := []struct {
		name  string
		typ   string
		slug  string
		obj   func(e *env) map[string]any
		check func(e *env, got subState)
		audit []string
	}{
		{"subscription updated to business with 12 seats", "customer.subscription.updated", "globex",
			func(e *env) map[string]any {
				return subscription("sub_sim_globex", "cus_sim_globex", "active", businessPrice, 12, periodEnd, nil)
			},
			func(e *env, got subState) {
				if got.Plan != "business" || got.Seats != 12 || got.Status != "active" || !got.PeriodEnd.Equal(periodEnd) {
					t.Errorf("got %+v", got)
				}
			}, []string{"subscription.updated"}},
		{"subscription deleted releases every seat", "customer.subscription.deleted", "globex",
			func(e *env) map[string]any {
				return subscription("sub_sim_globex", "cus_sim_globex", "canceled", teamPrice, 10, periodEnd, nil)
			},
			func(e *env, got subState) {
				if got.Status != "canceled" || got.SeatsAssigned != 0 {
					t.Errorf("got %+v, want canceled with no seats", got)
				}
			}, append([]string{"subscription.deleted"}, repeat("seat.release", 7)...)},
		{"trial will end is recorded", "customer.subscription.trial_will_end", "initech",
			func(e *env) map[string]any {
				s := subscription("sub_sim_initech", "cus_sim_initech", "trialing", businessPrice, 5, periodEnd, nil)
				s["trial_end"] = later(e, 72*time.Hour).Unix()
				return s
			},
			func(e *env, got subState) {
				if got.Status != "trialing" {
					t.Errorf("got %+v", got)
				}
			}, []string{"subscription.trial_will_end"}},
		{"payment failed makes it past due", "invoice.payment_failed", "globex",
			func(e *env) map[string]any { return invoice("in_1", "cus_sim_globex", "sub_sim_globex", 12000) },
			func(e *env, got subState) {
				if got.Status != "past_due" || got.PastDueSince == nil {
					t.Errorf("got %+v, want past_due with a start", got)
				}
			}, []string{"invoice.payment_failed"}},
		{"payment needing action makes it past due", "invoice.payment_action_required", "globex",
			func(e *env) map[string]any { return invoice("in_2", "cus_sim_globex", "sub_sim_globex", 12000) },
			func(e *env, got subState) {
				if got.Status != "past_due" {
					t.Errorf("got %+v", got)
				}
			}, []string{"invoice.payment_action_required"}},
		{"invoice paid reactivates a past-due subscription", "invoice.paid", "umbrella",
			func(e *env) map[string]any { return invoice("in_3", "cus_sim_umbrella", "sub_sim_umbrella", 3600) },
			func(e *env, got subState) {
				if got.Status != "active" || got.PastDueSince != nil {
					t.Errorf("got %+v, want active", got)
				}
			}, []string{"invoice.paid"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.clock.Advance(time.Minute) // events are newer than the demo's state
			id := e.deliver(event(tc.typ, e.clock.Now(), tc.obj(e)))
			if n := e.process(); n != 1 {
				t.Fatalf("processed %d events", n)
			}
			ev, err := e.store.StripeEventByID(e.ctx, id)
			if err != nil || !ev.ProcessedAt.Valid || ev.Outcome != store.OutcomeApplied || ev.LastError != "" {
				t.Fatalf("inbox row %+v, %v", ev, err)
			}
			tc.check(e, e.sub(tc.slug))
			if got := e.stripeAudits(id); !reflect.DeepEqual(got, tc.audit) {
				t.Errorf("audit entries by stripe for %s = %v, want %v", id, got, tc.audit)
			}
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestNewCustomerCheckoutThenSubscriptionCreated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var accountID int64
	if err := e.store.DB().Get(&accountID, `INSERT INTO account (slug, name) VALUES ('piedpiper', 'Pied Piper') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	checkout := event("checkout.session.completed", now, map[string]any{"id": "cs_1", "object": "checkout.session",
		"customer": "cus_piedpiper", "subscription": "sub_piedpiper", "client_reference_id": itoa(accountID), "mode": "subscription"})
	created := event("customer.subscription.created", now.Add(time.Second),
		subscription("sub_piedpiper", "cus_piedpiper", "active", teamPrice, 4, now.AddDate(0, 1, 0), nil))
	// Delivered out of order: the subscription waits (retried) until the
	// checkout has linked the customer to the account.
	e.deliver(created)
	e.deliver(checkout)
	e.drain()
	got := e.sub("piedpiper")
	if got.Plan != "team" || got.Seats != 4 || got.Status != "active" || got.StripeSub == nil || *got.StripeSub != "sub_piedpiper" {
		t.Fatalf("piedpiper = %+v", got)
	}
	acct, _ := e.store.AccountByID(e.ctx, accountID)
	if acct.StripeCustomerID.String != "cus_piedpiper" {
		t.Fatalf("customer = %q", acct.StripeCustomerID.String)
	}
}

func TestUnknownEventTypesAreStoredAndSkipped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.deliver(event("customer.created", e.clock.Now(), map[string]any{"id": "cus_x", "object": "customer"}))
	e.process()
	ev, err := e.store.StripeEventByID(e.ctx, id)
	if err != nil || !ev.ProcessedAt.Valid || ev.Outcome != store.OutcomeIgnored {
		t.Fatalf("unknown type: %+v %v", ev, err)
	}
}

func TestTheSameEventFiveTimesIsAppliedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.clock.Advance(time.Minute)
	payload := event("customer.subscription.updated", e.clock.Now(),
		subscription("sub_sim_globex", "cus_sim_globex", "active", teamPrice, 11, time.Now().AddDate(0, 1, 0), nil))
	before := e.sub("globex").EventSeq
	var id string
	for i := range 5 {
		var fresh bool
		var err error
		id, fresh, err = e.b.Inbox.Receive(e.ctx, payload, sign(payload, billing.DevWebhookSecret))
		if err != nil || fresh != (i == 0) {
			t.Fatalf("delivery %d: new=%v err=%v", i, fresh, err)
		}
		e.process()
	}
	if got := e.sub("globex"); got.Seats != 11 || got.EventSeq != before+1 {
		t.Fatalf("after 5 deliveries: %+v (seq was %d)", got, before)
	}
	if got := e.stripeAudits(id); len(got) != 1 {
		t.Fatalf("audit entries %v, want one", got)
	}
}

// lifecycle is a realistic run of events for Globex: a trial, its
// conversion, an upgrade, a failed payment, recovery, seats, a scheduled
// downgrade, a cancel request.
func lifecycle(start time.Time) [][]byte {
	end := start.AddDate(0, 1, 0)
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Minute) }
	s := func(i int, status, price string, qty int, meta map[string]string, mut func(map[string]any)) []byte {
		obj := subscription("sub_sim_globex", "cus_sim_globex", status, price, qty, end, meta)
		if mut != nil {
			mut(obj)
		}
		return event("customer.subscription.updated", at(i), obj)
	}
	inv := func(i int, typ string) []byte {
		return event(typ, at(i), invoice("in_"+itoa(int64(i)), "cus_sim_globex", "sub_sim_globex", 1000))
	}
	return [][]byte{
		s(1, "trialing", businessPrice, 10, nil, func(o map[string]any) { o["trial_end"] = end.Unix() }),
		s(2, "active", businessPrice, 10, nil, nil),
		inv(3, "invoice.paid"),
		s(4, "active", "price_analytics_enterprise_monthly", 10, nil, nil),
		inv(5, "invoice.payment_failed"),
		s(6, "past_due", "price_analytics_enterprise_monthly", 10, nil, nil),
		inv(7, "invoice.paid"),
		s(8, "active", "price_analytics_enterprise_monthly", 12, nil, nil),
		s(9, "active", "price_analytics_enterprise_monthly", 12, map[string]string{"entitle_scheduled_price": teamPrice, "entitle_scheduled_quantity": "8"}, nil),
		inv(10, "invoice.payment_failed"),
		s(11, "active", "price_analytics_enterprise_monthly", 12, map[string]string{"entitle_scheduled_price": teamPrice, "entitle_scheduled_quantity": "8"},
			func(o map[string]any) { o["cancel_at_period_end"] = true }),
	}
}

func TestAShuffledSequenceEndsInTheInOrderState(t *testing.T) {
	t.Parallel()
	start := time.Now().UTC().Truncate(time.Minute).Add(time.Hour)
	events := lifecycle(start)
	final := func(order []int) subState {
		e := newEnv(t)
		for _, i := range order {
			e.deliver(events[i])
		}
		e.drain()
		got := e.sub("globex")
		got.EventSeq, got.LastEventCreated = 0, nil // how many applied depends on the order; what they leave must not
		return got
	}
	inOrder := make([]int, len(events))
	for i := range inOrder {
		inOrder[i] = i
	}
	want := final(inOrder)
	if want.Plan != "enterprise" || want.Seats != 12 || want.Status != "active" || !want.CancelAtEnd ||
		want.Scheduled == nil || *want.Scheduled != "team" || want.ScheduledSeats == nil || *want.ScheduledSeats != 8 {
		t.Fatalf("in-order final state %+v", want)
	}
	for seed := range uint64(3) {
		order := append([]int(nil), inOrder...)
		rand.New(rand.NewPCG(seed, 42)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		if got := final(order); !reflect.DeepEqual(got, want) {
			t.Errorf("order %v ends in %+v, want %+v", order, got, want)
		}
	}
}

func TestAnOlderEventChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now, end := e.globexOnBusinessAt(e.clock.Now().Add(time.Hour))
	// One late event alone, then two arriving together (a batch decides
	// those from one read of the subscription's guards).
	alone := e.deliver(event("customer.subscription.updated", now.Add(-time.Minute), subscription("sub_sim_globex", "cus_sim_globex", "active", teamPrice, 3, end, nil)))
	e.process()
	late := []string{alone,
		e.deliver(event("customer.subscription.updated", now.Add(-2*time.Minute), subscription("sub_sim_globex", "cus_sim_globex", "active", teamPrice, 4, end, nil))),
		e.deliver(event("invoice.payment_failed", now.Add(-time.Minute), invoice("in_late", "cus_sim_globex", "sub_sim_globex", 1200))),
	}
	e.process()
	if got := e.sub("globex"); got.Plan != "business" || got.Seats != 10 || got.Status != "active" {
		t.Fatalf("older events changed the subscription: %+v", got)
	}
	for _, id := range late {
		if ev, _ := e.store.StripeEventByID(e.ctx, id); ev.Outcome != store.OutcomeSkippedOlder || len(e.stripeAudits(id)) != 0 {
			t.Errorf("older event %s: outcome %q, audits %v", id, ev.Outcome, e.stripeAudits(id))
		}
	}
}

// globexOnBusinessAt applies an event created at now that puts Globex on
// Business with 10 seats, and returns now and the period's end.
func (e *env) globexOnBusinessAt(now time.Time) (time.Time, time.Time) {
	end := now.AddDate(0, 1, 0)
	e.deliver(event("customer.subscription.updated", now, subscription("sub_sim_globex", "cus_sim_globex", "active", businessPrice, 10, end, nil)))
	e.process()
	return now, end
}

// An event naming another account's subscription is refused even when it is
// older than that subscription's last change: being older must not hide it,
// alone or in a batch.
func TestAnOlderEventAboutAnotherAccountsSubscriptionIsParked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now, end := e.globexOnBusinessAt(e.clock.Now().Add(time.Hour))
	forged := []string{
		e.deliver(event("customer.subscription.updated", now.Add(-time.Minute),
			subscription("sub_sim_globex", "cus_sim_initech", "active", teamPrice, 3, end, nil))),
	}
	e.process()
	forged = append(forged,
		e.deliver(event("customer.subscription.updated", now.Add(-2*time.Minute),
			subscription("sub_sim_globex", "cus_sim_initech", "active", teamPrice, 4, end, nil))),
		e.deliver(event("invoice.paid", now.Add(-time.Minute), invoice("in_forged", "cus_sim_initech", "sub_sim_globex", 0))))
	e.process()
	for _, id := range forged {
		ev, _ := e.store.StripeEventByID(e.ctx, id)
		if !ev.FailedAt.Valid || !strings.Contains(ev.LastError, "belongs to another account") {
			t.Errorf("event %s about another account's subscription: outcome %q, error %q", id, ev.Outcome, ev.LastError)
		}
	}
	if got := e.sub("globex"); got.Plan != "business" || got.Seats != 10 {
		t.Fatalf("globex's subscription changed: %+v", got)
	}
}

func TestARestartBetweenReceiptAndProcessingLosesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.clock.Advance(time.Minute)
	e.deliver(event("customer.subscription.updated", e.clock.Now(),
		subscription("sub_sim_globex", "cus_sim_globex", "active", businessPrice, 10, time.Now().AddDate(0, 1, 0), nil)))
	// The process stops before its worker ran; a new one starts on the same database.
	restarted, err := billing.New(e.store, e.clock, nil, billing.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := restarted.Worker.ProcessPending(e.ctx); err != nil || n != 1 {
		t.Fatalf("after restart: %d events, %v", n, err)
	}
	if got := e.sub("globex"); got.Plan != "business" {
		t.Fatalf("after restart: %+v", got)
	}
}

func TestAPriceNoPlanMapsToParksTheEventUntilRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.clock.Advance(time.Minute)
	id := e.deliver(event("customer.subscription.updated", e.clock.Now(),
		subscription("sub_sim_globex", "cus_sim_globex", "active", "price_analytics_team_yearly", 10, time.Now().AddDate(1, 0, 0), nil)))
	e.process()
	ev, _ := e.store.StripeEventByID(e.ctx, id)
	if !ev.FailedAt.Valid || !strings.Contains(ev.LastError, `price "price_analytics_team_yearly" maps to no plan`) {
		t.Fatalf("event %+v", ev)
	}
	failed, _, _ := e.store.ConsoleFailedEvents(e.ctx, 10)
	if len(failed) != 1 || failed[0].ID != id {
		t.Fatalf("failed list %+v", failed)
	}
	e.clock.Advance(24 * time.Hour)
	if n := e.process(); n != 0 {
		t.Fatalf("a parked event was retried on its own")
	}
	// The operator adds the yearly price to the catalog, then retries.
	cat, _ := store.ParseCatalog([]byte(strings.Replace(string(store.DemoCatalog()),
		"- {stripe_price_id: price_analytics_team_monthly, interval: month, unit_amount: 1200, currency: usd}",
		"- {stripe_price_id: price_analytics_team_monthly, interval: month, unit_amount: 1200, currency: usd}\n          - {stripe_price_id: price_analytics_team_yearly, interval: year, unit_amount: 12000, currency: usd}", 1)))
	products, err := cat.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ApplyCatalog(e.ctx, store.SystemActor("test"), products); err != nil {
		t.Fatal(err)
	}
	if err := e.store.ConsoleRetryEvent(e.ctx, store.Actor{Type: "staff", Label: "ops@acme.test"}, id); err != nil {
		t.Fatal(err)
	}
	e.process()
	if ev, _ := e.store.StripeEventByID(e.ctx, id); !ev.ProcessedAt.Valid || ev.Outcome != store.OutcomeApplied {
		t.Fatalf("after retry: %+v", ev)
	}
	if got := e.sub("globex"); got.Plan != "team" || got.PeriodEnd.Year() == time.Now().Year() && got.PeriodEnd.Month() == time.Now().Month() {
		t.Fatalf("after retry: %+v", got)
	}
}

func TestFailuresAreRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.deliver(event("invoice.paid", e.clock.Now(), invoice("in_9", "cus_sim_globex", "sub_unknown", 100)))
	e.process()
	ev, _ := e.store.StripeEventByID(e.ctx, id)
	if ev.Attempts != 1 || ev.FailedAt.Valid || !ev.NextAttemptAt.After(e.clock.Now()) || !strings.Contains(ev.LastError, "sub_unknown") {
		t.Fatalf("after one failure: %+v", ev)
	}
	if n := e.process(); n != 0 {
		t.Fatal("retried before its backoff")
	}
	e.clock.Advance(ev.NextAttemptAt.Sub(e.clock.Now()))
	e.process()
	ev2, _ := e.store.StripeEventByID(e.ctx, id)
	if ev2.Attempts != 2 || ev2.NextAttemptAt.Sub(e.clock.Now()) <= ev.NextAttemptAt.Sub(ev.ReceivedAt) {
		t.Fatalf("second attempt: %+v (first wait %v)", ev2, ev.NextAttemptAt.Sub(ev.ReceivedAt))
	}
}

func TestBadSignaturesAreRefusedAndNothingIsStored(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	payload := event("customer.subscription.updated", e.clock.Now(),
		subscription("sub_sim_globex", "cus_sim_globex", "active", businessPrice, 10, time.Now(), nil))
	stale := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: billing.DevWebhookSecret,
		Timestamp: time.Now().Add(-10 * time.Minute)}).Header
	otherVersion := []byte(strings.Replace(string(payload), `"api_version":"2023-10-16"`, `"api_version":"2024-06-20"`, 1))
	for name, tc := range map[string]struct {
		payload []byte
		sig     string
	}{
		"forged":           {payload, sign(payload, "whsec_not_the_secret")},
		"missing":          {payload, ""},
		"stale":            {payload, stale},
		"other version":    {otherVersion, sign(otherVersion, billing.DevWebhookSecret)},
		"signed, no id":    {[]byte(`{"type":"invoice.paid"}`), sign([]byte(`{"type":"invoice.paid"}`), billing.DevWebhookSecret)},
		"signed, not JSON": {[]byte(`evt_1 invoice.paid`), sign([]byte(`evt_1 invoice.paid`), billing.DevWebhookSecret)},
	} {
		if _, _, err := e.b.Inbox.Receive(e.ctx, tc.payload, tc.sig); !errors.Is(err, billing.ErrBadSignature) {
			t.Errorf("%s: err = %v, want ErrBadSignature", name, err)
		}
	}
	if c, _ := e.store.StripeInboxCounts(e.ctx); c.Received != 0 {
		t.Fatalf("%d events stored", c.Received)
	}
}

func TestSuspendedAccountsAnswerSuspended(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.clock.Advance(time.Minute)
	e.deliver(event("customer.subscription.updated", e.clock.Now(),
		subscription("sub_sim_umbrella", "cus_sim_umbrella", "unpaid", teamPrice, 3, time.Now().AddDate(0, 1, 0), nil)))
	e.process()
	state, _ := e.store.AccountState(e.ctx, e.accountID("umbrella"))
	d, _ := state.Products[0].Check("dashboards", licensing.SeatNotChecked, e.clock.Now())
	if d.HasAccess || d.Reason != licensing.ReasonSuspended {
		t.Fatalf("dashboards for a suspended account: %+v", d)
	}
	if got := e.sub("umbrella"); got.SeatsAssigned != 2 {
		t.Fatalf("suspension must keep data and seats: %+v", got)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestACrashMidBatchAppliesEveryEventExactlyOnceAfterRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	end := time.Now().AddDate(0, 1, 0)
	var ids []string
	for i, seats := range []int{11, 12, 13} {
		ids = append(ids, e.deliver(event("customer.subscription.updated", e.clock.Now().Add(time.Duration(i+1)*time.Minute),
			subscription("sub_sim_globex", "cus_sim_globex", "active", teamPrice, seats, end, nil))))
	}
	// The process dies while applying the second event of the batch: its
	// transaction never commits.
	ctx, crash := context.WithCancel(e.ctx)
	decoded := 0
	_, err := e.store.ProcessStripeEvents(ctx, func(ev store.StripeEvent) (store.StripeChange, error) {
		if decoded++; decoded == 2 {
			crash()
		}
		return billing.Decode(ev)
	}, 10)
	if err == nil {
		t.Fatal("the crashed batch committed")
	}
	if got := e.sub("globex"); got.Seats != 10 {
		t.Fatalf("half a batch was applied: %+v", got)
	}
	e.process() // after the restart
	if got := e.sub("globex"); got.Seats != 13 {
		t.Fatalf("after restart: %+v", got)
	}
	for _, id := range ids {
		if got := e.stripeAudits(id); len(got) != 1 {
			t.Errorf("event %s audited %d times", id, len(got))
		}
	}
}
