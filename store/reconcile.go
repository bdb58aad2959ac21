package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// ReconcileOptions tunes one run of the reconciler.
type ReconcileOptions struct {
	// DryRun computes and reports the changes in a transaction that is
	// rolled back: nothing changes, nothing is counted.
	DryRun bool
	// Actor signs the audit entries; the reconciler (system) when empty.
	Actor Actor
}

// ReconcileReport is what one account's run found (and repaired).
type ReconcileReport struct {
	AccountID   int64
	AccountSlug string
	Changes     []ReconcileChange
	Drifts      int // changes that were drift (see ReconcileChange.Drift), applied or, in a dry run, found
}

// Applied counts the changes made (or, in a dry run, that would be).
func (r ReconcileReport) Applied() int {
	n := 0
	for _, c := range r.Changes {
		if c.Skipped == "" {
			n++
		}
	}
	return n
}

// ReconcilerActor signs the reconciler's own repairs.
var ReconcilerActor = SystemActor("reconciler")

const (
	countDriftSQL   = `UPDATE account SET drifts_repaired = drifts_repaired + $2, reconciled_at = $3 WHERE id = $1`
	accountSlugSQL  = `SELECT slug FROM account WHERE id = $1`
	allAccountIDSQL = `SELECT id FROM account ORDER BY id`
)

// Reconcile compares one account's desired assignments (licensing.Provision
// of its people, groups, rules, pools and pinned seats) with the database
// and repairs every difference, in one transaction that holds the account's
// provisioning lock and its subscriptions' row locks, each repair audited
// with its cause. Drifts found are added to the account's counter. A
// deadlock with a concurrent manual assignment is retried.
func (s *Store) Reconcile(ctx context.Context, accountID int64, opts ReconcileOptions) (ReconcileReport, error) {
	if opts.Actor.Type == "" {
		opts.Actor = ReconcilerActor
	}
	var rep ReconcileReport
	var err error
	for attempt := 1; ; attempt++ {
		err = s.txPreview(ctx, opts.DryRun, func(tx *sqlx.Tx) error {
			if err := lockProvisioning(ctx, tx, accountID, true); err != nil {
				return err
			}
			var slug string
			if err := tx.GetContext(ctx, &slug, accountSlugSQL, accountID); err != nil {
				return notFound(err)
			}
			rep, err = reconcileLocked(ctx, tx, s.Now(), accountID, opts.Actor, modeSweep, !opts.DryRun)
			rep.AccountSlug = slug
			return err
		})
		if !retryable40(err) || attempt == 3 {
			return rep, err
		}
	}
}

// ReconcileAll reconciles every account in turn (the periodic sweep and
// `entitle provisioning reconcile` without an account).
func (s *Store) ReconcileAll(ctx context.Context, opts ReconcileOptions) ([]ReconcileReport, error) {
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, allAccountIDSQL); err != nil {
		return nil, err
	}
	var out []ReconcileReport
	for _, id := range ids {
		rep, err := s.Reconcile(ctx, id, opts)
		if err != nil {
			return out, err
		}
		out = append(out, rep)
	}
	return out, nil
}

// reconcileLocked runs Provision and Diff on the whole account and applies
// the result. The caller holds the provisioning lock exclusively.
func reconcileLocked(ctx context.Context, tx *sqlx.Tx, now time.Time, accountID int64, actor Actor,
	mode reconcileMode, count bool) (ReconcileReport, error) {
	rep := ReconcileReport{AccountID: accountID}
	if _, err := tx.ExecContext(ctx, lockProvPoolsSQL, accountID); err != nil {
		return rep, err
	}
	snap, err := loadProvisioning(ctx, tx, now, accountID, nil)
	if err != nil {
		return rep, err
	}
	want := licensing.Provision(snap.input)
	changes := licensing.Diff(want, snap.actual)
	rep.Changes, err = snap.apply(ctx, tx, now, actor, mode, want, changes)
	if err != nil {
		return rep, err
	}
	for _, c := range rep.Changes {
		if c.Drift && c.Skipped == "" {
			rep.Drifts++
		}
	}
	if count {
		if _, err := tx.ExecContext(ctx, countDriftSQL, accountID, rep.Drifts, now); err != nil {
			return rep, err
		}
	}
	if rep.Applied() > 0 {
		err = notifyAccountChanged(ctx, tx, accountID)
	}
	if err == nil && count && rep.Drifts > 0 {
		err = emitWebhookLocked(ctx, tx, now, accountID, EventDriftRepaired, map[string]any{
			"drifts": rep.Drifts, "changes": rep.Applied()})
	}
	return rep, err
}

// settlePeople applies, inside a SCIM write's transaction, what the write
// means for the people it touched alone: their standing and role, and the
// seats and waiting entries they no longer qualify for (all of them when
// deactivated or deleted), each audited with the SCIM token as the actor.
// Giving seats of a short pool needs everyone in view and is the
// reconciler's, right after the write commits.
func settlePeople(ctx context.Context, tx *sqlx.Tx, now time.Time, accountID int64, actor Actor, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	snap, err := loadProvisioning(ctx, tx, now, accountID, ids)
	if err != nil {
		return err
	}
	want := licensing.Provision(snap.input)
	_, err = snap.apply(ctx, tx, now, actor, modeLocal, want, licensing.Diff(want, snap.actual))
	return err
}

// retryable40 is a deadlock or a serialization failure: the transaction
// may simply be run again.
func retryable40(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && (pqErr.Code == "40P01" || pqErr.Code == "40001")
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// provisioningFingerprintSQL digests what the seats of an account depend
// on (the memberships in a group, holding a seat or waiting for one, group
// memberships, rules, the unmatched policy, subscriptions, live seat
// grants, seats, waiting entries): equal digests, nothing for the
// background reconciler to do. A person in no group, without a seat or a
// place on a waiting list, is settled by the SCIM write that touched them,
// so the many creates of an initial import do not wake it; the periodic
// sweep reconciles everyone regardless.
const provisioningFingerprintSQL = `
SELECT md5(
  coalesce((SELECT string_agg(m.id || ':' || m.status || ':' || m.role || ':' || m.source || ':' || m.scim_active::text || ':' ||
                              (m.scim_id IS NOT NULL)::text, ',' ORDER BY m.id)
            FROM membership m WHERE m.account_id = $1 AND m.id IN (
              SELECT membership_id FROM idp_group_member WHERE account_id = $1
              UNION SELECT membership_id FROM seat_assignment WHERE account_id = $1
              UNION SELECT membership_id FROM waiting_entry WHERE account_id = $1)), '') || '|' ||
  coalesce((SELECT string_agg(gm.group_id || ':' || gm.membership_id || ':' || gm.since::text, ',' ORDER BY gm.group_id, gm.membership_id)
            FROM idp_group_member gm JOIN idp_group g ON g.id = gm.group_id
            WHERE gm.account_id = $1 AND g.deleted_at IS NULL), '') || '|' ||
  coalesce((SELECT string_agg(r.id || ':' || r.group_id || ':' || r.role || ':' || coalesce(r.product_id, 0) || ':' || r.priority, ','
                              ORDER BY r.id)
            FROM provisioning_rule r WHERE r.account_id = $1), '') || '|' ||
  (SELECT unmatched_policy FROM account WHERE id = $1) || '|' ||
  coalesce((SELECT string_agg(s.id || ':' || s.seats || ':' || s.status || ':' || s.plan_version_id, ',' ORDER BY s.id)
            FROM subscription s WHERE s.account_id = $1), '') || '|' ||
  coalesce((SELECT string_agg(g.id || ':' || g.amount, ',' ORDER BY g.id) FROM entitlement_grant g
            WHERE g.account_id = $1 AND g.kind = 'extra_seats' AND g.revoked_at IS NULL
              AND (g.expires_at IS NULL OR g.expires_at > $2)), '') || '|' ||
  coalesce((SELECT string_agg(sa.subscription_id || ':' || sa.membership_id || ':' || sa.source || ':' ||
                              coalesce(sa.rule_id, 0) || ':' || sa.pinned::text, ',' ORDER BY sa.subscription_id, sa.membership_id)
            FROM seat_assignment sa WHERE sa.account_id = $1), '') || '|' ||
  coalesce((SELECT string_agg(w.subscription_id || ':' || w.membership_id || ':' || coalesce(w.rule_id, 0) || ':' || w.position, ','
                              ORDER BY w.subscription_id, w.membership_id)
            FROM waiting_entry w WHERE w.account_id = $1), ''))`

func provisioningFingerprint(ctx context.Context, q sqlx.QueryerContext, now time.Time, accountID int64) (string, error) {
	var fp string
	err := sqlx.GetContext(ctx, q, &fp, provisioningFingerprintSQL, accountID, now)
	return fp, err
}

// reconcileIfChanged is the background reconciler's run: it does nothing
// (and takes no lock) when the account's provisioning state is the one its
// last run started from, and otherwise reconciles, returning the digest of
// the state this run started from. The digest is taken once, before the
// run's locks: a change committed after it changes the next digest, so it
// is never skipped (at worst the next run finds nothing to do).
func (s *Store) reconcileIfChanged(ctx context.Context, accountID int64, last string) (ReconcileReport, string, error) {
	start, err := provisioningFingerprint(ctx, s.db, s.Now(), accountID)
	if err != nil || start == last {
		return ReconcileReport{}, last, err
	}
	var rep ReconcileReport
	for attempt := 1; ; attempt++ {
		err = s.tx(ctx, func(tx *sqlx.Tx) error {
			if err := lockProvisioning(ctx, tx, accountID, true); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, lockProvPoolsSQL, accountID); err != nil {
				return err
			}
			var err error
			rep, err = reconcileLocked(ctx, tx, s.Now(), accountID, ReconcilerActor, modeSweep, true)
			return err
		})
		if !retryable40(err) || attempt == 3 {
			return rep, start, err
		}
	}
}
