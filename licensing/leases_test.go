package licensing

import (
	"slices"
	"testing"
	"time"
)

func TestPeakPerDayCountsLeasesHeldAtTheSameMoment(t *testing.T) {
	t.Parallel()
	d := func(day, hour int) time.Time { return time.Date(2026, 5, day, hour, 0, 0, 0, time.UTC) }
	spans := []LeaseSpan{
		{d(1, 9), d(1, 12)},
		{d(1, 10), d(1, 11)},
		{d(1, 12), d(1, 13)}, // takes the slot the first hands back: still 2 at most
		{d(1, 22), d(3, 2)},  // across two midnights: held all of day 2
		{d(2, 8), d(2, 8)},   // empty: ignored
		{d(4, 10), d(4, 11)}, // before the window's end only
		{d(9, 1), d(9, 2)},   // after the window
	}
	got := PeakPerDay(spans, d(1, 0), d(4, 23))
	if want := []int{2, 1, 1, 1}; !slices.Equal(got, want) {
		t.Fatalf("peaks = %v, want %v", got, want)
	}
	if got := PeakPerDay(nil, d(1, 0), d(2, 0)); !slices.Equal(got, []int{0, 0}) {
		t.Fatalf("no leases: %v", got)
	}
	// A lease from before the window still held in it counts.
	if got := PeakPerDay([]LeaseSpan{{d(1, 1), d(3, 5)}}, d(2, 0), d(3, 0)); !slices.Equal(got, []int{1, 1}) {
		t.Fatalf("held from before the window: %v", got)
	}
}
