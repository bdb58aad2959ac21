package licensing

import (
	"errors"
	"fmt"
	"time"
)

// UsageRefusedError says why a usage report was not recorded: the decision
// at the time of the report, whose Reason is limit_reached when the report
// would go past the limit.
type UsageRefusedError struct {
	Feature  string
	Quantity int64
	Decision Decision
}

func (e *UsageRefusedError) Error() string {
	return fmt.Sprintf("usage of %d %s refused: %s", e.Quantity, e.Feature, e.Decision.Reason)
}

// ErrNotMetered: usage can only be reported for limit and metered features.
var ErrNotMetered = errors.New("usage is only recorded for limit and metered features")

// AdmitUsage decides whether quantity more of a limit or metered feature may
// be recorded at now. Limits are hard: the report is refused (with reason
// limit_reached) when it would take usage past the limit, and any other
// denial (not in plan, suspended, ...) refuses it too. On success it returns
// the decision as it stands after the report. The access rules are
// Evaluate's; this adds only "the whole quantity must fit".
func AdmitUsage(p ProductState, featureKey string, quantity int64, now time.Time) (Decision, error) {
	f, ok := p.Feature(featureKey)
	if !ok {
		return Decision{}, ErrUnknownFeature
	}
	if f.Kind != Limit && f.Kind != Metered {
		return Decision{}, ErrNotMetered
	}
	in := p.input(f, SeatNotChecked, now)
	d := Evaluate(in)
	if !d.HasAccess {
		return Decision{}, &UsageRefusedError{Feature: featureKey, Quantity: quantity, Decision: d}
	}
	if d.Limit != nil && quantity > *d.Remaining {
		d.HasAccess, d.Reason = false, ReasonLimitReached
		return Decision{}, &UsageRefusedError{Feature: featureKey, Quantity: quantity, Decision: d}
	}
	in.Used = addSat(max(in.Used, 0), quantity)
	return Evaluate(in), nil
}
