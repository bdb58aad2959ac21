package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// The catalog's promotion codes and their redemptions. A code is redeemed
// once per account; the count the catalog caps is the number of accounts
// that redeemed it, held under the promotion's row lock.

const (
	promotionColumns = `p.id, pr.key AS product, p.code, p.percent_off, p.amount_off, p.currency, p.duration, p.duration_months,
       coalesce(to_char(p.expires_on, 'YYYY-MM-DD'), '') AS expires_on, p.max_redemptions, p.plans, p.times_redeemed`
	productPromotionsSQL = `SELECT ` + promotionColumns + `
FROM promotion p JOIN product pr ON pr.id = p.product_id WHERE p.product_id = $1 AND p.active ORDER BY p.code`
	promotionByCodeSQL = `SELECT ` + promotionColumns + `
FROM promotion p JOIN product pr ON pr.id = p.product_id WHERE p.code = $1 AND p.active`
	lockPromotionSQL   = promotionByCodeSQL + ` FOR UPDATE OF p`
	upsertPromotionSQL = `
INSERT INTO promotion (product_id, code, percent_off, amount_off, currency, duration, duration_months, expires_on,
       max_redemptions, plans, active)
VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8, '')::date, $9, $10, true)
ON CONFLICT (code) DO UPDATE SET product_id = EXCLUDED.product_id, percent_off = EXCLUDED.percent_off,
       amount_off = EXCLUDED.amount_off, currency = EXCLUDED.currency, duration = EXCLUDED.duration,
       duration_months = EXCLUDED.duration_months, expires_on = EXCLUDED.expires_on,
       max_redemptions = EXCLUDED.max_redemptions,
       plans = EXCLUDED.plans, active = true`
	deactivatePromotionSQL = `UPDATE promotion SET active = false WHERE product_id = $1 AND code = $2`
	insertRedemptionSQL    = `
INSERT INTO promotion_redemption (promotion_id, account_id, plan_key, redeemed_at) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING`
	countRedemptionSQL   = `UPDATE promotion SET times_redeemed = times_redeemed + 1 WHERE id = $1`
	lockAnyPromotionSQL  = `SELECT id, code FROM promotion WHERE code = $1 FOR UPDATE`
	deleteRedemptionSQL  = `DELETE FROM promotion_redemption WHERE promotion_id = $1 AND account_id = $2`
	uncountRedemptionSQL = `UPDATE promotion SET times_redeemed = times_redeemed - 1 WHERE id = $1`
)

type promotionRow struct {
	ID             int64          `db:"id"`
	Product        string         `db:"product"`
	Code           string         `db:"code"`
	PercentOff     int            `db:"percent_off"`
	AmountOff      int64          `db:"amount_off"`
	Currency       string         `db:"currency"`
	Duration       string         `db:"duration"`
	DurationMonths int            `db:"duration_months"`
	ExpiresOn      string         `db:"expires_on"`
	MaxRedemptions int            `db:"max_redemptions"`
	Plans          pq.StringArray `db:"plans"`
	TimesRedeemed  int            `db:"times_redeemed"`
}

func (r promotionRow) promotion() licensing.Promotion {
	p := licensing.Promotion{Product: r.Product, Code: r.Code, PercentOff: r.PercentOff, AmountOff: r.AmountOff,
		Currency: r.Currency, Duration: licensing.DiscountDuration(r.Duration), DurationMonths: r.DurationMonths,
		ExpiresOn: r.ExpiresOn, MaxRedemptions: r.MaxRedemptions}
	if len(r.Plans) > 0 {
		p.Plans = []string(r.Plans)
	}
	return p
}

func promotionsOf(ctx context.Context, q sqlx.QueryerContext, productID int64) ([]licensing.Promotion, error) {
	var rows []promotionRow
	if err := sqlx.SelectContext(ctx, q, &rows, productPromotionsSQL, productID); err != nil {
		return nil, err
	}
	var out []licensing.Promotion
	for _, r := range rows {
		out = append(out, r.promotion())
	}
	return out, nil
}

// applyPromotions writes a product's promotion codes as the file says
// them: new and changed codes are upserted, codes the file no longer lists
// stop being accepted. Each change is audited.
func (s *Store) applyPromotions(ctx context.Context, tx *sqlx.Tx, actor Actor, productID int64, p licensing.Product) error {
	cur, err := promotionsOf(ctx, tx, productID)
	if err != nil {
		return err
	}
	for _, np := range p.Promotions {
		action := "catalog.promotion_added"
		var before any
		for _, cp := range cur {
			if cp.Code == np.Code {
				action, before = "catalog.promotion_changed", cp.Describe()
				if cp.Equal(np) {
					action = ""
				}
			}
		}
		if action == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, upsertPromotionSQL, productID, np.Code, np.PercentOff, np.AmountOff, np.Currency,
			string(np.Duration), np.DurationMonths, np.ExpiresOn, np.MaxRedemptions, pq.Array(nonNil(np.Plans))); err != nil {
			return err
		}
		if err := audit(ctx, tx, s.Now(), AuditEvent{Actor: actor, Action: action, TargetType: "promotion", TargetID: np.Code,
			Before: before, After: np.Describe()}); err != nil {
			return err
		}
	}
	for _, cp := range cur {
		found := false
		for _, np := range p.Promotions {
			found = found || np.Code == cp.Code
		}
		if found {
			continue
		}
		if _, err := tx.ExecContext(ctx, deactivatePromotionSQL, productID, cp.Code); err != nil {
			return err
		}
		if err := audit(ctx, tx, s.Now(), AuditEvent{Actor: actor, Action: "catalog.promotion_removed", TargetType: "promotion",
			TargetID: cp.Code, Before: cp.Describe()}); err != nil {
			return err
		}
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Promotion finds an accepted promotion code, typed in any case, with the
// number of accounts that have redeemed it; an unknown or removed code is
// a *licensing.PromotionRefusal.
func (s *Store) Promotion(ctx context.Context, code string) (licensing.Promotion, int, error) {
	var r promotionRow
	err := s.db.GetContext(ctx, &r, promotionByCodeSQL, licensing.NormalizeCode(code))
	if errors.Is(err, sql.ErrNoRows) {
		return licensing.Promotion{}, 0, licensing.UnknownPromotion(code)
	}
	return r.promotion(), r.TimesRedeemed, err
}

// Redemption is an account applying a code to a plan.
type Redemption struct {
	Actor     Actor
	AccountID int64
	Code      string
	PlanKey   string
	PlanName  string
	Target    string // what it is applied to, for the audit: "checkout", "upgrade", "downgrade"
}

// RedeemPromotion counts the account's use of a code, refusing it when it
// is unknown, expired (by the store's clock), used up, not for the plan, or
// already used by the account; the count and its audit entry (who applied
// which code to what) are one transaction, under the promotion's row lock,
// so two accounts racing for the last redemption cannot both have it.
func (s *Store) RedeemPromotion(ctx context.Context, r Redemption) (licensing.Promotion, error) {
	var out licensing.Promotion
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var row promotionRow
		err := tx.GetContext(ctx, &row, lockPromotionSQL, licensing.NormalizeCode(r.Code))
		if errors.Is(err, sql.ErrNoRows) {
			return licensing.UnknownPromotion(r.Code)
		}
		if err != nil {
			return err
		}
		out = row.promotion()
		if refusal := out.Usable(s.Now(), r.PlanKey, r.PlanName, row.TimesRedeemed); refusal != nil {
			return refusal
		}
		res, err := tx.ExecContext(ctx, insertRedemptionSQL, row.ID, r.AccountID, r.PlanKey, s.Now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &licensing.PromotionRefusal{Reason: "used", Message: "this account has already used " + out.Code}
		}
		if _, err := tx.ExecContext(ctx, countRedemptionSQL, row.ID); err != nil {
			return err
		}
		return audit(ctx, tx, s.Now(), AuditEvent{AccountID: r.AccountID, Actor: r.Actor, Action: "billing.promotion_redeem",
			TargetType: "promotion", TargetID: out.Code,
			After: map[string]any{"code": out.Code, "plan": r.PlanKey, "applied_to": r.Target, "terms": out.Describe()}})
	})
	return out, err
}

// ReleaseRedemption gives a redemption back when the billing provider
// refused the change it was for (a declined card): the account may use the
// code again and the count drops, audited.
func (s *Store) ReleaseRedemption(ctx context.Context, r Redemption) error {
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			ID   int64  `db:"id"`
			Code string `db:"code"`
		}
		if err := tx.GetContext(ctx, &row, lockAnyPromotionSQL, licensing.NormalizeCode(r.Code)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, deleteRedemptionSQL, row.ID, r.AccountID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, uncountRedemptionSQL, row.ID); err != nil {
			return err
		}
		return audit(ctx, tx, s.Now(), AuditEvent{AccountID: r.AccountID, Actor: r.Actor, Action: "billing.promotion_release",
			TargetType: "promotion", TargetID: row.Code, Before: map[string]any{"code": row.Code, "plan": r.PlanKey, "applied_to": r.Target}})
	})
}

// SimDiscount is a simulated subscription's discount, as Stripe keeps a
// coupon on a subscription: the terms when applied and, for a repeating
// one, when it stops. An empty Code is no discount.
type SimDiscount struct {
	Code       string       `db:"discount_code"`
	PercentOff int          `db:"discount_percent_off"`
	AmountOff  int64        `db:"discount_amount_off"`
	Currency   string       `db:"discount_currency"`
	Duration   string       `db:"discount_duration"`
	End        sql.NullTime `db:"discount_end"`
}
