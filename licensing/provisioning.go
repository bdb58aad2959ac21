package licensing

import "time"

// This file holds the vocabulary of provisioning (DESIGN.md, "Provisioning"):
// what an identity provider tells us about people, the rules an admin writes
// in /settings/provisioning, and the desired state Provision derives from them.
// The function itself is in provisioning_allocate.go, the reconciler's diff in
// provisioning_diff.go.

// Person is one membership of the account as provisioning sees it. People
// must list every membership of the account that holds a seat, waits for one,
// or is provisioned: a seat held by a membership that is not listed is
// revoked as held by an unknown membership.
type Person struct {
	MembershipID int64
	// Active is false once the identity provider deactivated the person
	// (SCIM active: false) or deleted them (SCIM DELETE), and for a
	// deactivated membership. An inactive person holds no seat at all.
	Active bool
	// Provisioned is true when the identity provider manages the membership
	// (membership source scim). Only provisioned people are governed by the
	// rules: they get rule seats, roles and the unmatched policy. Everyone
	// else keeps the seats an admin gave by hand and the role they have.
	Provisioned bool
	// DefaultRole is the role an admitted provisioned person gets when no
	// rule sets one; empty means RoleMember. Single sign-on sets it for the
	// people it creates just in time (the account's chosen role).
	DefaultRole string
	Groups      []GroupMembership
}

// GroupMembership says a person is in an identity-provider group, since when.
type GroupMembership struct {
	GroupID int64
	Since   time.Time
}

// Rule is one line of /settings/provisioning: members of the group get the
// role and a seat of the product.
type Rule struct {
	ID      int64
	GroupID int64
	// Role is the membership role the rule sets; empty for a seat-only rule.
	Role string
	// Product is the product key of the seat; empty for a role-only rule.
	Product string
	// Priority orders rules: a LOWER number is a HIGHER priority (1 beats 2).
	// Rules of equal priority are ordered by ID.
	Priority int
}

// Pool is the seat count of one product's subscription: purchased seats plus
// active vendor grants (EffectiveSeats). A product with held seats but no pool
// is treated as a pool of zero seats without a waiting list.
type Pool struct {
	Product string
	Seats   int
}

// SeatSource says who gave a seat.
type SeatSource string

const (
	// SourceManual seats were given by hand; the rules keep them for as long
	// as the person is active.
	SourceManual SeatSource = "manual"
	// SourceRule seats were given by the rule RuleID; the rules take them
	// back when the person no longer qualifies or the pool is too small.
	SourceRule SeatSource = "rule"
)

// Seat is one seat assignment: held now (input) or desired (output).
type Seat struct {
	MembershipID int64
	Product      string
	Source       SeatSource
	RuleID       int64 // the rule that gave the seat; 0 for manual seats
	// Pinned seats were pinned by an admin: the rules never take them from an
	// active person, and they count against the pool before anything else.
	Pinned bool
}

// UnmatchedPolicy says what happens to a provisioned person who matches no rule.
type UnmatchedPolicy string

const (
	// UnmatchedMember admits them as a member without a seat. The zero
	// value means the same: a blank or unknown setting must not make the
	// reconciler dismiss people (Valid lets the settings page refuse it).
	UnmatchedMember UnmatchedPolicy = "member"
	// UnmatchedDeny does not admit them (unless an admin gave them a seat by hand).
	UnmatchedDeny UnmatchedPolicy = "deny"
)

// Valid reports whether p is a policy an admin may save.
func (p UnmatchedPolicy) Valid() bool { return p == UnmatchedMember || p == UnmatchedDeny }

// RoleMember is the role of an admitted provisioned person no rule gives a role.
const RoleMember = "member"

// ProvisioningInput is everything Provision reads: one account's snapshot.
// The order of every slice is irrelevant.
type ProvisioningInput struct {
	People    []Person
	Rules     []Rule
	Pools     []Pool
	Held      []Seat // the seat assignments as they are now
	Unmatched UnmatchedPolicy
}

// Waiting is a person a rule entitles to a seat that no free seat is left for.
// The list of a product is served in Position order (1 first) the moment a
// seat frees up or more seats are bought. Reason says why when the entry was
// decided (a displaced holder, or no seat free); Diff does not compare it.
type Waiting struct {
	MembershipID int64
	Product      string
	RuleID       int64 // the best rule that entitles the person
	Position     int   // 1-based place in the product's queue
	Reason       string
}

// Revocation is a held seat the desired state drops, with its cause.
type Revocation struct {
	Seat  Seat
	Cause string
}

// Admission is the desired standing of a provisioned person.
type Admission struct {
	Admitted bool
	Role     string // the role to hold when admitted; empty otherwise
	Cause    string
}

// Desired is what the account should look like. Every slice is sorted
// (seats and revocations by product then membership, waiting by product then
// position), so two equal inputs give equal outputs.
type Desired struct {
	Seats   []Seat
	Waiting []Waiting
	Revoked []Revocation
	// Members has an entry for every provisioned person listed in the input
	// and for nobody else: the rules do not manage other memberships.
	Members map[int64]Admission
	// OverAllocated counts, per product, the pinned and manual seats beyond
	// the pool. Nobody is removed for it; admins are told and choose.
	OverAllocated map[string]int
}

// Actual is the account as the database holds it, for Diff. Seats are the
// same rows passed to Provision as Held; of Waiting only MembershipID and
// Product are read; Members gives, per membership, whether it is admitted
// (status active) and its role (Cause is not read). A membership missing from
// Members is taken as not admitted.
type Actual struct {
	Seats   []Seat
	Waiting []Waiting
	Members map[int64]Admission
}

// Causes and reasons: human sentences, stable so that audit entries and
// metrics can group by them.
const (
	CauseDeactivated    = "seat held by a deactivated user"
	CauseUnknownMember  = "seat held by an unknown membership"
	CauseNoRule         = "no rule gives this person a seat any more"
	CauseNoPool         = "the account has no subscription to this product"
	CauseDisplaced      = "fewer seats than holders: lowest priority moved to the waiting list"
	CauseNoSeatFree     = "no seat free"
	CauseRuleSeat       = "a rule gives this person a seat"
	CauseServed         = "served from the waiting list"
	CauseNoLongerWaits  = "no rule entitles this person to wait any more"
	CauseRetagged       = "the seat is now given by another rule"
	CauseRestored       = "seat missing from the database restored"
	CauseNotDesired     = "seat not in the desired state"
	CauseIdPDeactivated = "deactivated in the identity provider"
	CauseMatchesRule    = "matches a provisioning rule"
	CauseUnmatchedAdmit = "matches no rule; unmatched users are admitted as members"
	CauseUnmatchedDeny  = "matches no rule; unmatched users are not admitted"
	CauseHandSeat       = "holds a seat an admin gave by hand"
)
