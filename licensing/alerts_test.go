package licensing

import (
	"slices"
	"testing"
)

func TestThresholdsCrossedOncePerThreshold(t *testing.T) {
	for _, c := range []struct {
		limit, before, after int64
		want                 []int
	}{
		{1000, 0, 799, nil},
		{1000, 0, 800, []int{80}},
		{1000, 799, 1000, []int{80, 100}},
		{1000, 800, 999, nil},
		{1000, 900, 1000, []int{100}},
		{1000, 1000, 1200, nil},
		{10, 7, 8, []int{80}},
		{3, 2, 3, []int{80, 100}}, // 80% of 3 is 2.4: reached at 3
		{0, 0, 5, nil},
		{1000, 500, 500, nil},
	} {
		if got := ThresholdsCrossed(c.limit, c.before, c.after); !slices.Equal(got, c.want) {
			t.Errorf("limit %d, %d → %d: %v, want %v", c.limit, c.before, c.after, got, c.want)
		}
	}
}
