package licensing

import (
	"strings"
	"testing"
	"time"
)

func TestDiscountOnRoundsHalfUpAndNeverTakesMoreThanTheAmount(t *testing.T) {
	t.Parallel()
	pct := func(n int) Promotion { return Promotion{Code: "P", PercentOff: n, Duration: Once} }
	off := func(n int64, cur string) Promotion {
		return Promotion{Code: "A", AmountOff: n, Currency: cur, Duration: Once}
	}
	cases := []struct {
		name      string
		p         Promotion
		amount    int64
		currency  string
		wantOff   int64
		wantTotal int64
	}{
		{"20% of $29.00", pct(20), 2900, "usd", 580, 2320},
		{"15% of 50 cents is 7.5, rounded up", pct(15), 50, "usd", 8, 42},
		{"15% of 49 cents is 7.35, rounded down", pct(15), 49, "usd", 7, 42},
		{"33% of 1 cent is 0.33, rounded down", pct(33), 1, "usd", 0, 1},
		{"50% of 1 cent is 0.5, rounded up", pct(50), 1, "usd", 1, 0},
		{"100% takes everything", pct(100), 12345, "usd", 12345, 0},
		{"nothing off nothing", pct(20), 0, "usd", 0, 0},
		{"nothing off a credit", pct(20), -500, "usd", 0, -500},
		{"$5 off $29", off(500, "usd"), 2900, "usd", 500, 2400},
		{"$50 off $29 takes $29 only", off(5000, "usd"), 2900, "usd", 2900, 0},
		{"an amount in another currency takes nothing", off(500, "eur"), 2900, "usd", 0, 2900},
		{"currency matched without regard to case", off(500, "usd"), 2900, "USD", 500, 2400},
		{"large amounts do not overflow", pct(99), 90_000_000_000_000_000, "usd", 89_100_000_000_000_000, 900_000_000_000_000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.p.DiscountOn(c.amount, c.currency)
			if d.Amount != c.wantOff || d.Total != c.wantTotal || d.Subtotal != c.amount || d.Subtotal-d.Amount != d.Total {
				t.Fatalf("%+v, want %d off, %d total", d, c.wantOff, c.wantTotal)
			}
		})
	}
}

func TestUsableSaysWhyACodeIsRefused(t *testing.T) {
	t.Parallel()
	p := Promotion{Code: "LAUNCH20", PercentOff: 20, Duration: Repeating, DurationMonths: 3, ExpiresOn: "2027-01-31",
		MaxRedemptions: 2, Plans: []string{"business", "enterprise"}}
	day := func(s string) time.Time { d, _ := time.Parse(time.RFC3339, s); return d }
	cases := []struct {
		name     string
		now      time.Time
		plan     string
		redeemed int
		want     string
	}{
		{"on the last day", day("2027-01-31T23:59:59Z"), "business", 1, ""},
		{"the day after", day("2027-02-01T00:00:00Z"), "business", 0, "expired"},
		{"used up", day("2027-01-01T00:00:00Z"), "business", 2, "exhausted"},
		{"another plan", day("2027-01-01T00:00:00Z"), "team", 0, "not_applicable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := p.Usable(c.now, c.plan, "Team", c.redeemed)
			switch {
			case c.want == "" && r != nil:
				t.Fatalf("refused: %v", r)
			case c.want != "" && (r == nil || r.Reason != c.want):
				t.Fatalf("got %+v, want %s", r, c.want)
			}
		})
	}
	if r := p.Usable(day("2027-02-01T00:00:00Z"), "business", "Business", 0); r.Message != "LAUNCH20 expired on 31 Jan 2027" {
		t.Errorf("message %q", r.Message)
	}
	if got := p.DiscountEnd(day("2026-11-30T10:00:00Z")); !got.Equal(day("2027-03-02T10:00:00Z")) {
		t.Errorf("3 months after 30 Nov: %v", got) // Go's AddDate normalizes 30 Feb to 2 Mar
	}
}

func TestPromotionsAreValidatedWithTheWholeCatalog(t *testing.T) {
	t.Parallel()
	c := demoCatalog()
	c.Promotions = []Promotion{
		{Product: "analytics", Code: " launch20 ", PercentOff: 20, Duration: Repeating, DurationMonths: 3, Plans: []string{"team", "business", "team"}},
		{Product: "analytics", Code: "LAUNCH20", AmountOff: 500, Currency: "usd", Duration: Once},
		{Product: "nope", Code: "X!", PercentOff: 120, Duration: "weekly"},
		{Product: "analytics", Code: "BOTH", PercentOff: 10, AmountOff: 100, Duration: Forever, DurationMonths: 2},
		{Product: "analytics", Code: "NOCUR", AmountOff: 100, Duration: Once, ExpiresOn: "31/01/2027", MaxRedemptions: -1, Plans: []string{"gold"}},
		{Product: "analytics", Code: "REPEAT", PercentOff: 10, Duration: Repeating},
	}
	c.Products[0].Plans[0].Rank = 10 // and a plan problem, reported in the same pass
	_, err := c.Validate()
	ve, ok := err.(*ValidationError)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	var got []string
	for _, p := range ve.Problems {
		got = append(got, p.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`field "rank": rank 10 is also used`,
		`field "promotions[1].code": "LAUNCH20" is used by another promotion`,
		`field "promotions[2].code": want letters, digits, dashes and underscores only`,
		`field "promotions[2].product": want a product of the catalog, got "nope"`,
		`field "promotions[2].percent_off": want a whole percentage from 1 to 100, got 120`,
		`field "promotions[2].duration": want "once", "repeating" or "forever", got "weekly"`,
		`field "promotions[3]": set percent_off or amount_off, not both`,
		`field "promotions[3].duration_months": only a repeating discount has months`,
		`field "promotions[4].currency": an amount off needs three lowercase letters`,
		`field "promotions[4].expires_on": want a date such as 2027-01-31, got "31/01/2027"`,
		`field "promotions[4].max_redemptions": must not be negative`,
		`field "promotions[4].plans": "gold" is not a plan of product "analytics"`,
		`field "promotions[5].duration_months": a repeating discount needs 1 to 36 months, got 0`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing problem %s\nin:\n%s", want, all)
		}
	}
	if len(got) != 13 {
		t.Errorf("%d problems, want 13:\n%s", len(got), all)
	}

	c = demoCatalog()
	c.Promotions = []Promotion{{Product: "analytics", Code: " launch20 ", PercentOff: 20, Duration: Repeating, DurationMonths: 3,
		Plans: []string{"team", "business", "team"}}}
	products, err := c.Validate()
	if err != nil {
		t.Fatal(err)
	}
	p := products[0].Promotions
	if len(p) != 1 || p[0].Code != "LAUNCH20" || strings.Join(p[0].Plans, ",") != "business,team" {
		t.Fatalf("validated: %+v", p)
	}
	// Export writes them back; validating the export gives the same.
	again, err := CatalogOf(products).Validate()
	if err != nil || len(again[0].Promotions) != 1 || !again[0].Promotions[0].Equal(p[0]) {
		t.Fatalf("export then validate: %+v %v", again, err)
	}
}

func TestDiffListsPromotionsAddedChangedAndRemoved(t *testing.T) {
	t.Parallel()
	launch := Promotion{Product: "analytics", Code: "LAUNCH20", PercentOff: 20, Duration: Repeating, DurationMonths: 3}
	old := Promotion{Product: "analytics", Code: "OLD", AmountOff: 500, Currency: "usd", Duration: Once}
	base := diffBase()
	base.Promotions = []Promotion{old, {Product: "analytics", Code: "SPRING", PercentOff: 10, Duration: Forever}}
	stored := storedFrom(t, base)
	next := diffBase()
	next.Promotions = []Promotion{launch, {Product: "analytics", Code: "SPRING", PercentOff: 15, Duration: Forever, ExpiresOn: "2027-06-30"}}
	products, err := next.Validate()
	if err != nil {
		t.Fatal(err)
	}
	d := DiffCatalog(stored, products)
	if !d.Changed() {
		t.Fatal("no change")
	}
	want := []CatalogDiffChange{
		{Product: "analytics", Kind: DiffPromotionAdded, Field: "LAUNCH20", To: "20% off, repeating 3 months"},
		{Product: "analytics", Kind: DiffPromotionChanged, Field: "SPRING", From: "10% off, forever", To: "15% off, forever, until 2027-06-30"},
		{Product: "analytics", Kind: DiffPromotionRemoved, Field: "OLD", From: "500 usd off, once"},
	}
	if len(d.Changes) != len(want) {
		t.Fatalf("changes %+v", d.Changes)
	}
	for i, w := range want {
		if g := d.Changes[i]; g.Kind != w.Kind || g.Field != w.Field || g.From != w.From || g.To != w.To {
			t.Errorf("change %d = %+v, want %+v", i, g, w)
		}
	}
}
