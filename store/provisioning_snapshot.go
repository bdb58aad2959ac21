package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// provisioningLockClass is the first key of the advisory lock that orders
// provisioning in one account: SCIM writes hold it shared (they run side by
// side), the reconciler and rule changes hold it exclusively, so that the
// reconciler decides from a snapshot no SCIM write is half-way through.
// Taken first in its transaction, before any row lock.
const provisioningLockClass = 0x5052 // "PR"

const (
	lockProvisioningSharedSQL    = `SELECT pg_advisory_xact_lock_shared($1, $2::int)`
	lockProvisioningExclusiveSQL = `SELECT pg_advisory_xact_lock($1, $2::int)`
)

func lockProvisioning(ctx context.Context, tx *sqlx.Tx, accountID int64, exclusive bool) error {
	q := lockProvisioningSharedSQL
	if exclusive {
		q = lockProvisioningExclusiveSQL
	}
	_, err := tx.ExecContext(ctx, q, provisioningLockClass, accountID)
	return err
}

// provPerson is a membership as provisioning reads it.
type provPerson struct {
	ID         int64  `db:"id"`
	UserID     int64  `db:"user_id"`
	Email      string `db:"email"`
	Role       string `db:"role"`
	Status     string `db:"status"`
	Source     string `db:"source"`
	SCIMActive bool   `db:"scim_active"`
	Live       bool   `db:"live"`     // the identity provider has not deleted it
	JITRole    string `db:"jit_role"` // set for people single sign-on created just in time
}

func (p provPerson) provisioned() bool { return p.Source == "scim" }

// active is what Provision calls Active: for a provisioned person the
// identity provider's word; for anyone else, not removed.
func (p provPerson) active() bool {
	if p.provisioned() {
		return p.Live && p.SCIMActive
	}
	return p.Status != "deactivated"
}

// provPool is a subscription as provisioning reads it.
type provPool struct {
	ID         int64  `db:"id"`
	ProductID  int64  `db:"product_id"`
	ProductKey string `db:"product_key"`
	Seats      int    `db:"seats"`
	Status     string `db:"status"`
	SeatBased  bool   `db:"seat_based"`
	Effective  int    `db:"-"`
	Assigned   int    `db:"-"`
}

// hasSeats: a pool rules can give seats of.
func (p provPool) hasSeats() bool { return p.SeatBased && p.Status != string(licensing.Canceled) }

// provSnapshot is one account's provisioning state as the database holds
// it: the input of licensing.Provision and the Actual of licensing.Diff.
type provSnapshot struct {
	accountID int64
	people    map[int64]provPerson
	pools     map[string]*provPool // by product key, every subscription
	input     licensing.ProvisioningInput
	actual    licensing.Actual
}

const (
	provPeopleSQL = `
SELECT m.id, m.user_id, u.email, m.role, m.status, m.source, m.scim_active, m.scim_id IS NOT NULL AS live,
       coalesce(m.jit_role, '') AS jit_role
FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = $1 AND ($2::bigint[] IS NULL OR m.id = ANY($2))`
	provGroupsSQL = `
SELECT gm.membership_id, gm.group_id, gm.since
FROM idp_group_member gm JOIN idp_group g ON g.id = gm.group_id
WHERE gm.account_id = $1 AND g.deleted_at IS NULL AND ($2::bigint[] IS NULL OR gm.membership_id = ANY($2))`
	provRulesSQL = `
SELECT r.id, r.group_id, r.role, coalesce(p.key, '') AS product, r.priority
FROM provisioning_rule r LEFT JOIN product p ON p.id = r.product_id
WHERE r.account_id = $1`
	provPoolsSQL = `
SELECT s.id, s.product_id, p.key AS product_key, s.seats, s.status, pv.seat_based
FROM subscription s JOIN product p ON p.id = s.product_id JOIN plan_version pv ON pv.id = s.plan_version_id
WHERE s.account_id = $1 ORDER BY s.id`
	// The reconciler locks every subscription of the account, in id order,
	// as a manual assignment locks the one it assigns from.
	lockProvPoolsSQL = `SELECT id FROM subscription WHERE account_id = $1 ORDER BY id FOR UPDATE`
	provHeldSQL      = `
SELECT sa.membership_id, sa.subscription_id, sa.source, coalesce(sa.rule_id, 0) AS rule_id, sa.pinned
FROM seat_assignment sa
WHERE sa.account_id = $1 AND ($2::bigint[] IS NULL OR sa.membership_id = ANY($2))`
	provWaitingSQL = `
SELECT w.membership_id, w.subscription_id, coalesce(w.rule_id, 0) AS rule_id, w.position
FROM waiting_entry w
WHERE w.account_id = $1 AND ($2::bigint[] IS NULL OR w.membership_id = ANY($2))`
	provAssignedSQL  = `SELECT subscription_id, count(*) AS n FROM seat_assignment WHERE account_id = $1 GROUP BY subscription_id`
	provUnmatchedSQL = `SELECT unmatched_policy FROM account WHERE id = $1`
)

// loadProvisioning reads the snapshot inside tx: every membership of the
// account when only is nil, else just those memberships (and their seats,
// groups and waiting entries), for changes that concern only them.
func loadProvisioning(ctx context.Context, tx *sqlx.Tx, now time.Time, accountID int64, only []int64) (*provSnapshot, error) {
	snap := &provSnapshot{accountID: accountID, people: map[int64]provPerson{}, pools: map[string]*provPool{}}
	snap.actual.Members = map[int64]licensing.Admission{}
	var filter any
	if only != nil {
		filter = pq.Array(only)
	}

	var people []provPerson
	if err := tx.SelectContext(ctx, &people, provPeopleSQL, accountID, filter); err != nil {
		return nil, err
	}
	persons := map[int64]*licensing.Person{}
	for _, p := range people {
		snap.people[p.ID] = p
		persons[p.ID] = &licensing.Person{MembershipID: p.ID, Active: p.active(), Provisioned: p.provisioned(),
			DefaultRole: p.JITRole}
		snap.actual.Members[p.ID] = licensing.Admission{Admitted: p.Status == "active", Role: p.Role}
	}
	var groups []struct {
		MembershipID int64     `db:"membership_id"`
		GroupID      int64     `db:"group_id"`
		Since        time.Time `db:"since"`
	}
	if err := tx.SelectContext(ctx, &groups, provGroupsSQL, accountID, filter); err != nil {
		return nil, err
	}
	for _, g := range groups {
		if p := persons[g.MembershipID]; p != nil {
			p.Groups = append(p.Groups, licensing.GroupMembership{GroupID: g.GroupID, Since: g.Since})
		}
	}
	for _, p := range persons {
		snap.input.People = append(snap.input.People, *p)
	}

	var rules []struct {
		ID       int64  `db:"id"`
		GroupID  int64  `db:"group_id"`
		Role     string `db:"role"`
		Product  string `db:"product"`
		Priority int    `db:"priority"`
	}
	if err := tx.SelectContext(ctx, &rules, provRulesSQL, accountID); err != nil {
		return nil, err
	}
	for _, r := range rules {
		snap.input.Rules = append(snap.input.Rules, licensing.Rule{ID: r.ID, GroupID: r.GroupID, Role: r.Role,
			Product: r.Product, Priority: r.Priority})
	}
	var policy string
	if err := tx.GetContext(ctx, &policy, provUnmatchedSQL, accountID); err != nil {
		return nil, err
	}
	snap.input.Unmatched = licensing.UnmatchedPolicy(policy)

	if err := snap.loadPools(ctx, tx, now); err != nil {
		return nil, err
	}
	bySub := map[int64]string{}
	for key, p := range snap.pools {
		bySub[p.ID] = key
	}
	var held []struct {
		MembershipID   int64  `db:"membership_id"`
		SubscriptionID int64  `db:"subscription_id"`
		Source         string `db:"source"`
		RuleID         int64  `db:"rule_id"`
		Pinned         bool   `db:"pinned"`
	}
	if err := tx.SelectContext(ctx, &held, provHeldSQL, accountID, filter); err != nil {
		return nil, err
	}
	for _, h := range held {
		seat := licensing.Seat{MembershipID: h.MembershipID, Product: bySub[h.SubscriptionID],
			Source: licensing.SeatSource(h.Source), RuleID: h.RuleID, Pinned: h.Pinned}
		snap.input.Held = append(snap.input.Held, seat)
	}
	snap.actual.Seats = snap.input.Held
	var waiting []struct {
		MembershipID   int64 `db:"membership_id"`
		SubscriptionID int64 `db:"subscription_id"`
		RuleID         int64 `db:"rule_id"`
		Position       int   `db:"position"`
	}
	if err := tx.SelectContext(ctx, &waiting, provWaitingSQL, accountID, filter); err != nil {
		return nil, err
	}
	for _, w := range waiting {
		snap.actual.Waiting = append(snap.actual.Waiting, licensing.Waiting{MembershipID: w.MembershipID,
			Product: bySub[w.SubscriptionID], RuleID: w.RuleID, Position: w.Position})
	}
	return snap, nil
}

// loadPools reads the subscriptions, their effective seats (purchased plus
// vendor grants) and how many are assigned. Only seat-based, not canceled
// subscriptions are pools the rules give seats of.
func (snap *provSnapshot) loadPools(ctx context.Context, tx *sqlx.Tx, now time.Time) error {
	var pools []provPool
	if err := tx.SelectContext(ctx, &pools, provPoolsSQL, snap.accountID); err != nil {
		return err
	}
	var grants []struct {
		ProductID int64        `db:"product_id"`
		Amount    int64        `db:"amount"`
		ExpiresAt sql.NullTime `db:"expires_at"`
	}
	if err := tx.SelectContext(ctx, &grants, accountSeatGrantsSQL, snap.accountID); err != nil {
		return err
	}
	var assigned []struct {
		SubscriptionID int64 `db:"subscription_id"`
		N              int   `db:"n"`
	}
	if err := tx.SelectContext(ctx, &assigned, provAssignedSQL, snap.accountID); err != nil {
		return err
	}
	for i := range pools {
		p := &pools[i]
		var gs []licensing.Grant
		for _, g := range grants {
			if g.ProductID == p.ProductID {
				gs = append(gs, licensing.Grant{Kind: licensing.GrantExtraSeats, Amount: g.Amount, ExpiresAt: g.ExpiresAt.Time})
			}
		}
		p.Effective = licensing.EffectiveSeats(p.Seats, gs, now)
		for _, a := range assigned {
			if a.SubscriptionID == p.ID {
				p.Assigned = a.N
			}
		}
		snap.pools[p.ProductKey] = p
		if p.hasSeats() {
			snap.input.Pools = append(snap.input.Pools, licensing.Pool{Product: p.ProductKey, Seats: p.Effective})
		}
	}
	return nil
}
