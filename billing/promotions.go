package billing

import (
	"context"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// Promotion codes on checkout and plan changes. The simulator accepts the
// catalog's codes and counts their redemptions itself; with Stripe a code
// is one of Stripe's promotion codes, applied to the Checkout session or
// the subscription, and Stripe counts it. Either way a code that cannot be
// used is a field error on "promotion_code" and nothing changes.

// promotionField is the form field a code is typed in.
const promotionField = "promotion_code"

// refused turns a refusal into the field error the form shows.
func refused(err error) error {
	var r *licensing.PromotionRefusal
	if errors.As(err, &r) {
		return invalid(promotionField, r.Message)
	}
	return err
}

// promotionFor resolves a typed code for a plan of the account's product,
// refusing it when it cannot be used now. An empty code is no promotion.
func (b *Billing) promotionFor(ctx context.Context, st store.BillingState, plan store.BillingPlan, code string) (*licensing.Promotion, error) {
	code = strings.TrimSpace(code) // matched without regard to case; named as typed when unknown
	if code == "" {
		return nil, nil
	}
	promo, redeemed, err := b.Provider.ResolvePromotion(ctx, code)
	if err != nil {
		return nil, refused(err)
	}
	if promo.Product != "" && promo.Product != st.ProductKey {
		return nil, invalid(promotionField, promo.Code+" does not apply to "+st.ProductName)
	}
	if r := promo.Usable(b.Clock.Now(), plan.PlanKey, plan.Name, redeemed); r != nil {
		return nil, invalid(promotionField, r.Message)
	}
	if plan.UnitAmount == 0 {
		return nil, invalid(promotionField, licensing.FreePlanRefusal(promo.Code, plan.Name).Message)
	}
	return &promo, nil
}

// redeem counts a code the account is about to use: the simulator's
// catalog codes under the promotion's lock (refusing a code used up since
// the preview, or already used by the account); Stripe's codes are counted
// by Stripe, so the request alone is audited. release undoes it when the
// provider then refuses the change.
func (b *Billing) redeem(ctx context.Context, actor store.Actor, accountID int64, promo *licensing.Promotion, plan store.BillingPlan, target string) (release func(), err error) {
	if promo == nil {
		return func() {}, nil
	}
	r := store.Redemption{Actor: actor, AccountID: accountID, Code: promo.Code, PlanKey: plan.PlanKey, PlanName: plan.Name, Target: target}
	if promo.StripeID != "" {
		return func() {}, b.Store.RecordBillingRequest(ctx, actor, accountID, "billing.promotion_redeem", "promotion", promo.Code,
			map[string]any{"code": promo.Code, "plan": plan.PlanKey, "applied_to": target, "stripe_promotion_code": promo.StripeID})
	}
	if _, err := b.Store.RedeemPromotion(ctx, r); err != nil {
		return nil, refused(err)
	}
	return func() {
		if err := b.Store.ReleaseRedemption(context.WithoutCancel(ctx), r); err != nil {
			b.Logger.Error("release promotion redemption", "code", promo.Code, "account_id", accountID, "err", err)
		}
	}, nil
}

// ResolvePromotion finds one of the catalog's codes, in any case.
func (s *Simulator) ResolvePromotion(ctx context.Context, code string) (licensing.Promotion, int, error) {
	return s.Store.Promotion(ctx, code)
}

// simDiscountOf is a promotion applied to a simulated subscription at now.
func simDiscountOf(p licensing.Promotion, now time.Time) store.SimDiscount {
	d := store.SimDiscount{Code: p.Code, PercentOff: p.PercentOff, AmountOff: p.AmountOff, Currency: p.Currency,
		Duration: string(p.Duration)}
	if end := p.DiscountEnd(now); !end.IsZero() {
		d.End.Time, d.End.Valid = end, true
	}
	return d
}

// activeDiscount is the subscription's discount as a promotion, when it
// still reaches an invoice raised at `at`.
func activeDiscount(d store.SimDiscount, at time.Time) (licensing.Promotion, bool) {
	if d.Code == "" || (d.End.Valid && !at.Before(d.End.Time)) {
		return licensing.Promotion{}, false
	}
	return licensing.Promotion{Code: d.Code, PercentOff: d.PercentOff, AmountOff: d.AmountOff, Currency: d.Currency,
		Duration: licensing.DiscountDuration(d.Duration)}, true
}

// discountInvoice takes the subscription's discount off an invoice raised
// now; a discount for once is used up by it.
func discountInvoice(sub *store.SimSubscription, inv *store.SimInvoice, now time.Time) {
	promo, ok := activeDiscount(sub.SimDiscount, now)
	if !ok {
		return
	}
	d := promo.DiscountOn(inv.AmountDue, inv.Currency)
	inv.AmountDue, inv.DiscountCode, inv.DiscountAmount = d.Total, d.Code, d.Amount
	if promo.Duration == licensing.Once {
		sub.SimDiscount = store.SimDiscount{}
	}
}

// AttachPromotion puts a discount on the subscription for its next
// invoices (a downgrade's, at period end).
func (s *Simulator) AttachPromotion(ctx context.Context, subID string, promo licensing.Promotion) error {
	return s.update(ctx, subID, func(_ *store.SimAccount, sub *store.SimSubscription, now time.Time, evs *events) error {
		sub.SimDiscount = simDiscountOf(promo, now)
		evs.subscription("customer.subscription.updated", sub, now)
		return nil
	})
}

// ResolvePromotion finds an active Stripe promotion code (Stripe matches
// the code without regard to case) and reads its coupon's terms.
func (s *Stripe) ResolvePromotion(ctx context.Context, code string) (licensing.Promotion, int, error) {
	params := withContext(ctx, &stripe.PromotionCodeListParams{Code: stripe.String(code), Active: stripe.Bool(true)})
	params.Limit = stripe.Int64(1)
	it := s.promos.List(params)
	if !it.Next() {
		if err := it.Err(); err != nil {
			return licensing.Promotion{}, 0, providerError(err)
		}
		return licensing.Promotion{}, 0, licensing.UnknownPromotion(code)
	}
	pc := it.PromotionCode()
	if pc.Coupon == nil || !pc.Coupon.Valid { // Stripe's filter keeps inactive codes out
		return licensing.Promotion{}, 0, licensing.UnknownPromotion(code)
	}
	return stripePromotion(pc), int(pc.TimesRedeemed), nil
}

// stripePromotion reads a Stripe promotion code's terms. Stripe's percent
// may have decimals; the preview of a later invoice rounds it to a whole
// percent (Stripe computes the invoices themselves).
func stripePromotion(pc *stripe.PromotionCode) licensing.Promotion {
	c := pc.Coupon
	p := licensing.Promotion{Code: licensing.NormalizeCode(pc.Code), StripeID: pc.ID, PercentOff: int(math.Round(c.PercentOff)),
		AmountOff: c.AmountOff, Currency: string(c.Currency), Duration: licensing.DiscountDuration(c.Duration),
		DurationMonths: int(c.DurationInMonths), MaxRedemptions: int(pc.MaxRedemptions)}
	expiry := pc.ExpiresAt
	if c.RedeemBy > 0 && (expiry == 0 || c.RedeemBy < expiry) {
		expiry = c.RedeemBy
	}
	if expiry > 0 {
		// The last second the code is accepted falls on this day.
		p.ExpiresOn = time.Unix(expiry-1, 0).UTC().Format(time.DateOnly)
	}
	return p
}

// AttachPromotion applies the promotion code to the subscription: its
// next invoices are discounted.
func (s *Stripe) AttachPromotion(ctx context.Context, subID string, promo licensing.Promotion) error {
	p := withContext(ctx, &stripe.SubscriptionParams{PromotionCode: stripe.String(promo.StripeID)})
	p.SetIdempotencyKey("entitle-promotion-" + subID + "-" + promo.StripeID) // applied and counted once
	_, err := s.subs.Update(subID, p)
	return providerError(err)
}

// withPromotion adds a typed code's discount to a plan change's preview.
// Refused, the preview comes back as it is, with the field error.
func (b *Billing) withPromotion(ctx context.Context, st store.BillingState, p ChangePreview, code string) (ChangePreview, error) {
	promo, err := b.promotionFor(ctx, st, p.Plan, code)
	if err != nil || promo == nil {
		if p.Charge != nil && p.Charge.Discount > 0 { // a discount the subscription has already
			p.Discount = &licensing.Discount{Code: p.Charge.DiscountCode, Subtotal: p.Charge.Subtotal, Amount: p.Charge.Discount,
				Total: p.Charge.AmountDue, Currency: p.Charge.Currency}
		}
		return p, err
	}
	p.Promotion = promo
	switch p.Direction {
	case Upgrade:
		sub := st.Subscription
		charge, err := b.Provider.PreviewChange(ctx, sub.CustomerID.String, sub.StripeSubscription.String, p.Plan.PriceID.String, p.Seats, promo)
		if err != nil {
			return p, err
		}
		p.Charge = &charge
		p.Discount = &licensing.Discount{Code: promo.Code, Subtotal: charge.Subtotal, Amount: charge.Discount,
			Total: charge.AmountDue, Currency: charge.Currency}
	default: // the plan's month: the first one (subscribe) or the one from the period end (downgrade)
		d := promo.DiscountOn(monthly(p.Plan.UnitAmount, p.Seats, p.Plan.SeatBased), p.Plan.Currency)
		p.Discount = &d
	}
	return p, nil
}
