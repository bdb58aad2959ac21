package licensing

import (
	"cmp"
	"slices"
)

// ChangeKind is one kind of repair the reconciler makes.
type ChangeKind string

const (
	ChangeUnassign ChangeKind = "unassign" // take the seat back
	ChangeUnwait   ChangeKind = "unwait"   // remove from the waiting list
	ChangeDismiss  ChangeKind = "dismiss"  // the membership is no longer admitted
	ChangeAdmit    ChangeKind = "admit"    // admit the membership, with Role
	ChangeRole     ChangeKind = "role"     // set the membership's role to Role
	ChangeRetag    ChangeKind = "retag"    // the seat stays; its Source and RuleID change
	ChangeAssign   ChangeKind = "assign"   // give the seat
	ChangeWait     ChangeKind = "wait"     // put on the waiting list
)

// Change is one difference between the desired and the actual state, with
// its human cause for the audit entry ("seat held by a deactivated user").
type Change struct {
	Kind         ChangeKind
	MembershipID int64
	Product      string     // seat and waiting changes
	Source       SeatSource // assign, retag
	RuleID       int64      // assign, retag, wait
	Pinned       bool       // assign (restoring a pinned seat)
	Role         string     // admit, role
	Reason       string
}

// rank orders kinds so that applying the changes in order takes seats back
// before giving any: the pool is never exceeded at any step.
func (k ChangeKind) rank() int {
	return slices.Index([]ChangeKind{ChangeUnassign, ChangeUnwait, ChangeDismiss, ChangeAdmit,
		ChangeRole, ChangeRetag, ChangeAssign, ChangeWait}, k)
}

// Diff lists what the reconciler must do to turn have into want: removals
// first, then additions, each kind ordered by product then membership, so the
// same states always give the same list. Pass the same snapshot to Provision
// (as Held) and to Diff (as have.Seats): a revoked seat then carries the cause
// Provision gave it. Diff of a state against itself is empty.
//
// Waiting entries are compared by person and product only (positions move as
// the list is served). Members are compared for the memberships want lists,
// that is the provisioned ones; a role is compared only for admitted people.
func Diff(want Desired, have Actual) []Change {
	var out []Change
	haveSeats := indexSeats(have.Seats)
	wantSeats := indexSeats(want.Seats)
	haveWaiting := map[seatKey]bool{}
	for _, w := range have.Waiting {
		haveWaiting[seatKey{w.MembershipID, w.Product}] = true
	}
	wantWaiting := map[seatKey]Waiting{}
	for _, w := range want.Waiting {
		wantWaiting[seatKey{w.MembershipID, w.Product}] = w
	}
	causes := map[seatKey]string{}
	for _, r := range want.Revoked {
		causes[keyOf(r.Seat)] = r.Cause
	}
	seatChange := func(kind ChangeKind, st Seat, reason string) Change {
		return Change{Kind: kind, MembershipID: st.MembershipID, Product: st.Product, Source: st.Source,
			RuleID: st.RuleID, Pinned: st.Pinned, Reason: reason}
	}

	for k, st := range wantSeats {
		held, ok := haveSeats[k]
		switch {
		case !ok && st.Source != SourceRule:
			out = append(out, seatChange(ChangeAssign, st, CauseRestored))
		case !ok && haveWaiting[k]:
			out = append(out, seatChange(ChangeAssign, st, CauseServed))
		case !ok:
			out = append(out, seatChange(ChangeAssign, st, CauseRuleSeat))
		case held.Source != st.Source || held.RuleID != st.RuleID:
			out = append(out, seatChange(ChangeRetag, st, CauseRetagged))
		}
	}
	for k, st := range haveSeats {
		if _, ok := wantSeats[k]; !ok {
			cause, known := causes[k]
			if !known {
				cause = CauseNotDesired
			}
			out = append(out, seatChange(ChangeUnassign, st, cause))
		}
	}
	for k, w := range wantWaiting {
		if !haveWaiting[k] {
			out = append(out, Change{Kind: ChangeWait, MembershipID: w.MembershipID, Product: w.Product, RuleID: w.RuleID, Reason: w.Reason})
		}
	}
	for k := range haveWaiting {
		if _, ok := wantWaiting[k]; ok {
			continue
		}
		reason := CauseNoLongerWaits
		if _, seated := wantSeats[k]; seated {
			reason = CauseServed
		}
		out = append(out, Change{Kind: ChangeUnwait, MembershipID: k.membership, Product: k.product, Reason: reason})
	}
	for id, a := range want.Members {
		now := have.Members[id]
		switch {
		case a.Admitted && !now.Admitted:
			out = append(out, Change{Kind: ChangeAdmit, MembershipID: id, Role: a.Role, Reason: a.Cause})
		case !a.Admitted && now.Admitted:
			out = append(out, Change{Kind: ChangeDismiss, MembershipID: id, Reason: a.Cause})
		case a.Admitted && a.Role != "" && a.Role != now.Role:
			out = append(out, Change{Kind: ChangeRole, MembershipID: id, Role: a.Role, Reason: a.Cause})
		}
	}

	slices.SortFunc(out, func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.Kind.rank(), b.Kind.rank()), cmp.Compare(a.Product, b.Product),
			cmp.Compare(a.MembershipID, b.MembershipID))
	})
	return out
}

// indexSeats keys seats by person and product, merging duplicates as
// Provision does.
func indexSeats(seats []Seat) map[seatKey]Seat {
	m := make(map[seatKey]Seat, len(seats))
	for _, st := range seats {
		if prev, ok := m[keyOf(st)]; ok {
			st = stronger(prev, st)
		}
		m[keyOf(st)] = st
	}
	return m
}
