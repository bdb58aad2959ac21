package billing

import (
	"context"
	"time"
)

// RunPlanMigrations does what moving subscribers between plan versions has
// due: it mails the owners whose notice has come (through the outbox),
// then makes the moves whose time has come. A move that changes the price
// goes through the provider (Stripe, or the simulator), whose webhook moves
// the version like any plan change; a move that does not changes the
// version at once. A provider refusal leaves the move due for the next run.
func (b *Billing) RunPlanMigrations(ctx context.Context) (notified, done int, err error) {
	if notified, err = b.Store.SendDueMigrationNotices(ctx); err != nil {
		return notified, 0, err
	}
	due, err := b.Store.DueMigrations(ctx)
	if err != nil {
		return notified, 0, err
	}
	for _, d := range due {
		var viaProvider func() error
		if d.PriceChanges() {
			viaProvider = func() error {
				return b.Provider.ChangePlan(ctx, d.StripeSub.String, d.ToPriceID.String, d.Seats, nil)
			}
		}
		outcome, err := b.Store.CompleteMigration(ctx, d, viaProvider)
		if err != nil {
			b.Logger.Error("plan migration", "account_id", d.AccountID, "plan", d.PlanKey, "version", d.ToVersion, "err", err)
			continue
		}
		if outcome != "" {
			done++
		}
	}
	return notified, done, nil
}

// RunPlanMigrationsEvery runs RunPlanMigrations now and then every
// interval until ctx ends.
func (b *Billing) RunPlanMigrationsEvery(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if n, m, err := b.RunPlanMigrations(ctx); err != nil {
			b.Logger.Error("plan migrations", "err", err)
		} else if n+m > 0 {
			b.Logger.Info("plan migrations", "notices", n, "moves", m)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
