package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/entitle-dev/entitle/store"
)

// A trial an operator starts from the console is registered with billing
// at once: the provider's subscription adopts the account's trial (one
// subscription, now with the provider's id, still trialing), so a card
// added later converts it like any trial; the sweep that retries
// registrations makes no second one, and registers the trial of an
// account the command line created.
func TestATrialStartedFromTheConsoleIsRegisteredWithBilling(t *testing.T) {
	t.Parallel()
	p, b := newBillingPortal(t)
	ops := p.staffLogin("admin@acme.test")
	res, _ := p.submit(ops, "/admin/accounts/new", "/admin/accounts/new", url.Values{"name": {"Wayne Enterprises"},
		"owner": {"bruce@wayne.test"}, "plan": {"business"}, "grant": {"trial"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/accounts/wayne-enterprises" {
		t.Fatalf("create: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	if _, doc := p.get(ops, "/admin/accounts/wayne-enterprises"); !strings.Contains(text(doc, "flash"), "trial is registered with billing") {
		t.Errorf("flash = %q", text(doc, "flash"))
	}
	process(t, b)
	if n, err := b.RegisterVendorTrials(context.Background()); err != nil || n != 0 {
		t.Errorf("the sweep registered %d more (%v)", n, err)
	}
	process(t, b)
	type row struct {
		Status   string  `db:"status"`
		StripeID *string `db:"stripe_subscription_id"`
		Trial    bool    `db:"trial"`
	}
	var subs []row
	if err := p.store.DB().Select(&subs, `SELECT s.status, s.stripe_subscription_id, s.trial_ends_at > now() + interval '13 days' AS trial
FROM subscription s JOIN account a ON a.id = s.account_id WHERE a.slug = 'wayne-enterprises'`); err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || subs[0].Status != "trialing" || subs[0].StripeID == nil || !subs[0].Trial {
		t.Fatalf("subscriptions %+v", subs)
	}
	// `entitle accounts create --trial` has no billing of its own: serve's
	// sweep registers its trial.
	if _, err := p.store.CreateAccount(context.Background(), store.SystemActor("entitle accounts create"), store.NewAccount{
		Name: "Cyberdyne", OwnerEmail: "miles@cyberdyne.test", Plan: "business", Start: "trial"}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.RegisterVendorTrials(context.Background()); err != nil || n != 1 {
		t.Errorf("the sweep registered %d (%v), want Cyberdyne's trial", n, err)
	}
	process(t, b)
	var registered bool
	if err := p.store.DB().Get(&registered, `SELECT s.stripe_subscription_id IS NOT NULL FROM subscription s
JOIN account a ON a.id = s.account_id WHERE a.slug = 'cyberdyne'`); err != nil || !registered {
		t.Errorf("Cyberdyne's trial is not registered (%v)", err)
	}
	var simSubs int
	if err := p.store.DB().Get(&simSubs, `SELECT count(*) FROM billing_sim_subscription s JOIN account a ON a.id = s.account_id WHERE a.slug = 'wayne-enterprises'`); err != nil || simSubs != 1 {
		t.Fatalf("%d subscriptions at the provider (%v)", simSubs, err)
	}
}
