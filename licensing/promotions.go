package licensing

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// DiscountDuration is how long a promotion's discount lasts once applied,
// as Stripe's coupons say it.
type DiscountDuration string

const (
	// Once: the first invoice after the code is applied (the prorated
	// charge of an upgrade, the first period of a checkout, the first
	// invoice at the new price of a downgrade).
	Once DiscountDuration = "once"
	// Repeating: every invoice for DurationMonths months from when the
	// code is applied.
	Repeating DiscountDuration = "repeating"
	// Forever: every invoice while the subscription lasts.
	Forever DiscountDuration = "forever"
)

// Promotion is a code a buyer types on checkout or on a plan change for a
// discount: a percentage or an amount off, for a time. In the catalog file
// (for the local billing simulator) it names its product and, optionally,
// the plans it applies to; with Stripe the same terms come from Stripe's
// promotion code and its coupon.
type Promotion struct {
	Product string `yaml:"product" json:"product"`
	// Code is what the buyer types; matched without regard to case, kept in
	// capitals.
	Code string `yaml:"code" json:"code"`
	// PercentOff is a whole percentage, 1 to 100; AmountOff is in the minor
	// units of Currency. Exactly one of the two is set.
	PercentOff     int              `yaml:"percent_off,omitempty" json:"percent_off,omitempty"`
	AmountOff      int64            `yaml:"amount_off,omitempty" json:"amount_off,omitempty"`
	Currency       string           `yaml:"currency,omitempty" json:"currency,omitempty"`
	Duration       DiscountDuration `yaml:"duration" json:"duration"`
	DurationMonths int              `yaml:"duration_months,omitempty" json:"duration_months,omitempty"`
	// ExpiresOn is the last day (UTC, "2027-01-31") the code is accepted;
	// empty: no end.
	ExpiresOn string `yaml:"expires_on,omitempty" json:"expires_on,omitempty"`
	// MaxRedemptions caps how many accounts may use the code; 0: no cap.
	MaxRedemptions int `yaml:"max_redemptions,omitempty" json:"max_redemptions,omitempty"`
	// Plans the code applies to (plan keys of Product); empty: every plan.
	Plans []string `yaml:"plans,omitempty" json:"plans,omitempty"`
	// StripeID is Stripe's promotion code id (promo_…) when Stripe resolved
	// the code; never in the catalog file.
	StripeID string `yaml:"-" json:"-"`
}

// NormalizeCode is a typed code as codes are kept: trimmed, in capitals.
func NormalizeCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// Discount is what a promotion takes off one amount.
type Discount struct {
	Code     string
	Subtotal int64 // before the discount, minor units
	Amount   int64 // taken off: 0 ≤ Amount ≤ Subtotal
	Total    int64 // Subtotal − Amount
	Currency string
}

// DiscountOn is what the promotion takes off amount (minor units of
// currency). A percentage is rounded to the nearest minor unit, halves
// up (15% of $0.50 is 7.5 cents → 8 cents), as Stripe rounds; an amount
// off never takes more than the amount, and an amount off in another
// currency takes nothing. Nothing is taken off a zero or negative amount
// (a credit).
func (p Promotion) DiscountOn(amount int64, currency string) Discount {
	d := Discount{Code: p.Code, Subtotal: amount, Total: amount, Currency: currency}
	if amount <= 0 {
		return d
	}
	switch {
	case p.PercentOff > 0:
		// Whole hundreds are exact; only the remainder's share is rounded
		// (half up: (x*2+100)/200), so no amount overflows.
		pct := int64(p.PercentOff)
		d.Amount = amount/100*pct + (amount%100*pct*2+100)/200
	case p.AmountOff > 0 && strings.EqualFold(p.Currency, currency):
		d.Amount = p.AmountOff
	}
	d.Amount = min(d.Amount, amount)
	d.Total = amount - d.Amount
	return d
}

// Expiry is the first instant the code is refused: midnight UTC after
// ExpiresOn. The zero time means it never expires.
func (p Promotion) Expiry() time.Time {
	if p.ExpiresOn == "" {
		return time.Time{}
	}
	day, err := time.Parse(time.DateOnly, p.ExpiresOn)
	if err != nil {
		return time.Time{}
	}
	return day.AddDate(0, 0, 1)
}

// DiscountEnd is when a discount applied at `applied` stops reaching
// invoices: for a repeating one, DurationMonths later; the zero time for
// once (the first invoice ends it) and forever.
func (p Promotion) DiscountEnd(applied time.Time) time.Time {
	if p.Duration == Repeating {
		return applied.AddDate(0, p.DurationMonths, 0)
	}
	return time.Time{}
}

// Terms reads "20% off for 3 months", "$5.00 off once" style words for
// the buyer; money is formatted by the caller's helper.
func (p Promotion) Terms(money func(int64, string) string) string {
	off := fmt.Sprintf("%d%% off", p.PercentOff)
	if p.PercentOff == 0 {
		off = money(p.AmountOff, p.Currency) + " off"
	}
	switch p.Duration {
	case Once:
		return off + " the first invoice"
	case Repeating:
		if p.DurationMonths == 1 {
			return off + " for 1 month"
		}
		return fmt.Sprintf("%s for %d months", off, p.DurationMonths)
	}
	return off + " for as long as the subscription lasts"
}

// PromotionRefusal is why a code cannot be used; its message is for the
// buyer, beside the code field.
type PromotionRefusal struct {
	Reason  string // unknown, expired, exhausted, not_applicable, used
	Message string
}

func (e *PromotionRefusal) Error() string { return e.Message }

// UnknownPromotion is the refusal for a code that names nothing.
func UnknownPromotion(code string) *PromotionRefusal {
	return &PromotionRefusal{Reason: "unknown", Message: fmt.Sprintf("%q is not a promotion code we know: check the spelling", code)}
}

// Usable says whether an account may apply the code now to planKey (named
// planName for the message) with redeemed redemptions counted so far, or
// why not.
func (p Promotion) Usable(now time.Time, planKey, planName string, redeemed int) *PromotionRefusal {
	switch {
	case !p.Expiry().IsZero() && !now.Before(p.Expiry()):
		return &PromotionRefusal{Reason: "expired", Message: fmt.Sprintf("%s expired on %s", p.Code, p.Expiry().AddDate(0, 0, -1).Format("2 Jan 2006"))}
	case p.MaxRedemptions > 0 && redeemed >= p.MaxRedemptions:
		return &PromotionRefusal{Reason: "exhausted", Message: fmt.Sprintf("%s has been used as many times as it may be", p.Code)}
	case len(p.Plans) > 0 && !slices.Contains(p.Plans, planKey):
		return &PromotionRefusal{Reason: "not_applicable", Message: fmt.Sprintf("%s does not apply to %s", p.Code, planName)}
	}
	return nil
}

// FreePlanRefusal refuses any code on a plan that costs nothing: there is
// nothing to discount, and a code with few uses left must not be spent on it.
func FreePlanRefusal(code, planName string) *PromotionRefusal {
	return &PromotionRefusal{Reason: "not_applicable", Message: fmt.Sprintf("%s does not apply to %s: it costs nothing", code, planName)}
}

// promotions checks the catalog's promotion codes and hands each product
// the ones that name it, codes in capitals, sorted by code.
func (v *validator) promotions(entries []Promotion, products []Product) {
	seen := map[string]bool{}
	for i, e := range entries {
		field := fmt.Sprintf("promotions[%d]", i)
		at := Problem{Product: e.Product}
		code := NormalizeCode(e.Code)
		switch {
		case code == "":
			v.add(at, field+".code", "must not be empty")
		case !validCode(code):
			v.add(at, field+".code", "want letters, digits, dashes and underscores only (3 to 40), got %q", e.Code)
		case seen[code]:
			v.add(at, field+".code", "%q is used by another promotion (codes are matched without regard to case)", code)
		}
		seen[code] = true
		var target *Product
		for j := range products {
			if products[j].Key == e.Product {
				target = &products[j]
			}
		}
		if target == nil {
			v.add(at, field+".product", "want a product of the catalog, got %q", e.Product)
		}
		switch {
		case e.PercentOff != 0 && e.AmountOff != 0:
			v.add(at, field, "set percent_off or amount_off, not both")
		case e.PercentOff == 0 && e.AmountOff == 0:
			v.add(at, field, "set percent_off (1 to 100) or amount_off (with currency)")
		case e.PercentOff != 0 && (e.PercentOff < 1 || e.PercentOff > 100):
			v.add(at, field+".percent_off", "want a whole percentage from 1 to 100, got %d", e.PercentOff)
		case e.PercentOff != 0 && e.Currency != "":
			v.add(at, field+".currency", "only an amount off has a currency")
		case e.AmountOff < 0:
			v.add(at, field+".amount_off", "must be positive, got %d", e.AmountOff)
		case e.AmountOff > 0 && !isCurrency(e.Currency):
			v.add(at, field+".currency", `an amount off needs three lowercase letters such as "usd", got %q`, e.Currency)
		}
		switch e.Duration {
		case Once, Forever:
			if e.DurationMonths != 0 {
				v.add(at, field+".duration_months", "only a repeating discount has months, got %d for %s", e.DurationMonths, e.Duration)
			}
		case Repeating:
			if e.DurationMonths < 1 || e.DurationMonths > 36 {
				v.add(at, field+".duration_months", "a repeating discount needs 1 to 36 months, got %d", e.DurationMonths)
			}
		default:
			v.add(at, field+".duration", `want "once", "repeating" or "forever", got %q`, e.Duration)
		}
		if e.ExpiresOn != "" {
			if _, err := time.Parse(time.DateOnly, e.ExpiresOn); err != nil {
				v.add(at, field+".expires_on", "want a date such as 2027-01-31, got %q", e.ExpiresOn)
			}
		}
		if e.MaxRedemptions < 0 {
			v.add(at, field+".max_redemptions", "must not be negative, got %d", e.MaxRedemptions)
		}
		plans := slices.Clone(e.Plans)
		slices.Sort(plans)
		plans = slices.Compact(plans)
		if target != nil {
			for _, k := range plans {
				if _, ok := findPlan(target.Plans, k); !ok {
					v.add(at, field+".plans", "%q is not a plan of product %q", k, target.Key)
				}
			}
		}
		if target == nil {
			continue
		}
		p := e
		p.Code, p.Plans = code, plans
		if len(p.Plans) == 0 {
			p.Plans = nil
		}
		target.Promotions = append(target.Promotions, p)
	}
	for j := range products {
		slices.SortFunc(products[j].Promotions, func(a, b Promotion) int { return strings.Compare(a.Code, b.Code) })
	}
}

func validCode(code string) bool {
	if len(code) < 3 || len(code) > 40 {
		return false
	}
	for _, r := range code {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' && r != '_' {
			return false
		}
	}
	return true
}

// Equal reports whether two promotions have the same terms.
func (p Promotion) Equal(o Promotion) bool {
	return p.Product == o.Product && p.Code == o.Code && p.PercentOff == o.PercentOff && p.AmountOff == o.AmountOff &&
		p.Currency == o.Currency && p.Duration == o.Duration && p.DurationMonths == o.DurationMonths &&
		p.ExpiresOn == o.ExpiresOn && p.MaxRedemptions == o.MaxRedemptions && slices.Equal(p.Plans, o.Plans)
}

// Describe is the promotion's terms in one line, for `catalog diff`:
// "20% off, repeating 3 months, plans business, enterprise, until 2027-01-31, at most 100".
func (p Promotion) Describe() string {
	parts := []string{fmt.Sprintf("%d%% off", p.PercentOff)}
	if p.PercentOff == 0 {
		parts[0] = fmt.Sprintf("%d %s off", p.AmountOff, p.Currency)
	}
	if p.Duration == Repeating {
		parts = append(parts, fmt.Sprintf("repeating %d months", p.DurationMonths))
	} else {
		parts = append(parts, string(p.Duration))
	}
	if len(p.Plans) > 0 {
		parts = append(parts, "plans "+strings.Join(p.Plans, ", "))
	}
	if p.ExpiresOn != "" {
		parts = append(parts, "until "+p.ExpiresOn)
	}
	if p.MaxRedemptions > 0 {
		parts = append(parts, fmt.Sprintf("at most %d", p.MaxRedemptions))
	}
	return strings.Join(parts, ", ")
}

// diffPromotions lists the promotion codes a file adds, changes and
// removes for a product. A code missing from the file is removed (no
// longer accepted; discounts already applied run their course).
func (d *CatalogDiff) diffPromotions(product string, cur, next []Promotion) {
	at := CatalogDiffChange{Product: product}
	for _, np := range next {
		cp, ok := findPromotion(cur, np.Code)
		switch {
		case !ok:
			d.add(with(at, DiffPromotionAdded, np.Code, "", np.Describe()))
		case !cp.Equal(np):
			d.add(with(at, DiffPromotionChanged, np.Code, cp.Describe(), np.Describe()))
		}
	}
	for _, cp := range cur {
		if _, ok := findPromotion(next, cp.Code); !ok {
			d.add(with(at, DiffPromotionRemoved, cp.Code, cp.Describe(), ""))
		}
	}
}

func findPromotion(ps []Promotion, code string) (Promotion, bool) {
	for _, p := range ps {
		if p.Code == code {
			return p, true
		}
	}
	return Promotion{}, false
}
