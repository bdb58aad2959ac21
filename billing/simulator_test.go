package billing_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/store"
)

// The simulator drives every lifecycle step through signed events; these
// tests call the journeys and the console's controls, then apply the inbox
// as the worker would.

func TestUpgradeIsImmediateAndProrated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.accountID("globex")
	preview, err := e.b.PreviewChange(e.ctx, id, "business")
	if err != nil {
		t.Fatal(err)
	}
	// 10 seats × (29 − 12) USD for the 20 days left of a ~30-day period.
	if preview.Direction != billing.Upgrade || preview.Charge == nil || preview.Charge.AmountDue < 10000 || preview.Charge.AmountDue > 12000 {
		t.Fatalf("preview %+v charge %+v", preview, preview.Charge)
	}
	p, err := e.b.ChangePlan(e.ctx, owner, id, "business", "/billing")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.sub("globex"); got.Plan != "team" || got.EventSeq != p.Since {
		t.Fatalf("the portal changed the subscription before the webhook: %+v", got)
	}
	e.process()
	if got := e.sub("globex"); got.Plan != "business" || got.Seats != 10 || got.EventSeq <= p.Since {
		t.Fatalf("after the webhook: %+v", got)
	}
	sim, _ := e.b.Sim.SimState(e.ctx, id)
	last := sim.Invoices[len(sim.Invoices)-1]
	if last.Status != "paid" || last.AmountDue != preview.Charge.AmountDue {
		t.Fatalf("proration invoice %+v, previewed %d", last, preview.Charge.AmountDue)
	}
}

func TestDowngradeWaitsForPeriodEndAndShowsWhatIsLost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.accountID("initech")
	must(t, e.b.Sim.AddPaymentMethod(e.ctx, id))
	must(t, e.b.Sim.AdvanceToPeriodEnd(e.ctx, id)) // the trial converts to business
	e.process()
	p, err := e.b.PreviewChange(e.ctx, id, "team")
	if err != nil {
		t.Fatal(err)
	}
	lost := map[string]string{}
	for _, c := range p.Changes {
		if c.Loses() {
			lost[c.Feature.Key] = string(c.Kind)
		}
	}
	if p.Direction != billing.Downgrade || lost["exports"] != "lost" || lost["api_calls"] != "limit_down" || lost["projects"] != "limit_down" {
		t.Fatalf("downgrade preview %+v, lost %v", p, lost)
	}
	if _, err := e.b.ChangePlan(e.ctx, owner, id, "team", "/billing"); err != nil {
		t.Fatal(err)
	}
	e.process()
	if got := e.sub("initech"); got.Plan != "business" || got.Scheduled == nil || *got.Scheduled != "team" {
		t.Fatalf("scheduled downgrade: %+v", got)
	}
	must(t, e.b.Sim.AdvanceToPeriodEnd(e.ctx, id))
	e.process()
	if got := e.sub("initech"); got.Plan != "team" || got.Scheduled != nil || got.Status != "active" {
		t.Fatalf("after period end: %+v", got)
	}
}

func TestTrialConvertsWithACardAndFallsBackWithout(t *testing.T) {
	t.Parallel()
	for _, card := range []bool{true, false} {
		e := newEnv(t)
		id := e.accountID("initech")
		if card {
			must(t, e.b.Sim.AddPaymentMethod(e.ctx, id))
		}
		must(t, e.b.Sim.AdvanceToPeriodEnd(e.ctx, id))
		e.process()
		got := e.sub("initech")
		want := map[bool]string{true: "business", false: "free"}[card]
		if got.Plan != want || got.Status != "active" || got.TrialEndsAt != nil {
			t.Errorf("card=%v: %+v, want active on %s", card, got, want)
		}
	}
}

func TestATrialIsOncePerAccountAndPlan(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.accountID("globex")
	if _, err := e.b.StartTrial(e.ctx, owner, id, "business"); err != nil {
		t.Fatal(err)
	}
	e.process()
	if got := e.sub("globex"); got.Status != "trialing" || got.Plan != "business" || got.TrialEndsAt == nil {
		t.Fatalf("trial: %+v", got)
	}
	must(t, e.b.Sim.AdvanceToPeriodEnd(e.ctx, id)) // Globex has a card: converts
	e.process()
	must(t, e.b.Sim.AdvanceToPeriodEnd(e.ctx, id))
	e.process()
	if _, err := e.b.ChangePlan(e.ctx, owner, id, "team", "/billing"); err != nil {
		t.Fatal(err)
	}
	must(t, e.b.Sim.AdvanceToPeriodEnd(e.ctx, id))
	e.process()
	var ve *store.ValidationError
	if _, err := e.b.StartTrial(e.ctx, owner, id, "business"); !errors.As(err, &ve) {
		t.Fatalf("second trial of business: %v, want refused", err)
	}
}

func TestPaymentFailureGraceSuspensionAndReactivation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.accountID("umbrella")
	must(t, e.b.Sim.SetPaymentsFail(e.ctx, id, false)) // the open invoice is paid
	e.process()
	if got := e.sub("umbrella"); got.Status != "active" {
		t.Fatalf("after a successful payment: %+v", got)
	}
	must(t, e.b.Sim.SetPaymentsFail(e.ctx, id, true))
	must(t, e.b.Sim.AdvanceToPeriodEnd(e.ctx, id))
	e.process()
	if got := e.sub("umbrella"); got.Status != "past_due" || got.PastDueSince == nil {
		t.Fatalf("after a failed renewal: %+v", got)
	}
	must(t, e.b.Sim.AdvanceToPeriodEnd(e.ctx, id))
	e.process()
	if got := e.sub("umbrella"); got.Status != "suspended" || got.SeatsAssigned != 2 {
		t.Fatalf("after the retry failed too: %+v", got)
	}
	must(t, e.b.Sim.SetPaymentsFail(e.ctx, id, false))
	e.process()
	if got := e.sub("umbrella"); got.Status != "active" {
		t.Fatalf("after paying: %+v", got)
	}
	if brk, _, err := e.store.VerifyAudit(e.ctx); err != nil || brk != nil {
		t.Fatalf("audit chain after the lifecycle: %v %v", brk, err)
	}
}

func TestADeclinedCardRefusesAnUpgradeAndChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.accountID("globex")
	must(t, e.b.Sim.SetPaymentsFail(e.ctx, id, true))
	before := e.sub("globex")
	_, err := e.b.ChangePlan(e.ctx, owner, id, "business", "/billing")
	var pe *billing.ProviderError
	if !errors.As(err, &pe) || pe.Message == "" {
		t.Fatalf("upgrade with a failing card: %v", err)
	}
	if n := e.process(); n != 0 {
		t.Fatalf("%d events sent for a refused change", n)
	}
	if after := e.sub("globex"); !reflect.DeepEqual(after, before) {
		t.Fatalf("changed: %+v → %+v", before, after)
	}
}

func TestSeatsBoughtAtOnceDroppedAtPeriodEndCancelAndResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.accountID("globex")
	if _, err := e.b.ChangeSeats(e.ctx, owner, id, 12); err != nil {
		t.Fatal(err)
	}
	e.process()
	if got := e.sub("globex"); got.Seats != 12 {
		t.Fatalf("bought seats: %+v", got)
	}
	p, err := e.b.PreviewSeats(e.ctx, id, 5)
	if err != nil || p.SeatsToFree != 2 || len(p.Holders) != 7 {
		t.Fatalf("seat drop preview %+v %v", p, err)
	}
	if _, err := e.b.ChangeSeats(e.ctx, owner, id, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.SetCancelAtPeriodEnd(e.ctx, store.Actor{Type: "user", Label: "owner@globex.test"}, id, true); err != nil {
		t.Fatal(err)
	}
	e.process()
	if _, err := e.b.SetCancelAtPeriodEnd(e.ctx, store.Actor{Type: "user", Label: "owner@globex.test"}, id, false); err != nil {
		t.Fatal(err)
	}
	e.process()
	if got := e.sub("globex"); got.Seats != 12 || got.ScheduledSeats == nil || *got.ScheduledSeats != 5 || got.CancelAtEnd {
		t.Fatalf("scheduled drop, resumed: %+v", got)
	}
	must(t, e.b.Sim.AdvanceToPeriodEnd(e.ctx, id))
	e.process()
	// Over-allocated: nobody is unassigned silently.
	if got := e.sub("globex"); got.Seats != 5 || got.SeatsAssigned != 7 {
		t.Fatalf("after period end: %+v", got)
	}
	if _, err := e.b.SetCancelAtPeriodEnd(e.ctx, store.Actor{Type: "user", Label: "owner@globex.test"}, id, true); err != nil {
		t.Fatal(err)
	}
	e.process()
	must(t, e.b.Sim.AdvanceToPeriodEnd(e.ctx, id))
	e.process()
	if got := e.sub("globex"); got.Status != "canceled" || got.SeatsAssigned != 0 {
		t.Fatalf("after canceling at period end: %+v", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestAFirstSubscriptionGoesThroughCheckout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var id int64
	if err := e.store.DB().Get(&id, `INSERT INTO account (slug, name) VALUES ('piedpiper', 'Pied Piper') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	p, err := e.b.PreviewChange(e.ctx, id, "team")
	if err != nil || p.Direction != billing.Subscribe {
		t.Fatalf("preview %+v %v", p, err)
	}
	if _, err := e.b.ChangePlan(e.ctx, owner, id, "team", "/billing"); err != nil {
		t.Fatal(err)
	}
	e.process()
	if got := e.sub("piedpiper"); got.Plan != "team" || got.Status != "active" || got.Seats != 1 {
		t.Fatalf("piedpiper: %+v", got)
	}
	if brk, n, err := e.store.VerifyAudit(e.ctx); err != nil || brk != nil || n == 0 {
		t.Fatalf("audit chain: %v %d %v", brk, n, err)
	}
}
