package billing_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// withPromotions applies the demo catalog with more promotion codes.
func (e *env) withPromotions(extra string) {
	e.t.Helper()
	file := strings.Replace(string(store.DemoCatalog()), "promotions:\n", "promotions:\n"+extra, 1)
	cat, err := store.ParseCatalog([]byte(file))
	if err != nil {
		e.t.Fatal(err)
	}
	products, err := cat.Validate()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.ApplyCatalog(e.ctx, store.SystemActor("test"), products); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) redeemed(code string) int {
	e.t.Helper()
	var n int
	if err := e.store.DB().Get(&n, `SELECT times_redeemed FROM promotion WHERE code = $1`, code); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func fieldError(err error) string {
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return ve.Fields["promotion_code"]
	}
	return ""
}

var owner = store.Actor{Type: "user", ID: "1", Label: "owner@globex.test"}

func TestACodeOnAnUpgradeDiscountsTheChargeAndTheNextInvoices(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.accountID("globex")
	plain, err := e.b.PreviewChange(e.ctx, id, "business")
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.b.PreviewChangeWithCode(e.ctx, id, "business", " launch20 ")
	if err != nil {
		t.Fatal(err)
	}
	d := p.Discount
	if d == nil || d.Code != "LAUNCH20" || d.Subtotal != plain.Charge.AmountDue || d.Amount != (d.Subtotal*20+50)/100 ||
		d.Total != d.Subtotal-d.Amount || p.Charge.AmountDue != d.Total {
		t.Fatalf("discount %+v, charge %+v, without the code %+v", d, p.Charge, plain.Charge)
	}
	if _, err := e.b.ChangePlanWithCode(e.ctx, owner, id, "business", "Launch20", "/billing"); err != nil {
		t.Fatal(err)
	}
	e.process()
	if got := e.sub("globex"); got.Plan != "business" {
		t.Fatalf("after the webhook: %+v", got)
	}
	sim, _ := e.b.Sim.SimState(e.ctx, id)
	last := sim.Invoices[len(sim.Invoices)-1]
	if last.AmountDue != d.Total || last.DiscountCode != "LAUNCH20" || last.DiscountAmount != d.Amount {
		t.Fatalf("proration invoice %+v, previewed %+v", last, d)
	}
	if n := e.redeemed("LAUNCH20"); n != 1 {
		t.Errorf("redeemed %d times, want 1", n)
	}
	// Stripe delivering the upgrade's events again counts nothing more and
	// raises no invoice.
	var payloads [][]byte
	if err := e.store.DB().Select(&payloads, `SELECT payload FROM stripe_event ORDER BY received_at, id`); err != nil {
		t.Fatal(err)
	}
	for _, payload := range payloads {
		e.deliver(payload)
	}
	e.process()
	if again, _ := e.b.Sim.SimState(e.ctx, id); len(again.Invoices) != len(sim.Invoices) || e.redeemed("LAUNCH20") != 1 {
		t.Errorf("after a replay: %d invoices (was %d), redeemed %d times", len(again.Invoices), len(sim.Invoices), e.redeemed("LAUNCH20"))
	}
	var audit struct {
		Label string `db:"actor_label"`
		After string `db:"after"`
	}
	if err := e.store.DB().Get(&audit, `SELECT actor_label, after::text FROM audit_entry WHERE action = 'billing.promotion_redeem' AND account_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if audit.Label != "owner@globex.test" || !strings.Contains(audit.After, `"applied_to": "upgrade"`) || !strings.Contains(audit.After, `"plan": "business"`) {
		t.Errorf("audit %+v", audit)
	}
	// 20% for 3 months: the renewals inside them are discounted, the one
	// after is not. 10 business seats are $290.00 a month.
	var renewals []store.SimInvoice
	for range 4 {
		must(t, e.b.Sim.AdvanceToPeriodEnd(e.ctx, id))
		sim, _ = e.b.Sim.SimState(e.ctx, id)
		renewals = append(renewals, sim.Invoices[len(sim.Invoices)-1])
	}
	for i, inv := range renewals[:3] {
		if inv.AmountDue != 23200 || inv.DiscountAmount != 5800 {
			t.Errorf("renewal %d inside the 3 months: %d due, %d off", i+1, inv.AmountDue, inv.DiscountAmount)
		}
	}
	if last := renewals[3]; last.AmountDue != 29000 || last.DiscountAmount != 0 {
		t.Errorf("renewal after the 3 months: %d due, %d off", last.AmountDue, last.DiscountAmount)
	}
	// A second use by the same account is refused, and counts nothing.
	e.process()
	if _, err := e.b.ChangePlanWithCode(e.ctx, owner, id, "enterprise", "LAUNCH20", "/billing"); fieldError(err) != "this account has already used LAUNCH20" {
		t.Errorf("second use: %v", err)
	}
	if n := e.redeemed("LAUNCH20"); n != 1 {
		t.Errorf("redeemed %d times after the refusal, want 1", n)
	}
}

func TestACodeAtCheckoutDiscountsTheFirstInvoice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.withPromotions("  - {product: analytics, code: FIVEOFF, amount_off: 500, currency: usd, duration: once}\n")
	acct, err := e.store.CreateAccount(e.ctx, store.SystemActor("test"), store.NewAccount{Name: "Hooli", OwnerEmail: "owner@hooli.test", BaseURL: "http://portal.test"})
	if err != nil {
		t.Fatal(err)
	}
	in := billing.FirstPlan{PlanKey: "team", Seats: 3, ReturnURL: "/billing", PromotionCode: "fiveoff", Actor: owner}
	if _, err := e.b.StartFirstPlan(e.ctx, acct.ID, in); err != nil {
		t.Fatal(err)
	}
	e.process()
	sim, _ := e.b.Sim.SimState(e.ctx, acct.ID)
	if len(sim.Invoices) != 1 || sim.Invoices[0].AmountDue != 3600-500 || sim.Invoices[0].DiscountCode != "FIVEOFF" {
		t.Fatalf("invoices %+v", sim.Invoices)
	}
	must(t, e.b.Sim.AdvanceToPeriodEnd(e.ctx, acct.ID))
	sim, _ = e.b.Sim.SimState(e.ctx, acct.ID)
	if next := sim.Invoices[1]; next.AmountDue != 3600 || next.DiscountAmount != 0 {
		t.Errorf("a discount for once reached the renewal: %+v", next)
	}
}

func TestRefusedCodesSayWhyAndChangeNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	today := e.clock.Now().UTC().Format(time.DateOnly)
	e.withPromotions("  - {product: analytics, code: ENTONLY, percent_off: 10, duration: once, plans: [enterprise]}\n" +
		"  - {product: analytics, code: TODAY, percent_off: 10, duration: forever, expires_on: \"" + today + "\"}\n" +
		"  - {product: analytics, code: NOBODY, percent_off: 10, duration: once, max_redemptions: 1}\n")
	id := e.accountID("globex")
	initech := e.accountID("initech")
	// Used up by someone else.
	if _, err := e.store.RedeemPromotion(e.ctx, store.Redemption{AccountID: initech, Code: "NOBODY", PlanKey: "business", Target: "upgrade"}); err != nil {
		t.Fatal(err)
	}
	before := e.sub("globex")
	for code, want := range map[string]string{
		"NOPE":    `"NOPE" is not a promotion code we know: check the spelling`,
		"entonly": "ENTONLY does not apply to Business",
		"nobody":  "NOBODY has been used as many times as it may be",
	} {
		if _, err := e.b.PreviewChangeWithCode(e.ctx, id, "business", code); fieldError(err) != want {
			t.Errorf("preview with %s: %v, want %q", code, err, want)
		}
		if _, err := e.b.ChangePlanWithCode(e.ctx, owner, id, "business", code, "/billing"); fieldError(err) != want {
			t.Errorf("confirm with %s: %v, want %q", code, err, want)
		}
	}
	// Accepted on its last day; refused from the next, by the clock.
	if _, err := e.b.PreviewChangeWithCode(e.ctx, id, "business", "today"); err != nil {
		t.Fatalf("on its last day: %v", err)
	}
	e.clock.Advance(24 * time.Hour)
	want := "TODAY expired on " + e.clock.Now().AddDate(0, 0, -1).Format("2 Jan 2006")
	if _, err := e.b.ChangePlanWithCode(e.ctx, owner, id, "business", "today", "/billing"); fieldError(err) != want {
		t.Errorf("the day after: %v, want %q", err, want)
	}
	e.process()
	if after := e.sub("globex"); after.Plan != "team" || after.EventSeq != before.EventSeq {
		t.Errorf("a refused code changed the subscription: %+v", after)
	}
	var redemptions int
	e.store.DB().Get(&redemptions, `SELECT count(*) FROM promotion_redemption WHERE account_id = $1`, id)
	if redemptions != 0 {
		t.Errorf("%d redemptions for refused codes", redemptions)
	}
}

func TestADeclinedUpgradeGivesTheCodeBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.accountID("globex")
	must(t, e.b.Sim.SetPaymentsFail(e.ctx, id, true))
	_, err := e.b.ChangePlanWithCode(e.ctx, owner, id, "business", "LAUNCH20", "/billing")
	var pe *billing.ProviderError
	if !errors.As(err, &pe) || !pe.Declined {
		t.Fatalf("err %v, want a decline", err)
	}
	if n := e.redeemed("LAUNCH20"); n != 0 {
		t.Errorf("redeemed %d times after a decline", n)
	}
	var actions []string
	e.store.DB().Select(&actions, `SELECT action FROM audit_entry WHERE account_id = $1 AND target_type = 'promotion' ORDER BY seq`, id)
	if strings.Join(actions, ",") != "billing.promotion_redeem,billing.promotion_release" {
		t.Errorf("audit %v", actions)
	}
	must(t, e.b.Sim.SetPaymentsFail(e.ctx, id, false))
	if _, err := e.b.ChangePlanWithCode(e.ctx, owner, id, "business", "LAUNCH20", "/billing"); err != nil {
		t.Fatalf("after the card works again: %v", err)
	}
}

func TestACodeOnADowngradeDiscountsTheInvoiceAtTheNewPrice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.accountID("initech")
	must(t, e.b.Sim.AddPaymentMethod(e.ctx, id))
	must(t, e.b.Sim.AdvanceToPeriodEnd(e.ctx, id)) // the trial converts to business
	e.process()
	p, err := e.b.PreviewChangeWithCode(e.ctx, id, "team", "LAUNCH20")
	if err != nil {
		t.Fatal(err)
	}
	seats := int64(e.sub("initech").Seats)
	want := licensing.Discount{Code: "LAUNCH20", Subtotal: 1200 * seats, Amount: 240 * seats, Total: 960 * seats, Currency: "usd"}
	if p.Direction != billing.Downgrade || p.Discount == nil || *p.Discount != want {
		t.Fatalf("preview %s %+v, want %+v", p.Direction, p.Discount, want)
	}
	if _, err := e.b.ChangePlanWithCode(e.ctx, owner, id, "team", "LAUNCH20", "/billing"); err != nil {
		t.Fatal(err)
	}
	must(t, e.b.Sim.AdvanceToPeriodEnd(e.ctx, id))
	sim, _ := e.b.Sim.SimState(e.ctx, id)
	if last := sim.Invoices[len(sim.Invoices)-1]; last.AmountDue != want.Total || last.DiscountCode != "LAUNCH20" {
		t.Errorf("first invoice at the new price: %+v", last)
	}
}
