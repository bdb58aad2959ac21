package billing_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store"
)

// apiCallsLimit is Globex's api_calls limit as evaluation sees it.
func (e *env) apiCallsLimit(slug string) int64 {
	e.t.Helper()
	st, err := e.store.AccountState(e.ctx, e.accountID(slug))
	if err != nil {
		e.t.Fatal(err)
	}
	d, ok := st.Products[0].Check("api_calls", 0, e.clock.Now())
	if !ok || d.Limit == nil {
		e.t.Fatalf("api_calls decision %+v", d)
	}
	return *d.Limit
}

func (e *env) addOnAudits(slug string) []string {
	e.t.Helper()
	var actions []string
	if err := e.store.DB().Select(&actions, `
SELECT action || ' ' || coalesce(after->>'units', before->>'units') FROM audit_entry
WHERE account_id = $1 AND action LIKE 'addon.%' ORDER BY seq`, e.accountID(slug)); err != nil {
		e.t.Fatal(err)
	}
	return actions
}

// lastSubscriptionObject is the subscription object of the newest
// subscription event the account received, with its created time.
func (e *env) lastSubscriptionObject(slug string) (map[string]any, time.Time) {
	e.t.Helper()
	var row struct {
		Payload []byte    `db:"payload"`
		Created time.Time `db:"created"`
	}
	if err := e.store.DB().Get(&row, `SELECT payload, created FROM stripe_event
WHERE account_id = $1 AND type LIKE 'customer.subscription.%' ORDER BY created DESC, received_at DESC LIMIT 1`, e.accountID(slug)); err != nil {
		e.t.Fatal(err)
	}
	var ev struct {
		Data struct {
			Object map[string]any `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(row.Payload, &ev); err != nil {
		e.t.Fatal(err)
	}
	return ev.Data.Object, row.Created
}

func TestBuyingAnAddOnRaisesTheLimitOnceTheWebhookLands(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.accountID("globex")
	if got := e.apiCallsLimit("globex"); got != 50000 {
		t.Fatalf("team's api_calls: %d", got)
	}

	preview, err := e.b.PreviewAddOn(e.ctx, id, "extra_api_calls", 2)
	if err != nil {
		t.Fatal(err)
	}
	// 2 × 10 USD for the 20 days left of a ~30-day period.
	if preview.Charge == nil || preview.Charge.AmountDue < 1200 || preview.Charge.AmountDue > 1400 ||
		*preview.LimitNow != 50000 || *preview.LimitAfter != 70000 {
		t.Fatalf("preview %+v charge %+v", preview, preview.Charge)
	}
	p, err := e.b.SetAddOn(e.ctx, owner, id, "extra_api_calls", 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.apiCallsLimit("globex"); got != 50000 {
		t.Fatalf("granted before the webhook: %d", got)
	}
	e.process()
	if got := e.apiCallsLimit("globex"); got != 70000 {
		t.Fatalf("after the webhook: %d", got)
	}
	if got := e.sub("globex"); got.Plan != "team" || got.Seats != 10 || got.EventSeq <= p.Since {
		t.Fatalf("the plan item was mistaken for the add-on: %+v", got)
	}
	if got := strings.Join(e.addOnAudits("globex"), ", "); got != "addon.added 2" {
		t.Fatalf("audit: %s", got)
	}
	sim, _ := e.b.Sim.SimState(e.ctx, id)
	if last := sim.Invoices[len(sim.Invoices)-1]; last.Status != "paid" || last.AmountDue != preview.Charge.AmountDue {
		t.Fatalf("proration invoice %+v, previewed %d", last, preview.Charge.AmountDue)
	}

	// The same object delivered again (a replay under another event id)
	// changes nothing and audits nothing.
	two, twoAt := e.lastSubscriptionObject("globex")
	e.deliver(event("customer.subscription.updated", twoAt, two))
	e.process()
	if got := strings.Join(e.addOnAudits("globex"), ", "); got != "addon.added 2" {
		t.Fatalf("audit after a replay: %s", got)
	}

	// Fewer units; then the two-unit object arrives late (out of order):
	// it is older than the one applied, so it is skipped.
	if _, err := e.b.SetAddOn(e.ctx, owner, id, "extra_api_calls", 1); err != nil {
		t.Fatal(err)
	}
	e.process()
	e.deliver(event("customer.subscription.updated", twoAt, two))
	e.process()
	if got := e.apiCallsLimit("globex"); got != 60000 {
		t.Fatalf("one unit, after a late older event: %d", got)
	}
	removal, err := e.b.PreviewAddOn(e.ctx, id, "extra_api_calls", 0)
	if err != nil || removal.Charge != nil || *removal.LimitAfter != 50000 {
		t.Fatalf("removal preview %+v, %v", removal, err)
	}
	if _, err := e.b.SetAddOn(e.ctx, owner, id, "extra_api_calls", 0); err != nil {
		t.Fatal(err)
	}
	e.process()
	if got := e.apiCallsLimit("globex"); got != 50000 {
		t.Fatalf("removed: %d", got)
	}
	// Each change audited once, what was held before a removal recorded.
	if got := strings.Join(e.addOnAudits("globex"), ", "); got != "addon.added 2, addon.changed 1, addon.removed 1" {
		t.Fatalf("audit: %s", got)
	}
}

func TestAddOnRequestsTheAccountCannotMakeAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	globex, initech := e.accountID("globex"), e.accountID("initech")
	cases := []struct {
		name    string
		account int64
		key     string
		units   int
		want    string
	}{
		{"an add-on that does not exist", globex, "gold_support", 1, "no such add-on can be bought on the Team plan"},
		{"more units than sold", globex, "extra_api_calls", 11, "choose between 0 and 10 units"},
		{"a negative quantity", globex, "extra_api_calls", -1, "choose between 0 and 10 units"},
		{"removing what is not held", globex, "extra_projects", 0, "does not hold Extra projects"},
		{"a boolean add-on twice", globex, "exports_pack", 2, "choose between 0 and 1 units"},
		// Initech is trialing business: changes wait for the trial's end,
		// and exports_pack is for team only.
		{"during a trial", initech, "extra_api_calls", 1, "during a trial"},
	}
	for _, tc := range cases {
		_, err := e.b.SetAddOn(e.ctx, owner, tc.account, tc.key, tc.units)
		var inv *store.ValidationError
		if !errors.As(err, &inv) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a refusal saying %q", tc.name, err, tc.want)
		}
	}
	// Nothing was sent to the provider.
	if n := e.process(); n != 0 {
		t.Errorf("%d events after refusals", n)
	}
}

func TestAnAddOnThePlanCannotBuyIsRefusedAfterAPlanChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.accountID("globex")
	if _, err := e.b.ChangePlan(e.ctx, owner, id, "business", "/billing"); err != nil {
		t.Fatal(err)
	}
	e.process()
	// Business already has exports: the exports add-on is team's only.
	_, err := e.b.SetAddOn(e.ctx, owner, id, "exports_pack", 1)
	if err == nil || !strings.Contains(err.Error(), "no such add-on can be bought on the Business plan") {
		t.Fatalf("got %v", err)
	}
	offers, err := e.b.AddOns(e.ctx, mustState(t, e, id))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range offers {
		keys = append(keys, o.Key)
	}
	if strings.Join(keys, ",") != "extra_api_calls" { // business has projects unlimited
		t.Errorf("offered on business: %v", keys)
	}
	_ = billing.ChangeAddOn
}

func mustState(t *testing.T, e *env, id int64) store.BillingState {
	t.Helper()
	st, err := e.b.State(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
