package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// openStore connects and migrates. An unreachable database is one clear
// error line, never a stack of retries.
func openStore(ctx context.Context, cfg Config) (*store.Store, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DBTimeout)
	if err != nil {
		return nil, fmt.Errorf("database unreachable at %s: %v", redact(cfg.DatabaseURL), err)
	}
	if _, err := store.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return store.New(db, licensing.SystemClock{}), nil
}

// redact hides a password in a database URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable DATABASE_URL)"
	}
	return u.Redacted()
}

func migrate(ctx context.Context, cfg Config, out io.Writer) error {
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DBTimeout)
	if err != nil {
		return fmt.Errorf("database unreachable at %s: %v", redact(cfg.DatabaseURL), err)
	}
	defer db.Close()
	applied, err := store.Migrate(ctx, db)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "migrations applied: %d %v\n", len(applied), applied)
	return nil
}

func demoSeed(ctx context.Context, cfg Config, out io.Writer) error {
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	if err := s.ApplyDemo(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "Demo data ready. Every demo login's password is %q:\n", store.DemoPassword)
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	// The customers' logins first, then the vendor's staff.
	var customers, staff []store.DemoLogin
	for _, l := range append(store.DemoLogins(), store.DemoPeopleLogins()...) {
		if l.Where == "/admin/login" {
			staff = append(staff, l)
		} else {
			customers = append(customers, l)
		}
	}
	for _, l := range append(customers, staff...) {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", l.Email, l.Role, l.Where)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Provisioning: Initech's identity provider, for curl.
	fmt.Fprintf(out, "Initech's SCIM endpoint: %s/scim/v2 with Authorization: Bearer %s\n", cfg.PublicURL, store.DemoSCIMToken)
	return nil
}

func accountsList(ctx context.Context, cfg Config, out io.Writer) error {
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	accounts, err := s.ListAccounts(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tNAME\tPLAN\tSTATUS\tMEMBERS")
	for _, a := range accounts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", a.Slug, a.Name, a.Plan.String, a.Status.String, a.Members)
	}
	return tw.Flush()
}

// accountView is `entitle accounts show --json`: what an operator needs to
// reconcile the account with Stripe.
type accountView struct {
	Slug             string        `json:"slug"`
	Name             string        `json:"name"`
	StripeCustomerID string        `json:"stripe_customer_id"`
	Products         []productView `json:"products"`
	Grants           []grantView   `json:"grants"`
}

type productView struct {
	Product              string                        `json:"product"`
	Plan                 string                        `json:"plan"`
	PlanVersion          int                           `json:"plan_version,omitempty"`
	Status               string                        `json:"status"`
	StripeSubscriptionID string                        `json:"stripe_subscription_id,omitempty"`
	CurrentPeriodEnd     *time.Time                    `json:"current_period_end,omitempty"`
	CancelAtPeriodEnd    bool                          `json:"cancel_at_period_end"`
	Seats                int                           `json:"seats"`
	SeatsAssigned        int                           `json:"seats_assigned"`
	Entitlements         map[string]licensing.Decision `json:"entitlements"`
}

// grantView is an active grant.
type grantView struct {
	ID        int64      `json:"id"`
	Kind      string     `json:"kind"`
	Product   string     `json:"product,omitempty"`
	Feature   string     `json:"feature,omitempty"`
	Enabled   bool       `json:"enabled"`
	Amount    int64      `json:"amount,omitempty"`
	Reason    string     `json:"reason"`
	ExpiresAt *time.Time `json:"expires_at"` // null: never
}

func accountsShow(ctx context.Context, cfg Config, slug string, asJSON bool, out io.Writer) error {
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	detail, err := s.ConsoleAccount(ctx, slug)
	if err != nil {
		return fmt.Errorf("account %q: %w", slug, err)
	}
	acct := detail.Account
	state, err := s.AccountState(ctx, acct.ID)
	if err != nil {
		return err
	}
	view := accountView{Slug: acct.Slug, Name: acct.Name, StripeCustomerID: acct.StripeCustomerID.String, Grants: []grantView{}}
	for _, g := range detail.Grants {
		gv := grantView{ID: g.ID, Kind: g.Kind, Product: g.ProductKey, Feature: g.FeatureKey, Enabled: g.Enabled,
			Amount: g.Amount, Reason: g.Reason}
		if g.ExpiresAt.Valid {
			at := g.ExpiresAt.Time.UTC()
			gv.ExpiresAt = &at
		}
		view.Grants = append(view.Grants, gv)
	}
	for _, p := range state.Products {
		pv := productView{Product: p.Product, Seats: p.Seats, SeatsAssigned: p.SeatsAssigned, Entitlements: map[string]licensing.Decision{}}
		if p.Plan != nil {
			pv.Plan, pv.Status, pv.PlanVersion = p.Plan.Key, string(p.Subscription.Status), p.Plan.Version
		}
		for _, sub := range detail.Subscriptions {
			if sub.ProductKey != p.Product {
				continue
			}
			pv.StripeSubscriptionID, pv.CancelAtPeriodEnd = sub.StripeSubscription.String, sub.CancelAtPeriodEnd
			if sub.CurrentPeriodEnd.Valid {
				end := sub.CurrentPeriodEnd.Time.UTC()
				pv.CurrentPeriodEnd = &end
			}
		}
		for _, fd := range p.Evaluate(s.Now()) {
			pv.Entitlements[fd.Feature.Key] = fd.Decision
		}
		view.Products = append(view.Products, pv)
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(view)
	}
	fmt.Fprintf(out, "%s (%s)\n", view.Name, view.Slug)
	for _, p := range view.Products {
		fmt.Fprintf(out, "  product %s: plan %s, status %s, seats %d/%d assigned\n", p.Product, p.Plan, p.Status, p.SeatsAssigned, p.Seats)
		tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
		for _, fd := range stateFeatures(state, p.Product) {
			d := p.Entitlements[fd]
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", fd, accessWord(d.HasAccess), d.Reason, amounts(d))
		}
		tw.Flush()
	}
	return nil
}

func stateFeatures(state licensing.AccountState, product string) []string {
	var keys []string
	for _, p := range state.Products {
		if p.Product == product {
			for _, f := range p.Features {
				keys = append(keys, f.Key)
			}
		}
	}
	return keys
}

func auditVerify(ctx context.Context, cfg Config, out io.Writer) error {
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	brk, n, err := s.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if brk != nil {
		return fmt.Errorf("%s (%d entries read)", brk, n)
	}
	fmt.Fprintf(out, "OK: %d audit entries, every chain intact\n", n)
	return nil
}

func accessWord(has bool) string {
	if has {
		return "yes"
	}
	return "no"
}

// amounts is "used 4200 of 50000" for limited features, "" otherwise.
func amounts(d licensing.Decision) string {
	switch {
	case d.Limit != nil:
		return fmt.Sprintf("used %d of %d", d.Used, *d.Limit)
	case d.Used > 0:
		return fmt.Sprintf("used %d, unlimited", d.Used)
	}
	return ""
}
