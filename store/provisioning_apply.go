package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

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

const (
	provUnassignSQL = `DELETE FROM seat_assignment WHERE account_id = $1 AND subscription_id = $2 AND membership_id = $3`
	provAssignSQL   = `
INSERT INTO seat_assignment (account_id, subscription_id, membership_id, assigned_at, source, rule_id, pinned)
VALUES ($1, $2, $3, $4, $5, nullif($6, 0::bigint), $7) ON CONFLICT (subscription_id, membership_id) DO NOTHING`
	provRetagSQL = `
UPDATE seat_assignment SET source = $4, rule_id = nullif($5, 0::bigint)
WHERE account_id = $1 AND subscription_id = $2 AND membership_id = $3`
	provWaitSQL = `
INSERT INTO waiting_entry (account_id, subscription_id, membership_id, rule_id, since, reason, position)
VALUES ($1, $2, $3, nullif($4, 0::bigint), $5, $6, $7) ON CONFLICT (subscription_id, membership_id) DO NOTHING`
	provUnwaitSQL   = `DELETE FROM waiting_entry WHERE account_id = $1 AND subscription_id = $2 AND membership_id = $3`
	provAdmitSQL    = `UPDATE membership SET status = 'active', role = $3 WHERE account_id = $1 AND id = $2`
	provDismissSQL  = `UPDATE membership SET status = 'deactivated' WHERE account_id = $1 AND id = $2`
	provRoleSQL     = `UPDATE membership SET role = $3 WHERE account_id = $1 AND id = $2`
	provPositionSQL = `
UPDATE waiting_entry w SET position = x.position, rule_id = nullif(x.rule_id, 0)
FROM unnest($2::bigint[], $3::bigint[], $4::int[], $5::bigint[]) AS x(subscription_id, membership_id, position, rule_id)
WHERE w.account_id = $1 AND w.subscription_id = x.subscription_id AND w.membership_id = x.membership_id
  AND (w.position <> x.position OR coalesce(w.rule_id, 0) <> x.rule_id)`
)

// apply makes changes (Diff's output, in Diff's order: removals first) in
// tx with an audit entry each, and returns them as reported.
func (snap *provSnapshot) apply(ctx context.Context, tx *sqlx.Tx, now time.Time, actor Actor, mode reconcileMode,
	want licensing.Desired, changes []licensing.Change) ([]ReconcileChange, error) {
	positions := map[[2]any]int{}
	for _, w := range want.Waiting {
		positions[[2]any{w.MembershipID, w.Product}] = w.Position
	}
	var out []ReconcileChange
	for _, c := range changes {
		if mode == modeLocal && !isPersonLocal(c) {
			continue
		}
		p := snap.people[c.MembershipID]
		rc := ReconcileChange{Change: c, Email: p.Email, Drift: mode == modeSweep && !isAllocation(c)}
		var err error
		rc.Skipped, err = snap.applyOne(ctx, tx, now, actor, rc, p, positions[[2]any{c.MembershipID, c.Product}])
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", c.Kind, p.Email, err)
		}
		out = append(out, rc)
	}
	if mode != modeLocal && len(want.Waiting) > 0 {
		var subs, members, rules []int64
		var pos []int64
		for _, w := range want.Waiting {
			if pool := snap.pools[w.Product]; pool != nil {
				subs, members, rules = append(subs, pool.ID), append(members, w.MembershipID), append(rules, w.RuleID)
				pos = append(pos, int64(w.Position))
			}
		}
		if _, err := tx.ExecContext(ctx, provPositionSQL, snap.accountID, pq.Array(subs), pq.Array(members),
			pq.Array(pos), pq.Array(rules)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// applyOne makes one change and audits it. It answers why it skipped the
// change, if it did.
func (snap *provSnapshot) applyOne(ctx context.Context, tx *sqlx.Tx, now time.Time, actor Actor, rc ReconcileChange,
	p provPerson, position int) (string, error) {
	acct, id := snap.accountID, rc.MembershipID
	pool := snap.pools[rc.Product]
	ev := AuditEvent{AccountID: acct, Actor: actor, TargetType: "membership", TargetID: itoa(id)}
	seat := map[string]any{"email": p.Email, "product": rc.Product}
	if pool != nil {
		seat["subscription"] = pool.ID
	}
	if rc.RuleID != 0 {
		seat["rule"] = rc.RuleID
	}
	after := func(m map[string]any) map[string]any {
		out := map[string]any{"cause": rc.Cause()}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	switch rc.Kind {
	case licensing.ChangeUnassign:
		if pool == nil {
			return "no such subscription", nil
		}
		res, err := tx.ExecContext(ctx, provUnassignSQL, acct, pool.ID, id)
		if err != nil {
			return "", err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return "already gone", nil
		}
		pool.Assigned--
		ev.Action, ev.Before, ev.After = "seat.unassign", seat, after(nil)
	case licensing.ChangeAssign:
		switch {
		case pool == nil || !pool.hasSeats():
			return "the subscription has no seats", nil
		case pool.Assigned >= pool.Effective:
			return "no seat left", nil // never oversold, whatever the snapshot said
		}
		res, err := tx.ExecContext(ctx, provAssignSQL, acct, pool.ID, id, now, string(rc.Source), rc.RuleID, rc.Pinned)
		if err != nil {
			return "", err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return "held already", nil
		}
		pool.Assigned++
		ev.Action, ev.After = "seat.assign", after(map[string]any{"email": p.Email, "product": rc.Product,
			"subscription": pool.ID, "source": string(rc.Source), "rule": rc.RuleID})
	case licensing.ChangeRetag:
		if pool == nil {
			return "no such subscription", nil
		}
		if _, err := tx.ExecContext(ctx, provRetagSQL, acct, pool.ID, id, string(rc.Source), rc.RuleID); err != nil {
			return "", err
		}
		ev.Action, ev.After = "seat.retag", after(map[string]any{"email": p.Email, "product": rc.Product,
			"source": string(rc.Source), "rule": rc.RuleID})
	case licensing.ChangeWait:
		if pool == nil {
			return "no such subscription", nil
		}
		if _, err := tx.ExecContext(ctx, provWaitSQL, acct, pool.ID, id, rc.RuleID, now, rc.Reason, max(position, 1)); err != nil {
			return "", err
		}
		ev.Action, ev.After = "seat.wait", after(map[string]any{"email": p.Email, "product": rc.Product,
			"rule": rc.RuleID, "position": position})
	case licensing.ChangeUnwait:
		if pool == nil {
			return "no such subscription", nil
		}
		if _, err := tx.ExecContext(ctx, provUnwaitSQL, acct, pool.ID, id); err != nil {
			return "", err
		}
		ev.Action, ev.Before, ev.After = "seat.unwait", seat, after(nil)
	case licensing.ChangeAdmit:
		role := rc.Role
		if p.Role == string(licensing.Owner) {
			role = p.Role // the rules never give or take the owner role
		}
		if _, err := tx.ExecContext(ctx, provAdmitSQL, acct, id, role); err != nil {
			return "", err
		}
		ev.Action = "member.admit"
		ev.Before = map[string]any{"email": p.Email, "status": p.Status, "role": p.Role}
		ev.After = after(map[string]any{"email": p.Email, "status": "active", "role": role})
	case licensing.ChangeDismiss:
		if p.Role == string(licensing.Owner) {
			if err := keepsAnOwner(ctx, tx, acct, member{ID: id, Role: p.Role, Status: p.Status}); err != nil {
				return "the last active owner stays", nil
			}
		}
		if _, err := tx.ExecContext(ctx, provDismissSQL, acct, id); err != nil {
			return "", err
		}
		if _, err := tx.ExecContext(ctx, endSessionsSQL, acct, p.UserID); err != nil {
			return "", err
		}
		if _, err := tx.ExecContext(ctx, revokeInvSQL, acct, id, now); err != nil {
			return "", err
		}
		ev.Action = "member.dismiss"
		ev.Before = map[string]any{"email": p.Email, "status": p.Status, "role": p.Role}
		ev.After = after(map[string]any{"email": p.Email, "status": "deactivated", "sessions_ended": true})
	case licensing.ChangeRole:
		if p.Role == string(licensing.Owner) {
			return "an owner's role is the owners' to change", nil
		}
		if _, err := tx.ExecContext(ctx, provRoleSQL, acct, id, rc.Role); err != nil {
			return "", err
		}
		ev.Action = "member.role"
		ev.Before = map[string]any{"email": p.Email, "role": p.Role}
		ev.After = after(map[string]any{"email": p.Email, "role": rc.Role})
	default:
		return "unknown change", nil
	}
	return "", audit(ctx, tx, now, ev)
}
