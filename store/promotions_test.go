package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// Two redemptions at once of a code with one left: one wins, the other is
// told the code is used up; and the same account redeeming twice at once
// (a double click) counts once.
func TestTheLastRedemptionGoesToOneAccountOnly(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	file := strings.Replace(string(store.DemoCatalog()), "promotions:\n",
		"promotions:\n  - {product: analytics, code: LAST1, percent_off: 50, duration: once, max_redemptions: 1}\n", 1)
	if _, err := applyYAML(t, s, file); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, slug := range []string{"globex", "initech", "umbrella", "umbrella"} {
		a, err := s.AccountBySlug(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	race := func(accounts []int64, code string) []error {
		errs := make([]error, len(accounts))
		var wg sync.WaitGroup
		for i, id := range accounts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.RedeemPromotion(ctx, store.Redemption{Actor: store.SystemActor("test"), AccountID: id,
					Code: code, PlanKey: "business", PlanName: "Business", Target: "upgrade"})
			}()
		}
		wg.Wait()
		return errs
	}
	reasons := func(errs []error) map[string]int {
		out := map[string]int{}
		for _, err := range errs {
			var r *licensing.PromotionRefusal
			switch {
			case err == nil:
				out["ok"]++
			case errors.As(err, &r):
				out[r.Reason]++
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
		return out
	}
	if got := reasons(race(ids[:2], "last1")); got["ok"] != 1 || got["exhausted"] != 1 {
		t.Errorf("two accounts for the last redemption: %v", got)
	}
	if got := reasons(race(ids[2:], "LAUNCH20")); got["ok"] != 1 || got["used"] != 1 {
		t.Errorf("one account twice at once: %v", got)
	}
	var counts []int
	s.DB().Select(&counts, `SELECT times_redeemed FROM promotion WHERE code IN ('LAST1', 'LAUNCH20') ORDER BY code`)
	var audits int
	s.DB().Get(&audits, `SELECT count(*) FROM audit_entry WHERE action = 'billing.promotion_redeem'`)
	if len(counts) != 2 || counts[0] != 1 || counts[1] != 1 || audits != 2 {
		t.Errorf("counts %v (LAST1, LAUNCH20), %d audit entries; want 1, 1 and 2", counts, audits)
	}
}

// Removing a code from the file stops it being accepted; its redemptions
// stay. Export then apply changes nothing.
func TestACodeRemovedFromTheCatalogIsNoLongerAccepted(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	if _, _, err := s.Promotion(ctx, "launch20"); err != nil {
		t.Fatalf("the demo code: %v", err)
	}
	without := strings.Replace(string(store.DemoCatalog()), "    code: LAUNCH20\n", "    code: LATER20\n", 1)
	if _, err := applyYAML(t, s, without); err != nil {
		t.Fatal(err)
	}
	var r *licensing.PromotionRefusal
	if _, _, err := s.Promotion(ctx, "LAUNCH20"); !errors.As(err, &r) || r.Reason != "unknown" {
		t.Errorf("a removed code: %v", err)
	}
	stored, err := s.StoredCatalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p := stored.Products[0].Promotions; len(p) != 1 || p[0].Code != "LATER20" {
		t.Errorf("stored promotions %+v", p)
	}
	var actions []string
	s.DB().Select(&actions, `SELECT action || ' ' || target_id FROM audit_entry WHERE target_type = 'promotion' ORDER BY id`)
	if strings.Join(actions, "; ") != "catalog.promotion_added LAUNCH20; catalog.promotion_added LATER20; catalog.promotion_removed LAUNCH20" {
		t.Errorf("audit %v", actions)
	}
}
