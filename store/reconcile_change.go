package store

import (
	"fmt"

	"github.com/entitle-dev/entitle/licensing"
)

// ReconcileChange is one difference between the desired and the actual
// state, as applied (or, in a dry run, as it would be) and audited.
type ReconcileChange struct {
	licensing.Change
	Email string
	// Drift is set when the difference should not have existed: the
	// transactions that change provisioning apply their own consequences, so
	// what is left for the reconciler is either the allocation of a short
	// pool (serving the waiting list, displacing the lowest priority) or a
	// repair of something changed behind the application's back.
	Drift bool
	// Skipped says why the change was not applied (an owner's role and the
	// last active owner are not the rules' to take), empty when applied.
	Skipped string
}

// Cause is the audit entry's cause: "drift repaired: …" for a drift.
func (c ReconcileChange) Cause() string {
	if c.Drift {
		return "drift repaired: " + c.Reason
	}
	return c.Reason
}

// String is one line of `entitle provisioning reconcile`.
func (c ReconcileChange) String() string {
	what := string(c.Kind)
	switch c.Kind {
	case licensing.ChangeAssign, licensing.ChangeUnassign, licensing.ChangeRetag, licensing.ChangeWait, licensing.ChangeUnwait:
		what += " " + c.Product
	case licensing.ChangeAdmit, licensing.ChangeRole:
		what += " as " + c.Role
	}
	line := fmt.Sprintf("%-8s %-32s %s", what, c.Email, c.Cause())
	if c.Skipped != "" {
		line += " (not applied: " + c.Skipped + ")"
	}
	return line
}

// reconcileMode says why changes are applied, which decides what is drift
// and which changes apply.
type reconcileMode int

const (
	// modeSweep: the reconciler, after changes, periodically or for an
	// operator. Everything applies; drift is counted.
	modeSweep reconcileMode = iota
	// modeCaused: inside the transaction of the change that causes them (a
	// rule, the unmatched policy, a pin). Everything applies; nothing is drift.
	modeCaused
	// modeLocal: inside a SCIM write, for the people it touched. Only what
	// concerns them alone applies (their standing, the seats and waiting
	// entries they no longer qualify for); allocating short pools is left to
	// the reconciler, which sees everyone.
	modeLocal
)

// isAllocation: the change follows from the pool being short (or longer)
// rather than from one person's own state, so the reconciler making it is
// not drift.
func isAllocation(c licensing.Change) bool {
	switch c.Kind {
	case licensing.ChangeAssign:
		return c.Reason == licensing.CauseRuleSeat || c.Reason == licensing.CauseServed
	case licensing.ChangeWait:
		return true
	case licensing.ChangeUnwait:
		return c.Reason == licensing.CauseServed
	case licensing.ChangeUnassign:
		return c.Reason == licensing.CauseDisplaced || c.Reason == licensing.CauseNoPool
	}
	return false
}

// isPersonLocal: the change depends only on the person's own state.
func isPersonLocal(c licensing.Change) bool {
	switch c.Kind {
	case licensing.ChangeUnassign:
		return c.Reason != licensing.CauseDisplaced
	case licensing.ChangeUnwait:
		return c.Reason == licensing.CauseNoLongerWaits
	case licensing.ChangeAdmit, licensing.ChangeDismiss, licensing.ChangeRole, licensing.ChangeRetag:
		return true
	}
	return false
}
