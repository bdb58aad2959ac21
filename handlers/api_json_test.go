package handlers

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/licensing"
)

func TestCheckJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	limit, remaining := int64(50000), int64(45800)
	status := licensing.PastDue
	asOf := time.Date(2025, 3, 15, 11, 0, 0, 5, time.UTC)
	cases := []apiCheck{
		{Account: "globex", Product: "analytics", Feature: "exports", Kind: licensing.Boolean,
			Decision: licensing.Decision{Reason: licensing.ReasonNotInPlan}, CheckedAt: time.Date(2025, 3, 15, 12, 0, 0, 123456789, time.UTC)},
		{Account: "globex", Product: "analytics", Feature: "api_calls", Kind: licensing.Metered, User: `Zoë "quoted" <x>&\ ` + "\x01\u2028",
			Decision: licensing.Decision{HasAccess: true, Reason: licensing.ReasonPastDueGrace, Limit: &limit, Used: 4200, Remaining: &remaining},
			Plan:     &licensing.PlanRef{Key: "team", Name: "Team \"Plus\"", Version: 3, Rank: 1, SeatBased: true}, Status: &status,
			CheckedAt: time.Date(2025, 3, 15, 12, 0, 0, 0, time.FixedZone("x", 3600))},
		{Account: "globex", Product: "analytics", Feature: "exports", Kind: licensing.Boolean,
			Decision: licensing.Decision{HasAccess: true, Reason: licensing.ReasonOK}, CheckedAt: time.Date(2025, 3, 15, 12, 0, 0, 0, time.UTC),
			Stale: true, AsOf: &asOf},
	}
	for _, c := range cases {
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		got := c.appendJSON(nil)
		var w, g any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("hand-written JSON does not parse: %v\n%s", err, got)
		}
		_ = json.Unmarshal(want, &w)
		if !reflect.DeepEqual(w, g) {
			t.Errorf("hand-written JSON differs:\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzCheckJSON(f *testing.F) {
	f.Add("globex", "alice@globex.test", "Team", int64(5), true)
	f.Add("\x00\"", "\xff\xfe", "<&>", int64(-1), false)
	f.Fuzz(func(t *testing.T, account, user, plan string, n int64, ok bool) {
		c := apiCheck{Account: account, User: user, Feature: "f", Kind: licensing.Limit, Plan: &licensing.PlanRef{Name: plan},
			Decision: licensing.Decision{HasAccess: ok, Limit: &n, Used: n}, CheckedAt: time.Unix(n%1e9, 0).UTC()}
		want, _ := json.Marshal(c)
		var w, g any
		if err := json.Unmarshal(c.appendJSON(nil), &g); err != nil {
			t.Fatalf("does not parse: %v", err)
		}
		_ = json.Unmarshal(want, &w)
		if !reflect.DeepEqual(w, g) {
			t.Fatalf("differs from encoding/json: %s vs %s", c.appendJSON(nil), want)
		}
	})
}
