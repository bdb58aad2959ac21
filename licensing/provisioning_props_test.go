package licensing

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// bytePicker turns fuzz bytes into small choices; it yields 0 once exhausted.
type bytePicker struct{ data []byte }

func (b *bytePicker) pick(n int) int {
	if len(b.data) == 0 || n <= 0 {
		return 0
	}
	v := int(b.data[0]) % n
	b.data = b.data[1:]
	return v
}

// smallAccount builds a small, messy input from bytes: duplicate people and
// held seats, rules for products without a pool, unknown memberships, every
// source and policy.
func smallAccount(data []byte) ProvisioningInput {
	b := &bytePicker{data: data}
	products := []string{"", "a", "b", "c"} // c never has a pool
	var in ProvisioningInput
	for range b.pick(13) {
		p := Person{MembershipID: int64(b.pick(9) + 1), Active: b.pick(5) != 0, Provisioned: b.pick(4) != 0}
		for range b.pick(4) {
			p.Groups = append(p.Groups, onDay(int64(b.pick(3)+1), b.pick(5)))
		}
		in.People = append(in.People, p)
	}
	for range b.pick(6) {
		in.Rules = append(in.Rules, Rule{ID: int64(b.pick(7) + 1), GroupID: int64(b.pick(4) + 1),
			Role: []string{"", "admin", "billing", RoleMember}[b.pick(4)], Product: products[b.pick(4)], Priority: b.pick(3)})
	}
	for _, product := range []string{"a", "b", "a"} {
		if b.pick(3) != 0 {
			in.Pools = append(in.Pools, Pool{Product: product, Seats: b.pick(6) - 1})
		}
	}
	for range b.pick(10) {
		in.Held = append(in.Held, Seat{MembershipID: int64(b.pick(10) + 1), Product: []string{"a", "a", "b", "b", "c"}[b.pick(5)],
			Source: []SeatSource{SourceRule, SourceRule, SourceManual, ""}[b.pick(4)], RuleID: int64(b.pick(7) + 1), Pinned: b.pick(5) == 0})
	}
	in.Unmatched = []UnmatchedPolicy{UnmatchedMember, UnmatchedDeny, ""}[b.pick(3)]
	return in
}

// shuffled returns a copy of in with every slice in another order.
func shuffled(in ProvisioningInput, r *rand.Rand) ProvisioningInput {
	out := ProvisioningInput{Unmatched: in.Unmatched, Rules: slices.Clone(in.Rules), Pools: slices.Clone(in.Pools), Held: slices.Clone(in.Held)}
	for _, p := range in.People {
		p.Groups = slices.Clone(p.Groups)
		r.Shuffle(len(p.Groups), func(i, j int) { p.Groups[i], p.Groups[j] = p.Groups[j], p.Groups[i] })
		out.People = append(out.People, p)
	}
	r.Shuffle(len(out.People), func(i, j int) { out.People[i], out.People[j] = out.People[j], out.People[i] })
	r.Shuffle(len(out.Rules), func(i, j int) { out.Rules[i], out.Rules[j] = out.Rules[j], out.Rules[i] })
	r.Shuffle(len(out.Pools), func(i, j int) { out.Pools[i], out.Pools[j] = out.Pools[j], out.Pools[i] })
	r.Shuffle(len(out.Held), func(i, j int) { out.Held[i], out.Held[j] = out.Held[j], out.Held[i] })
	return out
}

// settledThenShrunk is in after its desired seats were applied and every
// pool then lost up to three seats: the case where holders are displaced.
func settledThenShrunk(in ProvisioningInput, r *rand.Rand) ProvisioningInput {
	out := in
	out.Held = Provision(in).Seats
	out.Pools = nil
	for _, p := range in.Pools {
		out.Pools = append(out.Pools, Pool{Product: p.Product, Seats: p.Seats - r.IntN(4)})
	}
	return out
}

// checkProvision checks the invariants of Provision on one input and returns
// what is broken.
func checkProvision(in ProvisioningInput, r *rand.Rand) []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	d := Provision(in)

	// Shuffle invariance.
	for range 5 {
		if again := Provision(shuffled(in, r)); !reflect.DeepEqual(again, d) {
			fail("input order changed the result:\n%+v\n%+v", d, again)
			break
		}
	}

	// Who is active (listed, every entry active), and who keeps a hand seat.
	active := map[int64]bool{}
	for _, p := range in.People {
		if a, seen := active[p.MembershipID]; seen {
			active[p.MembershipID] = a && p.Active
		} else {
			active[p.MembershipID] = p.Active
		}
	}
	pools := map[string]int{}
	for _, p := range in.Pools {
		pools[p.Product] = max(pools[p.Product], p.Seats, 0)
	}
	hand := map[seatKey]bool{}
	for _, h := range in.Held {
		if active[h.MembershipID] && (h.Pinned || h.Source != SourceRule) {
			hand[keyOf(h)] = true
		}
	}
	handCount, ruleCount := map[string]int{}, map[string]int{}
	for k := range hand {
		handCount[k.product]++
	}

	seated := map[seatKey]bool{}
	for _, s := range d.Seats {
		k := keyOf(s)
		if seated[k] {
			fail("two seats for %v", k)
		}
		seated[k] = true
		if !active[s.MembershipID] {
			fail("inactive or unknown membership %d holds a seat of %s", s.MembershipID, s.Product)
		}
		if s.Source == SourceRule && !s.Pinned {
			ruleCount[s.Product]++
		} else if !hand[k] {
			fail("a hand seat appeared from nowhere: %+v", s)
		}
	}
	for k := range hand {
		if !seated[k] {
			fail("a pinned or manual seat of an active person was taken: %v", k)
		}
	}
	for _, product := range []string{"a", "b", "c"} {
		n, f := pools[product], handCount[product]
		if ruleCount[product] > max(n-f, 0) {
			fail("%s: %d rule seats, %d hand seats, pool %d", product, ruleCount[product], f, n)
		}
		if got := d.OverAllocated[product]; got != max(f-n, 0) {
			fail("%s: OverAllocated %d, want %d", product, got, max(f-n, 0))
		}
	}
	positions := map[string]int{}
	for _, w := range d.Waiting {
		k := seatKey{w.MembershipID, w.Product}
		if seated[k] || !active[w.MembershipID] {
			fail("%v waits although seated or inactive", k)
		}
		if positions[w.Product]++; w.Position != positions[w.Product] {
			fail("%v waits at position %d, want %d", k, w.Position, positions[w.Product])
		}
		if ruleCount[w.Product]+handCount[w.Product] < pools[w.Product] {
			fail("%v waits while a seat of %s is free", k, w.Product)
		}
	}
	for id, a := range d.Members {
		if a.Admitted != (a.Role != "") || (a.Admitted && !active[id]) {
			fail("member %d: %+v", id, a)
		}
	}

	// Idempotence: the desired state needs no change, and provisioning it
	// again changes nothing (no flapping).
	if changes := Diff(d, applied(d)); len(changes) != 0 {
		fail("Diff of the desired state against itself: %v", changeLines(changes))
	}
	next := in
	next.Held = d.Seats
	again := Provision(next)
	// A waiting entry's reason may change (a displaced holder now simply
	// waits); its place may not.
	queueOf := func(ws []Waiting) []Waiting {
		out := slices.Clone(ws)
		for i := range out {
			out[i].Reason = ""
		}
		return out
	}
	if len(again.Revoked) != 0 || !reflect.DeepEqual(again.Seats, d.Seats) || !reflect.DeepEqual(queueOf(again.Waiting), queueOf(d.Waiting)) {
		fail("provisioning the desired state again changed it:\n%+v\n%+v", d, again)
	}
	if changes := Diff(again, applied(d)); len(changes) != 0 {
		fail("Diff after applying: %v", changeLines(changes))
	}

	// Applying Diff's changes to the held state reaches the desired state.
	have := Actual{Seats: in.Held, Members: map[int64]Admission{}}
	if got := applyChanges(have, Diff(d, have)); len(Diff(d, got)) != 0 {
		fail("applying Diff's changes leaves %v", changeLines(Diff(d, got)))
	}

	// More seats serve the waiting list in order, and take nobody's seat.
	for _, product := range []string{"a", "b"} {
		if _, ok := pools[product]; !ok {
			continue // no subscription, so nobody waits for it
		}
		extra := r.IntN(4) + 1
		grown := next
		grown.Pools = append(slices.Clone(next.Pools), Pool{Product: product, Seats: pools[product] + extra})
		after := Provision(grown)
		var queue, served []int64
		for _, w := range d.Waiting {
			if w.Product == product {
				queue = append(queue, w.MembershipID)
			}
		}
		was := map[seatKey]bool{}
		for _, s := range d.Seats {
			was[keyOf(s)] = true
		}
		for _, s := range after.Seats {
			if s.Product == product && !was[keyOf(s)] {
				served = append(served, s.MembershipID)
			}
		}
		slices.Sort(served)
		freed := max(pools[product]+extra-handCount[product], 0) - ruleCount[product]
		want := slices.Clone(queue[:min(freed, len(queue))])
		slices.Sort(want)
		if len(after.Revoked) != 0 || !slices.Equal(served, want) {
			fail("%d more seats of %s served %v, want the head of the queue %v (revoked %v)", extra, product, served, want, after.Revoked)
		}
	}

	// The billing warning names exactly the rule holders who lose, lowest first.
	if pools["a"] > 0 {
		newSeats := r.IntN(pools["a"])
		losing, _ := PreviewSeatChange(in, "a", newSeats)
		if want := max(ruleCount["a"]-max(newSeats-handCount["a"], 0), 0); len(losing) != want {
			fail("preview to %d seats: losing %v, want %d people", newSeats, losing, want)
		}
	}
	return bad
}

// applyChanges is a toy reconciler: the actual state after the changes.
func applyChanges(have Actual, changes []Change) Actual {
	seats := indexSeats(have.Seats)
	waiting := map[seatKey]Waiting{}
	for _, w := range have.Waiting {
		waiting[seatKey{w.MembershipID, w.Product}] = w
	}
	members := map[int64]Admission{}
	for id, a := range have.Members {
		members[id] = a
	}
	for _, c := range changes {
		k := seatKey{c.MembershipID, c.Product}
		switch c.Kind {
		case ChangeUnassign:
			delete(seats, k)
		case ChangeAssign, ChangeRetag:
			seats[k] = Seat{MembershipID: c.MembershipID, Product: c.Product, Source: c.Source, RuleID: c.RuleID, Pinned: c.Pinned}
		case ChangeWait:
			waiting[k] = Waiting{MembershipID: c.MembershipID, Product: c.Product}
		case ChangeUnwait:
			delete(waiting, k)
		case ChangeAdmit, ChangeRole:
			members[c.MembershipID] = Admission{Admitted: true, Role: c.Role}
		case ChangeDismiss:
			members[c.MembershipID] = Admission{}
		}
	}
	out := Actual{Members: members}
	for _, s := range seats {
		out.Seats = append(out.Seats, s)
	}
	for _, w := range waiting {
		out.Waiting = append(out.Waiting, w)
	}
	return out
}

func TestProvisionProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(8, 2025))
	for i := range 3000 {
		data := make([]byte, 80)
		for j := range data {
			data[j] = byte(r.UintN(256))
		}
		for _, in := range []ProvisioningInput{smallAccount(data), settledThenShrunk(smallAccount(data), r)} {
			if bad := checkProvision(in, r); len(bad) != 0 {
				t.Fatalf("case %d, input %+v:\n%v", i, in, bad)
			}
		}
	}
}

func FuzzProvision(f *testing.F) {
	f.Add([]byte{}, uint64(1))
	f.Add([]byte("\x05\x01\x01\x01\x02\x01\x00\x02\x01\x01\x01\x01\x02\x01\x03\x01\x01\x01\x02\x02\x04\x03\x00\x00\x01\x02\x00\x02\x03\x02\x01\x01\x02\x00\x02\x04"), uint64(7))
	f.Add([]byte("\x0c\x03\x04\x03\x03\x02\x01\x04\x03\x02\x02\x01\x05\x01\x01\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11"), uint64(42))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		r := rand.New(rand.NewPCG(seed, 1))
		for _, in := range []ProvisioningInput{smallAccount(data), settledThenShrunk(smallAccount(data), r)} {
			if bad := checkProvision(in, r); len(bad) != 0 {
				t.Fatalf("input %+v:\n%v", in, bad)
			}
		}
	})
}

// BenchmarkProvision10k provisions an account of 10,000 people in 20 groups
// with 5 rules over 2 pools, a third of the people already holding seats.
func BenchmarkProvision10k(b *testing.B) {
	r := rand.New(rand.NewPCG(10, 10000))
	in := ProvisioningInput{
		Pools: []Pool{{Product: "a", Seats: 3000}, {Product: "b", Seats: 1500}},
		Rules: []Rule{
			{ID: 1, GroupID: 1, Role: "admin", Product: "a", Priority: 1},
			{ID: 2, GroupID: 2, Product: "a", Priority: 2},
			{ID: 3, GroupID: 3, Product: "a", Priority: 3},
			{ID: 4, GroupID: 4, Product: "b", Priority: 1},
			{ID: 5, GroupID: 5, Role: "billing", Product: "b", Priority: 2},
		},
		Unmatched: UnmatchedMember,
	}
	for id := range int64(10000) {
		p := scimUser(id+1, onDay(int64(r.IntN(20)+1), r.IntN(365)), onDay(int64(r.IntN(20)+1), r.IntN(365)))
		p.Active = r.IntN(50) != 0
		in.People = append(in.People, p)
		if id%3 == 0 {
			in.Held = append(in.Held, ruleSeat(id+1, []string{"a", "b"}[r.IntN(2)], int64(r.IntN(5)+1)))
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		Provision(in)
	}
}
