package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// NewCustomerAccount is an account the vendor creates (console or CLI).
type NewCustomerAccount struct {
	Name       string
	OwnerEmail string
	Plan       string // optional plan key
	Trial      bool   // the plan's trial, started through billing by the caller
	Seats      int    // a granted seat-based plan's seats (default 1)
	ExternalID string // the vendor's own id for this customer, unique
	BaseURL    string // the portal's public URL, for the owner's invitation
}

// CreatedAccount is what creating an account made.
type CreatedAccount struct {
	ID    int64
	Slug  string
	Name  string
	Owner string
}

const (
	currentPlanVersionSQL = `
SELECT pv.id, pl.product_id, pv.seat_based, pv.trial_days FROM plan_version pv JOIN plan pl ON pl.id = pv.plan_id
WHERE pl.key = $1 ORDER BY pv.version DESC LIMIT 1`
	insertInvitedOwnerSQL = `
INSERT INTO membership (account_id, user_id, role, status, source, created_at)
VALUES ($1, $2, 'owner', 'invited', 'manual', $3) RETURNING id`
	insertGrantedSubscriptionSQL = `
INSERT INTO subscription (account_id, product_id, plan_version_id, status, seats, created_at, updated_at)
VALUES ($1, $2, $3, 'active', $4, $5, $5) RETURNING id`
)

// CreateAccount creates a customer account with its owner invited (a
// single-use link mailed through the outbox). A plan without Trial is a
// vendor grant: the subscription is active at once, with no Stripe behind
// it. A plan with Trial is left to the caller's billing, so the account is
// created without a subscription. Audited in the new account's chain.
func (s *Store) CreateAccount(ctx context.Context, actor Actor, in NewCustomerAccount) (CreatedAccount, error) {
	fields := map[string]string{}
	if p := licensing.CompanyProblem(in.Name); p != "" {
		fields["name"] = p
	}
	owner, ok := licensing.NormalizeEmail(in.OwnerEmail)
	if !ok || len(owner) > licensing.MaxEmailLength {
		fields["owner"] = "enter the owner's email address, like ann@example.com"
	}
	ext := sql.NullString{String: strings.TrimSpace(in.ExternalID), Valid: strings.TrimSpace(in.ExternalID) != ""}
	if len(ext.String) > 200 {
		fields["external_id"] = "at most 200 characters"
	}
	var pv struct {
		ID        int64 `db:"id"`
		ProductID int64 `db:"product_id"`
		SeatBased bool  `db:"seat_based"`
		TrialDays int   `db:"trial_days"`
	}
	if in.Plan != "" {
		err := s.db.GetContext(ctx, &pv, currentPlanVersionSQL, in.Plan)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			fields["plan"] = "no such plan in the catalog"
		case err != nil:
			return CreatedAccount{}, err
		case in.Trial && pv.TrialDays == 0:
			fields["plan"] = "this plan has no trial: grant it instead"
		}
	} else if in.Trial {
		fields["plan"] = "choose the plan to try"
	}
	seats := max(in.Seats, 1)
	if !pv.SeatBased {
		seats = 1
	}
	if in.Seats > 100000 {
		fields["seats"] = "at most 100,000 seats"
	}
	if len(fields) > 0 {
		return CreatedAccount{}, &ValidationError{Fields: fields}
	}
	now := s.Now()
	var out CreatedAccount
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		acct, err := insertAccount(ctx, tx, now, in.Name, ext)
		var pqErr *pq.Error
		if errors.As(err, &pqErr) && pqErr.Code == "23505" {
			return Invalid("external_id", "another account already has the external id "+ext.String)
		}
		if err != nil {
			return err
		}
		var userID, membershipID int64
		err = tx.GetContext(ctx, &userID, userByEmailSQL, owner)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.GetContext(ctx, &userID, newUserSQL, owner, now)
		}
		if err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &membershipID, insertInvitedOwnerSQL, acct.ID, userID, now); err != nil {
			return err
		}
		if _, err := issueInvitation(ctx, tx, now, invitationMail{AccountID: acct.ID, AccountName: acct.Name,
			MembershipID: membershipID, Inviter: "Your vendor", Email: owner, Role: "owner", BaseURL: in.BaseURL}); err != nil {
			return err
		}
		after := map[string]any{"name": acct.Name, "slug": acct.Slug, "owner": owner}
		if ext.Valid {
			after["external_id"] = ext.String
		}
		if in.Plan != "" && !in.Trial {
			var subID int64
			if err := tx.GetContext(ctx, &subID, insertGrantedSubscriptionSQL, acct.ID, pv.ProductID, pv.ID, seats, now); err != nil {
				return err
			}
			after["granted_plan"], after["seats"] = in.Plan, seats
		}
		if in.Trial {
			after["trial_plan"] = in.Plan
		}
		out = CreatedAccount{ID: acct.ID, Slug: acct.Slug, Name: acct.Name, Owner: owner}
		return audit(ctx, tx, now, AuditEvent{AccountID: acct.ID, Actor: actor, Action: "account.create",
			TargetType: "account", TargetID: acct.Slug, After: after})
	})
	if err != nil {
		return CreatedAccount{}, fmt.Errorf("create account: %w", err)
	}
	return out, nil
}
