package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
	"github.com/entitle-dev/entitle/web"
)

// TestEveryWebhookEventMatchesItsSchema makes every kind of change through
// the real write paths, then validates every event the outbox holds
// against its schema in the OpenAPI document's webhooks section, and
// checks that each documented type was seen and each type seen is
// documented.
func TestEveryWebhookEventMatchesItsSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := storetest.NewClock(time.Now().UTC().Truncate(time.Second))
	s := storetest.NewDemo(t, clock)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := billing.New(s, clock, logger, billing.Config{PublicURL: "http://portal.test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.New(web.Options{Store: s, Clock: clock, Logger: logger, Billing: b,
		SessionSecret: []byte("test-secret-test-secret-test-secret!")}))
	t.Cleanup(srv.Close)
	p := &portal{t: t, srv: srv, store: s, client: newClient()}
	actor := store.SystemActor("test")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	globex, err := s.AccountBySlug(ctx, "globex")
	must(err)
	initech, err := s.AccountBySlug(ctx, "initech")
	must(err)
	owner := memberOf(t, s, "owner@globex.test")

	// The demo data made account.created, member.joined, subscription.created
	// and seat.assigned. Seats and members:
	pools, err := s.SeatPools(ctx, globex.ID)
	must(err)
	sub := pools[0].SubscriptionID
	alice := memberOf(t, s, "alice@globex.test").MembershipID
	_, err = s.UnassignSeats(ctx, owner, sub, []int64{alice})
	must(err)
	must(s.RemoveMember(ctx, owner, alice))
	// The plan, usage near its limit, a licence.
	must(s.SetSubscriptionPlan(ctx, actor, globex.ID, "analytics", "business"))
	state, err := s.AccountState(ctx, globex.ID)
	must(err)
	d, err := licensing.NewChecker(state).Check("api_calls", "", clock.Now())
	must(err)
	if d.Decision.Limit == nil {
		t.Fatal("api_calls has no limit on business")
	}
	_, err = s.RecordUsage(ctx, globex.ID, store.UsageReport{Feature: "api_calls", Quantity: *d.Decision.Limit - d.Decision.Used,
		IdempotencyKey: "contract-1"})
	must(err)
	_, err = s.IssueLicence(ctx, globex.ID, store.LicenceOptions{})
	must(err)
	// Drift behind the application's back (a removed member given a seat
	// again), repaired by the reconciler.
	_, err = s.DB().Exec(`INSERT INTO seat_assignment (account_id, subscription_id, membership_id, source)
		VALUES ($1, $2, $3, 'rule')`, globex.ID, sub, alice)
	must(err)
	rep, err := s.Reconcile(ctx, globex.ID, store.ReconcileOptions{})
	must(err)
	if rep.Drifts != 1 {
		t.Fatalf("the reconciler did not repair the planted drift: %+v", rep)
	}
	// A support session, started and ended in the console.
	support := p.staffLogin("support@acme.test")
	if res := p.impersonate(support, "globex", "read", "customer asked about exports", "30"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("impersonate: %d", res.StatusCode)
	}
	_, doc := p.get(support, "/admin")
	p.post(support, "/admin/impersonation/end", url.Values{"_csrf": {csrfToken(doc)}})
	// A full pool with somebody waiting, and Initech's trial 3 days from
	// its end: the alerts.
	var waiting int64
	must(s.DB().Get(&waiting, `SELECT m.id FROM membership m WHERE m.account_id = $1 AND m.status = 'active'
		AND NOT EXISTS (SELECT 1 FROM seat_assignment a WHERE a.membership_id = m.id) ORDER BY m.id LIMIT 1`, globex.ID))
	_, err = s.DB().Exec(`UPDATE subscription SET seats = (SELECT count(*) FROM seat_assignment WHERE subscription_id = $1) WHERE id = $1`, sub)
	must(err)
	_, err = s.DB().Exec(`INSERT INTO waiting_entry (account_id, subscription_id, membership_id, since, reason, position)
		VALUES ($1, $2, $3, now(), 'no_seat', 1)`, globex.ID, sub, waiting)
	must(err)
	clock.Advance(8 * 24 * time.Hour)
	_, err = s.RunAlerts(ctx)
	must(err)
	// Cancellation: at period end, through the billing simulator.
	_, err = b.SetCancelAtPeriodEnd(ctx, store.SystemActor("test"), initech.ID, true)
	must(err)
	must(b.Sim.AddPaymentMethod(ctx, initech.ID))
	must(b.Sim.AdvanceToPeriodEnd(ctx, initech.ID))
	_, err = b.Worker.ProcessPending(ctx)
	must(err)
	must(b.Sim.AdvanceToPeriodEnd(ctx, initech.ID))
	_, err = b.Worker.ProcessPending(ctx)
	must(err)
	// entitlements.changed, and a test event.
	_, err = s.WriteEntitlementsEvents(ctx, 100)
	must(err)
	ep, err := s.CreateWebhookEndpoint(ctx, actor, store.WebhookEndpointInput{URL: "https://hooks.example.com/x"})
	must(err)
	must(s.SendTestWebhook(ctx, actor, ep.ID))

	doc3, _, err := loadOpenAPI()
	must(err)
	var rows []struct {
		Type    string `db:"type"`
		Payload []byte `db:"payload"`
	}
	must(s.DB().Select(&rows, `SELECT type, payload FROM webhook_event ORDER BY id`))
	seen := map[string]int{}
	for _, r := range rows {
		seen[r.Type]++
		item := doc3.Webhooks[r.Type]
		if item == nil || item.Post == nil {
			t.Errorf("event type %s is not in the OpenAPI document's webhooks", r.Type)
			continue
		}
		schema := item.Post.RequestBody.Value.Content.Get("application/json").Schema.Value
		var v any
		must(json.Unmarshal(r.Payload, &v))
		if err := schema.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("%s does not match its schema: %v\n%s", r.Type, err, r.Payload)
		}
	}
	var documented []string
	for typ := range doc3.Webhooks {
		documented = append(documented, typ)
		if seen[typ] == 0 {
			t.Errorf("no %s event was made: the scenario does not cover it", typ)
		}
	}
	sort.Strings(documented)
	want := append(slices.Clone(store.WebhookEventTypes), store.EventWebhookTest)
	sort.Strings(want)
	if !slices.Equal(documented, want) {
		t.Errorf("documented event types %v, the store emits %v", documented, want)
	}
}

func memberOf(t *testing.T, s *store.Store, email string) store.Principal {
	t.Helper()
	var p store.Principal
	if err := s.DB().QueryRow(`SELECT m.account_id, m.id, u.id, u.email FROM membership m JOIN app_user u ON u.id = m.user_id
		WHERE u.email = $1 ORDER BY m.id LIMIT 1`, email).Scan(&p.AccountID, &p.MembershipID, &p.UserID, &p.Email); err != nil {
		t.Fatalf("member %s: %v", email, err)
	}
	return p
}
