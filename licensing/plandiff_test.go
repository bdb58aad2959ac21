package licensing

import (
	"reflect"
	"testing"
)

func TestDiffPlansListsWhatChanges(t *testing.T) {
	t.Parallel()
	n := func(v int64) *int64 { return &v }
	features := []Feature{{Key: "exports", Kind: Boolean}, {Key: "sso", Kind: Boolean}, {Key: "api", Kind: Metered, Period: Monthly},
		{Key: "projects", Kind: Limit}, {Key: "seats_log", Kind: Limit}, {Key: "same", Kind: Limit}}
	business := map[string]PlanValue{"exports": {Enabled: true}, "api": {Enabled: true, Limit: n(250000)},
		"projects": {Enabled: true}, "seats_log": {Enabled: true, Limit: n(5)}, "same": {Enabled: true, Limit: n(7)}}
	team := map[string]PlanValue{"sso": {Enabled: true}, "api": {Enabled: true, Limit: n(50000)},
		"projects": {Enabled: true, Limit: n(20)}, "same": {Enabled: true, Limit: n(7)}}
	var got []string
	for _, c := range DiffPlans(features, business, team) {
		got = append(got, c.Feature.Key+":"+string(c.Kind))
	}
	want := []string{"exports:lost", "sso:gained", "api:limit_down", "projects:limit_down", "seats_log:lost"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("business → team = %v, want %v", got, want)
	}
	var back []string
	for _, c := range DiffPlans(features, team, business) {
		if c.Loses() {
			back = append(back, c.Feature.Key)
		}
	}
	if !reflect.DeepEqual(back, []string{"sso"}) {
		t.Fatalf("team → business loses %v, want only sso", back)
	}
	if SeatsToFree(7, 5) != 2 || SeatsToFree(3, 5) != 0 {
		t.Fatal("SeatsToFree")
	}
}
