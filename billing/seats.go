package billing

import (
	"context"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/tracing"
)

// SeatPreview is what changing the seat count would do.
type SeatPreview struct {
	From, To    int
	Charge      *Preview // more seats: charged now, prorated
	EffectiveAt time.Time
	SeatsToFree int
	Holders     []store.SeatHolder
}

// PreviewSeats says what buying (at once, prorated) or dropping seats (at
// period end; who holds seats beyond the new count) would do.
func (b *Billing) PreviewSeats(ctx context.Context, accountID int64, seats int) (SeatPreview, error) {
	st, err := b.State(ctx, accountID)
	if err != nil {
		return SeatPreview{}, err
	}
	sub, err := seatChange(st, seats)
	if sub == nil {
		return SeatPreview{}, err
	}
	p := SeatPreview{From: sub.Seats, To: seats}
	if err != nil {
		return p, err
	}
	if seats > sub.Seats {
		charge, err := b.Provider.PreviewChange(ctx, sub.CustomerID.String, sub.StripeSubscription.String, sub.PriceID.String, seats, nil)
		p.Charge = &charge
		return p, err
	}
	p.EffectiveAt, p.SeatsToFree = sub.CurrentPeriodEnd.Time, licensing.SeatsToFree(sub.SeatsAssigned, seats)
	if p.SeatsToFree > 0 {
		p.Holders, err = b.Store.SeatHolders(ctx, accountID, sub.ID, maxHoldersShown)
	}
	return p, err
}

// seatChange is the subscription whose seat count would become seats, and
// why it may not (nil subscription: none can change). The preview's charge
// and holders are not needed to decide: ChangeSeats asks the provider
// once, to make the change.
func seatChange(st store.BillingState, seats int) (*store.BillingSubscription, error) {
	sub, err := changeable(st)
	if err != nil {
		return nil, err
	}
	switch {
	case !sub.SeatBased:
		return sub, invalid("seats", sub.PlanName+" is not sold by the seat")
	case seats < 1 || seats > 10000:
		return sub, invalid("seats", "choose between 1 and 10000 seats")
	case seats == sub.Seats:
		return sub, invalid("seats", "the subscription already has that many seats")
	}
	return sub, nil
}

// ChangeSeats buys seats at once or drops them at period end. Dropping
// below the assigned count unassigns nobody: the pool is then
// over-allocated and the admins choose whom to unassign. Audited as
// actor's request before the provider is asked.
func (b *Billing) ChangeSeats(ctx context.Context, actor store.Actor, accountID int64, seats int) (Pending, error) {
	ctx, span := tracing.Start(ctx, "billing.change_seats") // the provider call, and in local mode its webhook
	defer span.End()
	st, err := b.State(ctx, accountID)
	if err != nil {
		return Pending{}, err
	}
	sub, err := seatChange(st, seats)
	if err != nil {
		return Pending{}, err
	}
	buy := seats > sub.Seats // charged at once; fewer seats wait for period end
	err = b.Store.RecordBillingRequest(ctx, actor, accountID, "billing.seat_change", "subscription", itoa(sub.ID), map[string]any{
		"plan": sub.PlanName, "seats_from": sub.Seats, "seats_to": seats, "at_period_end": !buy})
	if err != nil {
		return Pending{}, err
	}
	if buy {
		return pending(st, ChangeSeats), b.Provider.ChangeSeats(ctx, sub.StripeSubscription.String, seats)
	}
	scheduledPrice := ""
	if sub.ScheduledPlanKey.Valid {
		plan, _ := st.Plan(sub.ScheduledPlanKey.String)
		scheduledPrice = plan.PriceID.String
	}
	return pending(st, ChangeSeats), b.Provider.ScheduleChange(ctx, sub.StripeSubscription.String, scheduledPrice, seats)
}
