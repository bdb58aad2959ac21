package store

import (
	"context"
	"time"

	"github.com/entitle-dev/entitle/licensing"
)

// LeasePoolUsage is one concurrent feature of an account: its pool now and
// its use day by day, for sizing the pool.
type LeasePoolUsage struct {
	Feature string
	Name    string
	Pool    *int64 // nil: unlimited
	InUse   int
	Offered bool       // the plan (or a grant) gives the feature
	Days    []LeaseDay // oldest first
}

// LeaseDay is one UTC day of a pool's use.
type LeaseDay struct {
	Day     time.Time
	Peak    int // most leases held at the same moment
	Denials int // checkouts refused because the pool was full
}

const (
	leaseSpansSQL = `
SELECT f.key, l.checked_out_at, coalesce(l.released_at, l.expires_at) AS ended
FROM lease l JOIN feature f ON f.id = l.feature_id
WHERE l.account_id = $1 AND l.checked_out_at <= $3 AND coalesce(l.released_at, l.expires_at) > $2`
	leaseDenialsSQL = `
SELECT f.key, d.day, d.denials FROM lease_denial d JOIN feature f ON f.id = d.feature_id
WHERE d.account_id = $1 AND d.day >= $2::date`
)

// LeaseUsage is the account's floating licence pools with their peak use
// and denials over the last days days (today included). The pools' sizes
// come from checker (the check path's cached state) when one is given, so
// that a page does not read every seat holder of the account to size a
// pool; nil reads the state from the database.
func (s *Store) LeaseUsage(ctx context.Context, accountID int64, days int, checker *licensing.Checker) ([]LeasePoolUsage, error) {
	if checker == nil {
		state, err := s.AccountState(ctx, accountID)
		if err != nil {
			return nil, err
		}
		checker = licensing.NewChecker(state)
	}
	state := checker.State()
	now := s.Now()
	from := licensing.PeriodStart(licensing.Daily, now).AddDate(0, 0, -(days - 1))
	var spans []struct {
		Feature string    `db:"key"`
		Start   time.Time `db:"checked_out_at"`
		End     time.Time `db:"ended"`
	}
	if err := s.selectPrepared(ctx, &spans, leaseSpansSQL, accountID, from, now); err != nil {
		return nil, err
	}
	var denials []struct {
		Feature string    `db:"key"`
		Day     time.Time `db:"day"`
		Denials int       `db:"denials"`
	}
	if err := s.selectPrepared(ctx, &denials, leaseDenialsSQL, accountID, from.Format(time.DateOnly)); err != nil {
		return nil, err
	}
	var out []LeasePoolUsage
	for _, p := range state.Products {
		for _, f := range p.Features {
			if f.Kind != licensing.Concurrent {
				continue
			}
			d, _ := p.Check(f.Key, licensing.SeatNotChecked, now)
			u := LeasePoolUsage{Feature: f.Key, Name: f.Name, Pool: d.Limit, Offered: d.Reason != licensing.ReasonNotInPlan}
			var fs []licensing.LeaseSpan
			for _, sp := range spans {
				if sp.Feature == f.Key {
					fs = append(fs, licensing.LeaseSpan{Start: sp.Start, End: sp.End})
					if sp.End.After(now) {
						u.InUse++
					}
				}
			}
			for i, peak := range licensing.PeakPerDay(fs, from, now) {
				day := LeaseDay{Day: from.AddDate(0, 0, i), Peak: peak}
				for _, dn := range denials {
					if dn.Feature == f.Key && dn.Day.UTC().Equal(day.Day) {
						day.Denials = dn.Denials
					}
				}
				u.Days = append(u.Days, day)
			}
			out = append(out, u)
		}
	}
	return out, nil
}
