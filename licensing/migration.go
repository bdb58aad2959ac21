package licensing

import (
	"fmt"
	"time"
)

// MigrationTiming is when subscribers move to another plan version: at a
// fixed time, or at a period end, with Notice between the mail to the
// owners and the move.
type MigrationTiming struct {
	At     time.Time // zero: at a period end
	Notice time.Duration
}

// EffectiveAt is when one subscriber moves, given its current period end
// and now: the fixed time, or the first period end (monthly from
// periodEnd) that leaves the whole notice. A fixed time too close for the
// notice is refused rather than moved: the vendor chose that date.
func (m MigrationTiming) EffectiveAt(periodEnd, now time.Time) (time.Time, error) {
	if !m.At.IsZero() {
		if m.At.Add(-m.Notice).Before(now) {
			return time.Time{}, fmt.Errorf("%s leaves less than %s of notice", m.At.UTC().Format("2006-01-02"), noticeText(m.Notice))
		}
		return m.At, nil
	}
	if periodEnd.IsZero() {
		return time.Time{}, fmt.Errorf("the subscription has no period end")
	}
	at := periodEnd
	for i := 1; at.Add(-m.Notice).Before(now); i++ {
		at = addMonths(periodEnd, i) // from the first end each time, so 31 Jan → 28 Feb → 31 Mar
	}
	return at, nil
}

// NoticeAt is when the owners are told of a move effective at.
func (m MigrationTiming) NoticeAt(effective time.Time) time.Time { return effective.Add(-m.Notice) }

func noticeText(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	if days == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", days)
}

// addMonths adds n months, keeping the day of the month where the month
// has it and the month's last day where it does not (as a monthly billing
// anchor does): 31 January plus one month is 28 February, not 3 March.
func addMonths(t time.Time, n int) time.Time {
	first := time.Date(t.Year(), t.Month()+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(t.Day(), last)-1)
}
