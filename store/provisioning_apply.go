package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// The reconciler applies each kind of change as one statement over arrays
// (a run may give thousands of seats and waiting entries).
const (
	provUnassignSQL = `
DELETE FROM seat_assignment sa USING unnest($2::bigint[], $3::bigint[]) AS x(sub, mem)
WHERE sa.account_id = $1 AND sa.subscription_id = x.sub AND sa.membership_id = x.mem
RETURNING sa.subscription_id, sa.membership_id`
	provUnwaitSQL = `
DELETE FROM waiting_entry w USING unnest($2::bigint[], $3::bigint[]) AS x(sub, mem)
WHERE w.account_id = $1 AND w.subscription_id = x.sub AND w.membership_id = x.mem
RETURNING w.subscription_id, w.membership_id`
	provDismissSQL       = `UPDATE membership SET status = 'deactivated' WHERE account_id = $1 AND id = ANY($2)`
	provEndSessionsSQL   = `DELETE FROM web_session WHERE kind = 'customer' AND account_id = $1 AND user_id = ANY($2)`
	provRevokeInvitesSQL = `
UPDATE invitation SET revoked_at = $3 WHERE account_id = $1 AND membership_id = ANY($2) AND used_at IS NULL AND revoked_at IS NULL`
	provAdmitSQL = `
UPDATE membership m SET status = 'active', role = x.role FROM unnest($2::bigint[], $3::text[]) AS x(id, role)
WHERE m.account_id = $1 AND m.id = x.id`
	provRoleSQL = `
UPDATE membership m SET role = x.role FROM unnest($2::bigint[], $3::text[]) AS x(id, role)
WHERE m.account_id = $1 AND m.id = x.id`
	provRetagSQL = `
UPDATE seat_assignment sa SET source = x.source, rule_id = nullif(x.rule, 0)
FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::bigint[]) AS x(sub, mem, source, rule)
WHERE sa.account_id = $1 AND sa.subscription_id = x.sub AND sa.membership_id = x.mem`
	provAssignSQL = `
INSERT INTO seat_assignment (account_id, subscription_id, membership_id, assigned_at, source, rule_id, pinned)
SELECT $1, x.sub, x.mem, $2, x.source, nullif(x.rule, 0), x.pinned
FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::bigint[], $7::bool[]) AS x(sub, mem, source, rule, pinned)
ON CONFLICT (subscription_id, membership_id) DO NOTHING
RETURNING subscription_id, membership_id`
	provWaitSQL = `
INSERT INTO waiting_entry (account_id, subscription_id, membership_id, rule_id, since, reason, position)
SELECT $1, x.sub, x.mem, nullif(x.rule, 0), $2, x.reason, x.position
FROM unnest($3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::int[]) AS x(sub, mem, rule, reason, position)
ON CONFLICT (subscription_id, membership_id) DO NOTHING`
	provPositionSQL = `
UPDATE waiting_entry w SET position = x.position, rule_id = nullif(x.rule_id, 0)
FROM unnest($2::bigint[], $3::bigint[], $4::int[], $5::bigint[]) AS x(subscription_id, membership_id, position, rule_id)
WHERE w.account_id = $1 AND w.subscription_id = x.subscription_id AND w.membership_id = x.membership_id
  AND (w.position <> x.position OR coalesce(w.rule_id, 0) <> x.rule_id)`
)

type seatRef struct{ sub, mem int64 }

// apply makes changes (Diff's output, in Diff's order: seats taken before
// seats given, so the pool is never exceeded at any step) in tx, one
// statement per kind, with an audit entry each, and returns them as
// reported.
func (snap *provSnapshot) apply(ctx context.Context, tx *sqlx.Tx, now time.Time, actor Actor, mode reconcileMode,
	want licensing.Desired, changes []licensing.Change) ([]ReconcileChange, error) {
	var out []ReconcileChange
	for _, c := range changes {
		if mode == modeLocal && !isPersonLocal(c) {
			continue
		}
		out = append(out, ReconcileChange{Change: c, Email: snap.people[c.MembershipID].Email,
			Drift: mode == modeSweep && !isAllocation(c)})
	}
	positions := map[seatRef]int{}
	for _, w := range want.Waiting {
		if pool := snap.pools[w.Product]; pool != nil {
			positions[seatRef{pool.ID, w.MembershipID}] = w.Position
		}
	}
	for _, kind := range []licensing.ChangeKind{licensing.ChangeUnassign, licensing.ChangeUnwait, licensing.ChangeDismiss,
		licensing.ChangeAdmit, licensing.ChangeRole, licensing.ChangeRetag, licensing.ChangeAssign, licensing.ChangeWait} {
		var batch []*ReconcileChange
		for i := range out {
			if out[i].Kind == kind {
				batch = append(batch, &out[i])
			}
		}
		if len(batch) == 0 {
			continue
		}
		if err := snap.applyKind(ctx, tx, now, kind, batch, positions); err != nil {
			return nil, fmt.Errorf("%s: %w", kind, err)
		}
	}
	var events []AuditEvent
	for _, rc := range out {
		if rc.Skipped == "" {
			events = append(events, snap.auditEvent(rc, positions))
		}
	}
	if err := auditMany(ctx, tx, now, snap.accountID, actor, events); err != nil {
		return nil, err
	}
	if mode != modeLocal && len(positions) > 0 {
		var subs, members, rules, pos []int64
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

// applyKind makes one kind of change for every change of the batch, and
// marks the ones it skipped and why.
func (snap *provSnapshot) applyKind(ctx context.Context, tx *sqlx.Tx, now time.Time, kind licensing.ChangeKind,
	batch []*ReconcileChange, positions map[seatRef]int) error {
	acct := snap.accountID
	var subs, mems, rules []int64
	var texts []string
	var flags []bool
	var ints []int64
	var todo []*ReconcileChange
	seat := func(rc *ReconcileChange) (*provPool, bool) {
		pool := snap.pools[rc.Product]
		if pool == nil {
			rc.Skipped = "no such subscription"
			return nil, false
		}
		subs, mems, todo = append(subs, pool.ID), append(mems, rc.MembershipID), append(todo, rc)
		return pool, true
	}
	// done marks the changes whose row a statement did not touch.
	done := func(rows *sqlx.Rows, err error, why string) (map[seatRef]bool, error) {
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		hit := map[seatRef]bool{}
		for rows.Next() {
			var r seatRef
			if err := rows.Scan(&r.sub, &r.mem); err != nil {
				return nil, err
			}
			hit[r] = true
		}
		for i, rc := range todo {
			if !hit[seatRef{subs[i], mems[i]}] {
				rc.Skipped = why
			}
		}
		return hit, rows.Err()
	}

	switch kind {
	case licensing.ChangeUnassign:
		for _, rc := range batch {
			seat(rc)
		}
		rows, err := tx.QueryxContext(ctx, provUnassignSQL, acct, pq.Array(subs), pq.Array(mems))
		hit, err := done(rows, err, "already gone")
		if err != nil {
			return err
		}
		for r := range hit {
			for _, p := range snap.pools {
				if p.ID == r.sub {
					p.Assigned--
				}
			}
		}
		return nil
	case licensing.ChangeUnwait:
		for _, rc := range batch {
			seat(rc)
		}
		rows, err := tx.QueryxContext(ctx, provUnwaitSQL, acct, pq.Array(subs), pq.Array(mems))
		_, err = done(rows, err, "already gone")
		return err
	case licensing.ChangeDismiss:
		var users []int64
		for _, rc := range batch {
			p := snap.people[rc.MembershipID]
			if p.Role == string(licensing.Owner) {
				// One owner at a time, so that the last active owner stays.
				if err := keepsAnOwner(ctx, tx, acct, member{ID: p.ID, Role: p.Role, Status: p.Status}); err != nil {
					rc.Skipped = "the last active owner stays"
					continue
				}
				if _, err := tx.ExecContext(ctx, provDismissSQL, acct, pq.Array([]int64{p.ID})); err != nil {
					return err
				}
			}
			mems, users = append(mems, p.ID), append(users, p.UserID)
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{provDismissSQL, []any{acct, pq.Array(mems)}},
			{provEndSessionsSQL, []any{acct, pq.Array(users)}},
			{provRevokeInvitesSQL, []any{acct, pq.Array(mems), now}},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
				return err
			}
		}
		return nil
	case licensing.ChangeAdmit, licensing.ChangeRole:
		for _, rc := range batch {
			p := snap.people[rc.MembershipID]
			role := rc.Role
			if p.Role == string(licensing.Owner) { // the rules never give or take the owner role
				if kind == licensing.ChangeRole {
					rc.Skipped = "an owner's role is the owners' to change"
					continue
				}
				role = p.Role
			}
			rc.Role = role
			mems, texts = append(mems, p.ID), append(texts, role)
		}
		q := provAdmitSQL
		if kind == licensing.ChangeRole {
			q = provRoleSQL
		}
		_, err := tx.ExecContext(ctx, q, acct, pq.Array(mems), pq.Array(texts))
		return err
	case licensing.ChangeRetag:
		for _, rc := range batch {
			if _, ok := seat(rc); ok {
				texts, rules = append(texts, string(rc.Source)), append(rules, rc.RuleID)
			}
		}
		_, err := tx.ExecContext(ctx, provRetagSQL, acct, pq.Array(subs), pq.Array(mems), pq.Array(texts), pq.Array(rules))
		return err
	case licensing.ChangeAssign:
		for _, rc := range batch {
			pool := snap.pools[rc.Product]
			switch {
			case pool == nil || !pool.hasSeats():
				rc.Skipped = "the subscription has no seats"
				continue
			case pool.Assigned >= pool.Effective:
				rc.Skipped = "no seat left" // never oversold, whatever the snapshot said
				continue
			}
			pool.Assigned++
			seat(rc)
			texts, rules, flags = append(texts, string(rc.Source)), append(rules, rc.RuleID), append(flags, rc.Pinned)
		}
		rows, err := tx.QueryxContext(ctx, provAssignSQL, acct, now, pq.Array(subs), pq.Array(mems), pq.Array(texts),
			pq.Array(rules), pq.Array(flags))
		hit, err := done(rows, err, "held already")
		if err != nil {
			return err
		}
		for i, rc := range todo {
			if !hit[seatRef{subs[i], mems[i]}] {
				snap.pools[rc.Product].Assigned--
			}
		}
		return nil
	case licensing.ChangeWait:
		for _, rc := range batch {
			if pool, ok := seat(rc); ok {
				rules, texts = append(rules, rc.RuleID), append(texts, rc.Reason)
				ints = append(ints, int64(max(positions[seatRef{pool.ID, rc.MembershipID}], 1)))
			}
		}
		_, err := tx.ExecContext(ctx, provWaitSQL, acct, now, pq.Array(subs), pq.Array(mems), pq.Array(rules),
			pq.Array(texts), pq.Array(ints))
		return err
	}
	for _, rc := range batch {
		rc.Skipped = "unknown change"
	}
	return nil
}

// auditEvent is a change's audit entry.
func (snap *provSnapshot) auditEvent(rc ReconcileChange, positions map[seatRef]int) AuditEvent {
	p := snap.people[rc.MembershipID]
	ev := AuditEvent{AccountID: snap.accountID, TargetType: "membership", TargetID: itoa(rc.MembershipID)}
	seat := map[string]any{"email": p.Email, "product": rc.Product}
	pool := snap.pools[rc.Product]
	if pool != nil {
		seat["subscription"] = pool.ID
	}
	with := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{"cause": rc.Cause()}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	switch rc.Kind {
	case licensing.ChangeUnassign:
		ev.Action, ev.Before, ev.After = "seat.unassign", with(seat, "source", string(rc.Source), "rule", rc.RuleID), map[string]any{"cause": rc.Cause()}
	case licensing.ChangeAssign:
		ev.Action, ev.After = "seat.assign", with(seat, "source", string(rc.Source), "rule", rc.RuleID, "pinned", rc.Pinned)
	case licensing.ChangeRetag:
		ev.Action, ev.After = "seat.retag", with(seat, "source", string(rc.Source), "rule", rc.RuleID)
	case licensing.ChangeWait:
		position := 0
		if pool != nil {
			position = positions[seatRef{pool.ID, rc.MembershipID}]
		}
		ev.Action, ev.After = "seat.wait", with(seat, "rule", rc.RuleID, "position", position)
	case licensing.ChangeUnwait:
		ev.Action, ev.Before, ev.After = "seat.unwait", seat, map[string]any{"cause": rc.Cause()}
	case licensing.ChangeAdmit:
		ev.Action = "member.admit"
		ev.Before = map[string]any{"email": p.Email, "status": p.Status, "role": p.Role}
		ev.After = with(nil, "email", p.Email, "status", "active", "role", rc.Role)
	case licensing.ChangeDismiss:
		ev.Action = "member.dismiss"
		ev.Before = map[string]any{"email": p.Email, "status": p.Status, "role": p.Role}
		ev.After = with(nil, "email", p.Email, "status", "deactivated", "sessions_ended", true)
	case licensing.ChangeRole:
		ev.Action = "member.role"
		ev.Before = map[string]any{"email": p.Email, "role": p.Role}
		ev.After = with(nil, "email", p.Email, "role", rc.Role)
	}
	return ev
}
