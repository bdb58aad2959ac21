package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// MaxTrialExtensionDays bounds one extension: a longer free period is a
// grant or a plan, not a trial.
const MaxTrialExtensionDays = 90

// ExtendTrial gives a trialing account days more of its trial, for an
// operator: the request is audited with who asked and why, and the
// provider's event moves the trial's end like every other change.
func (b *Billing) ExtendTrial(ctx context.Context, actor store.Actor, accountID int64, days int, reason string) (Pending, error) {
	st, err := b.State(ctx, accountID)
	if err != nil {
		return Pending{}, err
	}
	sub := st.Subscription
	switch {
	case sub == nil || !sub.StripeSubscription.Valid || sub.Status != string(licensing.Trialing) || !sub.TrialEndsAt.Valid:
		return Pending{}, invalid("days", "the account is not on a trial")
	case days < 1 || days > MaxTrialExtensionDays:
		return Pending{}, invalid("days", fmt.Sprintf("extend by 1 to %d days", MaxTrialExtensionDays))
	}
	end := sub.TrialEndsAt.Time.Add(time.Duration(days) * 24 * time.Hour)
	if err := b.Store.RecordTrialExtension(ctx, actor, accountID, sub.ID, sub.TrialEndsAt.Time, end, reason); err != nil {
		return Pending{}, err
	}
	return pending(st, ChangeTrial), b.Provider.ExtendTrial(ctx, sub.StripeSubscription.String, end)
}
