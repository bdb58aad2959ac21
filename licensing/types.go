package licensing

import "time"

// FeatureKind says how a feature's value is read.
type FeatureKind string

const (
	// Boolean features are on or off.
	Boolean FeatureKind = "boolean"
	// Limit features cap a count the vendor's application reports (projects, say).
	Limit FeatureKind = "limit"
	// Metered features cap usage summed over a period (api calls per month).
	Metered FeatureKind = "metered"
)

// Period is the window over which metered usage is summed.
type Period string

const (
	Daily   Period = "day"
	Monthly Period = "month"
	Yearly  Period = "year"
)

// Status is a subscription's lifecycle state (DESIGN.md, "Subscription lifecycle").
type Status string

const (
	Trialing  Status = "trialing"
	Active    Status = "active"
	PastDue   Status = "past_due"
	Suspended Status = "suspended"
	Canceled  Status = "canceled"
)

// Ending tells whether a subscription in status s, set to cancel at period
// end, is still running toward that end (until a buyer resumes it): the
// pages say it ends and sell no more seats for it.
func (s Status) Ending(cancelAtPeriodEnd bool) bool { return cancelAtPeriodEnd && s != Canceled }

// Reason is the stable string that explains a Decision. Vendors' applications
// switch on these, so they never change meaning.
type Reason string

const (
	ReasonOK           Reason = "ok"
	ReasonNotInPlan    Reason = "not_in_plan"
	ReasonNoSeat       Reason = "no_seat"
	ReasonLimitReached Reason = "limit_reached"
	ReasonTrialExpired Reason = "trial_expired"
	ReasonPastDueGrace Reason = "past_due_grace"
	ReasonSuspended    Reason = "suspended"
	ReasonCanceled     Reason = "canceled"
)

// DefaultGracePeriod is how long a past-due subscription keeps access.
const DefaultGracePeriod = 7 * 24 * time.Hour

// Feature is one capability of a product.
type Feature struct {
	Key    string      `yaml:"key" json:"key"`
	Name   string      `yaml:"name" json:"name"`
	Kind   FeatureKind `yaml:"kind" json:"kind"`
	Period Period      `yaml:"period,omitempty" json:"period,omitempty"` // metered only
	// Regions limits the countries the feature may be used in (nil:
	// everywhere). It is a rule, not part of any plan version: changing it
	// reaches every subscriber at once.
	Regions *Regions `yaml:"regions,omitempty" json:"regions,omitempty"`
	// LeaseTTLSeconds is how long a lease of a concurrent feature lives
	// without a heartbeat (0: DefaultLeaseTTL).
	LeaseTTLSeconds int `yaml:"lease_ttl_seconds,omitempty" json:"lease_ttl_seconds,omitempty"`
	// Per says what a machines feature's limit counts: machines per seat
	// holder ("seat") or for the whole account ("account").
	Per MachinesPer `yaml:"per,omitempty" json:"per,omitempty"`
	// Heartbeat is how often a machine of a machines feature must be heard
	// from ("10m"; empty: never required) and OnDead what becomes of one
	// that is not (DeadMachinePolicy; default keep).
	Heartbeat string            `yaml:"heartbeat,omitempty" json:"heartbeat,omitempty"`
	OnDead    DeadMachinePolicy `yaml:"on_dead,omitempty" json:"on_dead,omitempty"`
}

// PlanValue is a plan's value for one feature. For a boolean feature only
// Enabled matters. For limit and metered features Enabled is true when the
// plan includes the feature at all, and Limit is nil for "unlimited".
type PlanValue struct {
	Enabled bool   `json:"enabled"`
	Limit   *int64 `json:"limit,omitempty"`
}

// GrantKind says what a vendor-made override changes.
type GrantKind string

const (
	GrantFeature    GrantKind = "feature"     // switches a feature on (or off, Enabled=false)
	GrantExtraLimit GrantKind = "extra_limit" // adds Amount to a limit or metered feature
	GrantExtraSeats GrantKind = "extra_seats" // adds Amount seats to the pool
)

// Grant is a vendor-made override on an account, valid until ExpiresAt
// (zero means no expiry).
type Grant struct {
	Kind       GrantKind `json:"kind"`
	FeatureKey string    `json:"feature,omitempty"`
	Enabled    bool      `json:"enabled,omitempty"`
	Amount     int64     `json:"amount,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	ExpiresAt  time.Time `json:"expires_at,omitempty"`
}

// Active reports whether the grant applies at now.
func (g Grant) Active(now time.Time) bool {
	return g.ExpiresAt.IsZero() || now.Before(g.ExpiresAt)
}

// SubscriptionState is what evaluation needs to know of a subscription.
type SubscriptionState struct {
	Status       Status    `json:"status"`
	SeatBased    bool      `json:"seat_based"`
	TrialEndsAt  time.Time `json:"trial_ends_at,omitempty"`
	PastDueSince time.Time `json:"past_due_since,omitempty"`
	// GracePeriod overrides DefaultGracePeriod when positive.
	GracePeriod time.Duration `json:"grace_period,omitempty"`
}

// SeatCheck says whether the check names a user, and if so whether that user
// holds a seat of the subscription.
type SeatCheck int

const (
	SeatNotChecked SeatCheck = iota // an account-level check: seats are not considered
	SeatHeld
	SeatNotHeld
)

// Input is everything the evaluation function reads. It is a plain value so
// that the portal, the API and the offline verifier build it the same way.
type Input struct {
	Feature      Feature
	Plan         *PlanValue // nil when the plan does not list the feature
	AddOns       []HeldAddOn
	Grants       []Grant
	Subscription *SubscriptionState // nil when the account has no subscription
	Seat         SeatCheck
	Used         int64 // usage so far in the current period (limit and metered)
	Now          time.Time
	// Country is the account's ISO 3166-1 alpha-2 code ("" unknown) and
	// Regions the plan's and the export controls' rules it is held to.
	Country string
	Regions RegionRules
}

// Decision is the answer to "may this account (and user) use this feature".
// Limit and Remaining are nil when the feature has no limit.
type Decision struct {
	HasAccess bool   `json:"has_access"`
	Reason    Reason `json:"reason"`
	Limit     *int64 `json:"limit"`
	Used      int64  `json:"used"`
	Remaining *int64 `json:"remaining"`
}

// Clock tells the time. Everything that depends on "now" (trials, grace
// periods, expiries, the billing simulator) reads a Clock so that tests can
// move time instead of sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }
