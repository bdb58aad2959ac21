package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/entitle-dev/entitle/licensing"
)

// RuleInput is a rule as the settings form sends it: members of the group
// get the role (empty: none) and a seat of the product (empty: none).
type RuleInput struct {
	GroupID    int64
	Role       string
	ProductKey string
	Priority   int
}

// RuleChange is one edit of /settings/provisioning: add a rule, delete one,
// or set the unmatched policy (empty: unchanged).
type RuleChange struct {
	Add       *RuleInput
	DeleteID  int64
	Unmatched licensing.UnmatchedPolicy
}

// RuleEffect is what a rule change does to people, in Diff's order.
type RuleEffect struct {
	Changes []ReconcileChange
}

func (e RuleEffect) of(kinds ...licensing.ChangeKind) []ReconcileChange {
	var out []ReconcileChange
	for _, c := range e.Changes {
		for _, k := range kinds {
			if c.Kind == k && c.Skipped == "" {
				out = append(out, c)
			}
		}
	}
	return out
}

// Gains are the seats given.
func (e RuleEffect) Gains() []ReconcileChange { return e.of(licensing.ChangeAssign) }

// Losses are the seats taken.
func (e RuleEffect) Losses() []ReconcileChange { return e.of(licensing.ChangeUnassign) }

// Waits are the people put on a waiting list.
func (e RuleEffect) Waits() []ReconcileChange { return e.of(licensing.ChangeWait) }

// Standing is who is admitted, dismissed or gets another role.
func (e RuleEffect) Standing() []ReconcileChange {
	return e.of(licensing.ChangeAdmit, licensing.ChangeDismiss, licensing.ChangeRole)
}

const (
	ruleGroupSQL   = `SELECT id FROM idp_group WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL`
	ruleProductSQL = `SELECT id FROM product WHERE key = $1`
	insertRuleSQL  = `
INSERT INTO provisioning_rule (account_id, group_id, role, product_id, priority, created_at)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`
	deleteRuleSQL = `
DELETE FROM provisioning_rule r USING idp_group g
WHERE r.account_id = $1 AND r.id = $2 AND g.id = r.group_id
RETURNING r.group_id, g.display_name, r.role, r.priority, coalesce((SELECT key FROM product WHERE id = r.product_id), '') AS product`
	unmatchedSQL    = `SELECT unmatched_policy FROM account WHERE id = $1 FOR UPDATE`
	setUnmatchedSQL = `UPDATE account SET unmatched_policy = $2 WHERE id = $1`
)

// ChangeProvisioningRules applies a rule change and everything it means for
// people, in one transaction holding the account's provisioning lock: the
// change is audited, and so is each seat, waiting entry, admission and role
// it gives or takes. With dryRun the same transaction runs and is rolled
// back, so the settings page shows exactly what saving would do.
func (s *Store) ChangeProvisioningRules(ctx context.Context, p Principal, ch RuleChange, dryRun bool) (RuleEffect, error) {
	now := s.Now()
	var eff RuleEffect
	err := s.txPreview(ctx, dryRun, func(tx *sqlx.Tx) error {
		if err := lockProvisioning(ctx, tx, p.AccountID, true); err != nil {
			return err
		}
		if _, err := authorize(ctx, tx, p, licensing.ManageProvisioning); err != nil {
			return err
		}
		if err := applyRuleChange(ctx, tx, now, p, ch); err != nil {
			return err
		}
		rep, err := reconcileLocked(ctx, tx, now, p.AccountID, p.actor(), modeCaused, false)
		if err != nil {
			return err
		}
		eff.Changes = rep.Changes
		return nil
	})
	return eff, err
}

func applyRuleChange(ctx context.Context, tx *sqlx.Tx, now time.Time, p Principal, ch RuleChange) error {
	switch {
	case ch.Add != nil:
		r := *ch.Add
		r.Role = strings.TrimSpace(r.Role)
		var productID sql.NullInt64
		switch {
		case r.Role != "" && r.Role != string(licensing.Admin) && r.Role != string(licensing.Billing) && r.Role != string(licensing.Member):
			return Invalid("role", "a rule gives the role admin, billing or member (owners are made by owners)")
		case r.Role == "" && r.ProductKey == "":
			return Invalid("product", "a rule gives a seat, a role, or both")
		case r.Priority < 1 || r.Priority > 1000000:
			return Invalid("priority", "priority is a whole number from 1 (first served) to 1000000")
		}
		var groupID int64
		if err := tx.GetContext(ctx, &groupID, ruleGroupSQL, p.AccountID, r.GroupID); err != nil {
			return notFound(err)
		}
		if r.ProductKey != "" {
			if err := tx.GetContext(ctx, &productID, ruleProductSQL, r.ProductKey); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return Invalid("product", "no such product")
				}
				return err
			}
		}
		var id int64
		if err := tx.GetContext(ctx, &id, insertRuleSQL, p.AccountID, groupID, r.Role, productID, r.Priority, now); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: p.AccountID, Actor: p.actor(), Action: "provisioning.rule_create",
			TargetType: "provisioning_rule", TargetID: itoa(id),
			After: map[string]any{"group": groupID, "role": r.Role, "product": r.ProductKey, "priority": r.Priority}})
	case ch.DeleteID != 0:
		var gone struct {
			GroupID   int64  `db:"group_id"`
			GroupName string `db:"display_name"`
			Role      string `db:"role"`
			Priority  int    `db:"priority"`
			Product   string `db:"product"`
		}
		if err := tx.GetContext(ctx, &gone, deleteRuleSQL, p.AccountID, ch.DeleteID); err != nil {
			return notFound(err)
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: p.AccountID, Actor: p.actor(), Action: "provisioning.rule_delete",
			TargetType: "provisioning_rule", TargetID: itoa(ch.DeleteID),
			Before: map[string]any{"group": gone.GroupName, "role": gone.Role, "product": gone.Product, "priority": gone.Priority}})
	case ch.Unmatched != "":
		if !ch.Unmatched.Valid() {
			return Invalid("unmatched", "choose whether unmatched users are admitted as members or not admitted")
		}
		var before string
		if err := tx.GetContext(ctx, &before, unmatchedSQL, p.AccountID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, setUnmatchedSQL, p.AccountID, string(ch.Unmatched)); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: p.AccountID, Actor: p.actor(), Action: "provisioning.unmatched_policy",
			TargetType: "account", TargetID: itoa(p.AccountID),
			Before: map[string]any{"unmatched": before}, After: map[string]any{"unmatched": string(ch.Unmatched)}})
	}
	return Invalid("rule", "nothing to change")
}
