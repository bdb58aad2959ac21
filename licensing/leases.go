package licensing

import (
	"cmp"
	"slices"
	"time"
)

// LeaseSpan is the time a lease held a slot: from checkout until it was
// checked in, released or expired (End is when it stopped holding one).
type LeaseSpan struct {
	Start, End time.Time
}

// PeakPerDay is the most leases held at the same moment on each UTC day
// from the day of from to the day of to (inclusive), oldest first: the
// figure that tells a customer whether the pool is the right size. A lease
// held across midnight counts on both days.
func PeakPerDay(spans []LeaseSpan, from, to time.Time) []int {
	first := PeriodStart(Daily, from)
	days := int(PeriodStart(Daily, to).Sub(first)/(24*time.Hour)) + 1
	if days <= 0 {
		return nil
	}
	type event struct {
		at    time.Time
		delta int
	}
	events := make([]event, 0, 2*len(spans))
	for _, s := range spans {
		if !s.End.After(s.Start) {
			continue
		}
		events = append(events, event{s.Start, +1}, event{s.End, -1})
	}
	// Ends before starts at the same instant: a slot handed straight from
	// one lease to the next is one slot, not two.
	slices.SortFunc(events, func(a, b event) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.delta, b.delta)) })
	peaks := make([]int, days)
	held := 0
	day := func(t time.Time) int { return int(t.Sub(first) / (24 * time.Hour)) }
	last := 0 // the day up to which peaks hold the running count
	for _, e := range events {
		d := day(e.at)
		// The count held going into this event's day (and through any day
		// without an event before it) is that day's floor.
		for ; last <= d && last < days; last++ {
			if last >= 0 {
				peaks[last] = max(peaks[last], held)
			}
		}
		held += e.delta
		if d >= 0 && d < days {
			peaks[d] = max(peaks[d], held)
		}
	}
	for ; last < days; last++ {
		if last >= 0 {
			peaks[last] = max(peaks[last], held)
		}
	}
	return peaks
}
