package licensing

// UsageAlertThresholds are the shares of a limit (in percent) at which an
// account's admins and the vendor are told that usage is running out.
var UsageAlertThresholds = []int{80, 100}

// ThresholdsCrossed lists the thresholds that usage crossed going from
// before to after (both in the same period) under limit: each threshold is
// crossed once per period, by the report that reaches it. Without a
// positive limit nothing is crossed.
func ThresholdsCrossed(limit, before, after int64) []int {
	if limit <= 0 || after <= before {
		return nil
	}
	var out []int
	for _, pct := range UsageAlertThresholds {
		// used/limit >= pct/100, in integers: used*100 >= pct*limit.
		at := func(used int64) bool { return used >= (int64(pct)*limit+99)/100 }
		if !at(before) && at(after) {
			out = append(out, pct)
		}
	}
	return out
}

// TrialAlertDays is how many days before a trial ends the account is told.
const TrialAlertDays = 3
