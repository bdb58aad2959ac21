package licensing

import (
	"cmp"
	"slices"
	"time"
)

// Provision turns one account's snapshot (people with their groups and
// status, rules, pools, held seats) into the desired seats, waiting lists and
// admissions. It is pure, and its result does not depend on the order of any
// input slice.
//
// Per product:
//  1. Every seat of an inactive person is revoked, pinned ones included:
//     deprovisioning (SCIM active: false or DELETE) revokes all the person's
//     seats, and a pinned seat of someone who is gone would be lost to the
//     pool for good. Seats of unknown memberships are revoked too.
//  2. Pinned, then manual seats of active people are kept and count against
//     the pool first. The rules never take them away. If they alone exceed
//     the pool the product is over-allocated: nobody loses such a seat, every
//     rule candidate waits, and OverAllocated says by how many.
//  3. Rule candidates are the active provisioned people that a rule for the
//     product matches, less those keeping a pinned or manual seat of it. They
//     stand in the order (best priority of a matching rule, earliest Since of
//     the group membership behind that rule, membership id).
//  4. Stability: a candidate who already holds a rule seat keeps it, so seats
//     never flap between people when nothing changed, and a better-standing
//     waiter does not bump a holder. Only when the free seats (pool minus
//     pinned and manual) are fewer than the holders do the holders lowest in
//     the order lose theirs and go to the waiting list. Free seats left after
//     the holders go to the other candidates in order; the rest wait, in order.
//     A rule seat whose person no longer qualifies is revoked. A kept rule
//     seat keeps the rule that gave it while that rule still matches.
//
// Admission, for provisioned people only: an inactive person is not admitted;
// one a rule matches is admitted with the role of the highest-priority
// matching rule that sets one (ties: lower rule id), else RoleMember; one no
// rule matches is admitted as a member unless the policy is UnmatchedDeny.
// A person keeping a pinned or manual seat is admitted whatever the policy,
// since an admin chose to give them a seat.
//
// Inputs are normalised first: a membership listed twice is active only if
// every entry says so; a group listed twice counts from its earliest Since; a
// product's pool listed twice takes the larger count, and a negative count is
// zero; a held seat of any source but SourceRule counts as manual; of two held
// seats of the same person and product the pinned, else the manual one counts.
func Provision(in ProvisioningInput) Desired {
	s := newSnapshot(in)
	d := Desired{Members: map[int64]Admission{}, OverAllocated: map[string]int{}}
	handSeat := map[int64]bool{}
	for _, product := range s.products {
		s.allocate(product, &d, handSeat)
	}
	for id, p := range s.people {
		if p.provisioned {
			d.Members[id] = s.admission(p, handSeat[id])
		}
	}
	slices.SortFunc(d.Seats, func(a, b Seat) int { return compareSeatKey(a, b) })
	slices.SortFunc(d.Revoked, func(a, b Revocation) int { return compareSeatKey(a.Seat, b.Seat) })
	return d
}

// PreviewSeatChange answers the billing page's warning before a seat reduction
// or a downgrade takes effect at period end: who would move to the waiting
// list if product's pool shrank to newSeats, lowest priority first, and by how
// many pinned and manual seats the product would then be over-allocated. It
// assumes the current desired state has been applied, as the reconciler does.
func PreviewSeatChange(in ProvisioningInput, product string, newSeats int) (losing []int64, overAllocated int) {
	current := Provision(in)
	next := in
	next.Held = current.Seats
	next.Pools = []Pool{{Product: product, Seats: newSeats}}
	for _, p := range in.Pools {
		if p.Product != product {
			next.Pools = append(next.Pools, p)
		}
	}
	after := Provision(next)

	seated := map[int64]bool{}
	for _, st := range after.Seats {
		if st.Product == product {
			seated[st.MembershipID] = true
		}
	}
	lost := map[int64]bool{}
	for _, st := range current.Seats {
		if st.Product == product && !seated[st.MembershipID] {
			lost[st.MembershipID] = true
		}
	}
	// The waiting list is in standing order: its tail is the lowest priority.
	for i := len(after.Waiting) - 1; i >= 0; i-- {
		if w := after.Waiting[i]; w.Product == product && lost[w.MembershipID] {
			losing = append(losing, w.MembershipID)
		}
	}
	return losing, after.OverAllocated[product]
}

// seatKey identifies a seat: one per person and product.
type seatKey struct {
	membership int64
	product    string
}

func keyOf(s Seat) seatKey { return seatKey{s.MembershipID, s.Product} }

func compareSeatKey(a, b Seat) int {
	return cmp.Or(cmp.Compare(a.Product, b.Product), cmp.Compare(a.MembershipID, b.MembershipID))
}

// stronger picks, of two held seats of the same person and product, the one
// that counts: pinned over manual over rule, then the lower rule id.
func stronger(a, b Seat) Seat {
	rank := func(s Seat) int {
		switch {
		case s.Pinned:
			return 0
		case s.Source != SourceRule:
			return 1
		}
		return 2
	}
	if c := cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.RuleID, b.RuleID), cmp.Compare(a.Source, b.Source)); c <= 0 {
		return a
	}
	return b
}

// match is a person's best claim, through one rule, to a seat of a product.
type match struct {
	priority int
	since    time.Time
	ruleID   int64
}

func compareMatch(a, b match) int {
	return cmp.Or(cmp.Compare(a.priority, b.priority), a.since.Compare(b.since), cmp.Compare(a.ruleID, b.ruleID))
}

type person struct {
	id          int64
	active      bool
	provisioned bool
	defaultRole string            // the role when no rule sets one (empty: RoleMember)
	groups      []GroupMembership // by group id, one per group: the earliest
	matched     bool              // some rule matches (active provisioned people only)
	role        *Rule             // the best matching rule that sets a role
}

type candidate struct {
	id    int64
	claim match
}

// snapshot is the input normalised and indexed.
type snapshot struct {
	people     map[int64]*person
	ruleByID   map[int64][]Rule
	pools      map[string]int
	held       map[string][]Seat      // product → seats, one per person
	candidates map[string][]candidate // product → active provisioned people a rule entitles
	claims     map[seatKey]match      // (person, product) → best claim
	products   []string               // every product with a pool or a held seat, sorted
	unmatched  UnmatchedPolicy
}

func newSnapshot(in ProvisioningInput) *snapshot {
	s := &snapshot{
		people:     make(map[int64]*person, len(in.People)),
		ruleByID:   map[int64][]Rule{},
		pools:      map[string]int{},
		held:       map[string][]Seat{},
		candidates: map[string][]candidate{},
		claims:     make(map[seatKey]match, len(in.People)),
		unmatched:  in.Unmatched,
	}
	for _, ip := range in.People {
		p := s.people[ip.MembershipID]
		if p == nil {
			p = &person{id: ip.MembershipID, active: true}
			s.people[ip.MembershipID] = p
		}
		p.active = p.active && ip.Active
		p.provisioned = p.provisioned || ip.Provisioned
		p.defaultRole = cmp.Or(p.defaultRole, ip.DefaultRole)
		p.groups = append(p.groups, ip.Groups...)
	}
	for _, p := range s.people {
		slices.SortFunc(p.groups, func(a, b GroupMembership) int {
			return cmp.Or(cmp.Compare(a.GroupID, b.GroupID), a.Since.Compare(b.Since))
		})
		p.groups = slices.CompactFunc(p.groups, func(a, b GroupMembership) bool { return a.GroupID == b.GroupID })
	}
	for _, pool := range in.Pools {
		s.pools[pool.Product] = max(s.pools[pool.Product], pool.Seats, 0)
	}
	products := map[string]bool{}
	for k, h := range indexSeats(in.Held) {
		s.held[k.product] = append(s.held[k.product], h)
		products[k.product] = true
	}
	for product := range s.pools {
		products[product] = true
	}
	for product := range products {
		s.products = append(s.products, product)
	}
	slices.Sort(s.products)

	byGroup := map[int64][]Rule{}
	for _, r := range in.Rules {
		byGroup[r.GroupID] = append(byGroup[r.GroupID], r)
		s.ruleByID[r.ID] = append(s.ruleByID[r.ID], r)
	}
	for _, p := range s.people {
		if p.active && p.provisioned {
			s.matchRules(p, byGroup)
		}
	}
	for product, cs := range s.candidates {
		slices.SortFunc(cs, func(a, b candidate) int {
			return cmp.Or(cmp.Compare(a.claim.priority, b.claim.priority), a.claim.since.Compare(b.claim.since), cmp.Compare(a.id, b.id))
		})
		s.candidates[product] = cs
	}
	return s
}

// matchRules records which rules match an active provisioned person: their
// best claim per product that has a pool, and their best role rule.
func (s *snapshot) matchRules(p *person, byGroup map[int64][]Rule) {
	type claim struct {
		product string
		match
	}
	var best []claim
	for _, g := range p.groups {
		for _, r := range byGroup[g.GroupID] {
			p.matched = true
			if r.Role != "" && (p.role == nil || cmp.Or(cmp.Compare(r.Priority, p.role.Priority),
				cmp.Compare(r.ID, p.role.ID), cmp.Compare(r.Role, p.role.Role)) < 0) {
				rule := r
				p.role = &rule
			}
			if _, ok := s.pools[r.Product]; r.Product == "" || !ok {
				continue
			}
			m := match{priority: r.Priority, since: g.Since, ruleID: r.ID}
			i := slices.IndexFunc(best, func(c claim) bool { return c.product == r.Product })
			switch {
			case i < 0:
				best = append(best, claim{r.Product, m})
			case compareMatch(m, best[i].match) < 0:
				best[i].match = m
			}
		}
	}
	for _, c := range best {
		s.claims[seatKey{p.id, c.product}] = c.match
		s.candidates[c.product] = append(s.candidates[c.product], candidate{id: p.id, claim: c.match})
	}
}

// stillMatches reports whether the rule that gave a held seat still entitles
// the person to it.
func (s *snapshot) stillMatches(ruleID int64, p *person, product string) bool {
	for _, r := range s.ruleByID[ruleID] {
		_, in := slices.BinarySearchFunc(p.groups, r.GroupID, func(g GroupMembership, id int64) int { return cmp.Compare(g.GroupID, id) })
		if in && r.Product == product {
			return true
		}
	}
	return false
}

// allocate decides one product's seats and waiting list (see Provision).
func (s *snapshot) allocate(product string, d *Desired, handSeat map[int64]bool) {
	pool, hasPool := s.pools[product]
	revoke := func(st Seat, cause string) { d.Revoked = append(d.Revoked, Revocation{Seat: st, Cause: cause}) }

	fixed := 0
	kept := map[int64]bool{}
	holders := map[int64]Seat{}
	for _, st := range s.held[product] {
		p := s.people[st.MembershipID]
		_, qualifies := s.claims[keyOf(st)]
		switch {
		case p == nil:
			revoke(st, CauseUnknownMember)
		case !p.active:
			revoke(st, CauseDeactivated)
		case st.Pinned || st.Source != SourceRule:
			d.Seats = append(d.Seats, st)
			fixed++
			kept[p.id] = true
			handSeat[p.id] = true
		case !hasPool:
			revoke(st, CauseNoPool)
		case qualifies:
			holders[p.id] = st
		default:
			revoke(st, CauseNoRule)
		}
	}
	if fixed > pool {
		d.OverAllocated[product] = fixed - pool
	}

	free := max(pool-fixed, 0)
	keepHolders := min(len(holders), free)
	newSeats := free - keepHolders
	position := 0
	wait := func(c candidate, reason string) {
		position++
		d.Waiting = append(d.Waiting, Waiting{MembershipID: c.id, Product: product, RuleID: c.claim.ruleID, Position: position, Reason: reason})
	}
	for _, c := range s.candidates[product] {
		if kept[c.id] {
			continue
		}
		if held, ok := holders[c.id]; ok {
			if keepHolders > 0 {
				keepHolders--
				ruleID := c.claim.ruleID
				if s.stillMatches(held.RuleID, s.people[c.id], product) {
					ruleID = held.RuleID
				}
				d.Seats = append(d.Seats, Seat{MembershipID: c.id, Product: product, Source: SourceRule, RuleID: ruleID})
				continue
			}
			revoke(held, CauseDisplaced)
			wait(c, CauseDisplaced)
			continue
		}
		if newSeats > 0 {
			newSeats--
			d.Seats = append(d.Seats, Seat{MembershipID: c.id, Product: product, Source: SourceRule, RuleID: c.claim.ruleID})
			continue
		}
		wait(c, CauseNoSeatFree)
	}
}

// admission decides a provisioned person's standing (see Provision).
func (s *snapshot) admission(p *person, keepsHandSeat bool) Admission {
	switch {
	case !p.active:
		return Admission{Cause: CauseIdPDeactivated}
	case p.matched:
		role := cmp.Or(p.defaultRole, RoleMember)
		if p.role != nil {
			role = p.role.Role
		}
		return Admission{Admitted: true, Role: role, Cause: CauseMatchesRule}
	case s.unmatched != UnmatchedDeny:
		return Admission{Admitted: true, Role: cmp.Or(p.defaultRole, RoleMember), Cause: CauseUnmatchedAdmit}
	case keepsHandSeat:
		return Admission{Admitted: true, Role: cmp.Or(p.defaultRole, RoleMember), Cause: CauseHandSeat}
	}
	return Admission{Cause: CauseUnmatchedDeny}
}
