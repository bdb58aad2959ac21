package licensing

import (
	"reflect"
	"testing"
	"time"
)

// The Checker shares its figures between answers; what it answers is still
// what Evaluate answers, with and without grants (its cost is in
// BenchmarkCheck in sdk/entitle).
func TestCheckerWithSharedFiguresAnswersWhatEvaluateAnswers(t *testing.T) {
	t.Parallel()
	state := teamState()
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	withGrant := teamState()
	withGrant.Products[0].Grants = []Grant{{FeatureKey: "api_calls", Kind: GrantExtraLimit, Amount: 250, ExpiresAt: at.Add(time.Hour)}}
	for name, s := range map[string]AccountState{"plan": state, "plan and grant": withGrant} {
		c := NewChecker(s)
		for _, when := range []time.Time{at, at.Add(2 * time.Hour)} {
			got, err := c.Check("api_calls", "", when)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := s.Products[0].Check("api_calls", SeatNotChecked, when)
			if !reflect.DeepEqual(got.Decision, want) {
				t.Errorf("%s at %v: checker %+v (limit %d, remaining %d), Evaluate %+v", name, when, got.Decision,
					*got.Decision.Limit, *got.Decision.Remaining, want)
			}
		}
	}
}
