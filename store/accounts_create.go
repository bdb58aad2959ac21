package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// ChangedAccounts is the ChangesChannel payload announcing that an
// account's slug or external id changed (caches of account names drop).
const ChangedAccounts = "accounts"

// ExternalIDPrefix marks an account reference as the vendor's own id:
// "ext:crm-4711" rather than the slug.
const ExternalIDPrefix = "ext:"

// AccountByRef finds an account by slug, or by external id when ref starts
// with ExternalIDPrefix.
func (s *Store) AccountByRef(ctx context.Context, ref string) (Account, error) {
	if ext, ok := strings.CutPrefix(ref, ExternalIDPrefix); ok {
		return s.getAccount(ctx, accountByExternalIDSQL, ext)
	}
	return s.AccountBySlug(ctx, ref)
}

const accountByExternalIDSQL = `SELECT ` + accountColumns + ` FROM account a WHERE a.external_id = $1`

// NewAccount is what the vendor gives to create an account.
type NewAccount struct {
	Name       string
	ExternalID string // optional: the vendor's own id
	OwnerEmail string // invited as the first owner
	Plan       string // optional: a plan key of the catalog
	Start      string // with Plan: "trial" (the plan's trial) or "grant" (active, billed elsewhere)
	Seats      int    // with a seat-based plan (default 1)
	BaseURL    string // the portal's URL, for the invitation link
}

var slugUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

const (
	insertAccountSQL   = `INSERT INTO account (slug, name, external_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id`
	slugTakenSQL       = `SELECT count(*) FROM account WHERE slug = $1 OR slug LIKE $1 || '-%'`
	externalIDOwnerSQL = `SELECT slug FROM account WHERE external_id = $1`
	planForAccountSQL  = `
SELECT pv.id, pr.id AS product_id, pv.seat_based, pv.trial_days FROM plan pl
JOIN product pr ON pr.id = pl.product_id
JOIN plan_version pv ON pv.plan_id = pl.id
WHERE pl.key = $1 ORDER BY pv.version DESC LIMIT 1`
)

// CreateAccount creates a customer account for the vendor: the account
// (slug from the name), its first owner invited by mail, and optionally a
// subscription to a plan, on trial or granted. Everything commits together
// and is audited (account.created and friends go to the vendor's webhooks).
func (s *Store) CreateAccount(ctx context.Context, actor Actor, in NewAccount) (Account, error) {
	in.Name, in.ExternalID, in.OwnerEmail = strings.TrimSpace(in.Name), strings.TrimSpace(in.ExternalID), strings.TrimSpace(in.OwnerEmail)
	problems := map[string]string{}
	if in.Name == "" || utf8.RuneCountInString(in.Name) > licensing.MaxCompanyLength {
		problems["name"] = fmt.Sprintf("give the account a name of 1 to %d characters", licensing.MaxCompanyLength)
	}
	if len(in.ExternalID) > 200 {
		problems["external_id"] = "at most 200 characters"
	}
	if a, err := mail.ParseAddress(in.OwnerEmail); err != nil || a.Address != in.OwnerEmail {
		problems["owner_email"] = "enter the owner's email address, such as jane@example.com"
	}
	switch {
	case in.Plan == "" && in.Start != "":
		problems["plan"] = "name the plan to " + in.Start
	case in.Plan != "" && in.Start != "trial" && in.Start != "grant":
		problems["start"] = `say how the plan starts: "trial" or "grant"`
	}
	if in.Seats < 0 || in.Seats > 100000 {
		problems["seats"] = "a number of seats from 1 to 100,000"
	}
	if len(problems) > 0 {
		return Account{}, &ValidationError{Fields: problems}
	}
	var out Account
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		now := s.Now()
		if in.ExternalID != "" {
			if err := externalIDFree(ctx, tx, in.ExternalID, ""); err != nil {
				return err
			}
		}
		slug, err := freeSlug(ctx, tx, in.Name)
		if err != nil {
			return err
		}
		var id int64
		if err := tx.GetContext(ctx, &id, insertAccountSQL, slug, in.Name, sql.NullString{String: in.ExternalID, Valid: in.ExternalID != ""}, now); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, AuditEvent{AccountID: id, Actor: actor, Action: "account.create", TargetType: "account",
			TargetID: slug, After: map[string]any{"name": in.Name, "external_id": in.ExternalID}}); err != nil {
			return err
		}
		if _, _, err := s.inviteOne(ctx, tx, now, inviter{AccountID: id, Name: actor.Label, Actor: actor}, in.Name,
			in.OwnerEmail, InviteRequest{Role: licensing.Owner, BaseURL: in.BaseURL}); err != nil {
			return err
		}
		if in.Plan != "" {
			if err := startPlan(ctx, tx, now, actor, id, in); err != nil {
				return err
			}
		}
		return tx.GetContext(ctx, &out, accountByIDSQL, id)
	})
	return out, err
}

// startPlan subscribes a new account to a plan: its trial, or granted
// (active, billed outside Entitle).
func startPlan(ctx context.Context, tx *sqlx.Tx, now time.Time, actor Actor, accountID int64, in NewAccount) error {
	var pv struct {
		ID        int64 `db:"id"`
		ProductID int64 `db:"product_id"`
		SeatBased bool  `db:"seat_based"`
		TrialDays int   `db:"trial_days"`
	}
	err := tx.GetContext(ctx, &pv, planForAccountSQL, in.Plan)
	if errors.Is(err, sql.ErrNoRows) {
		return Invalid("plan", fmt.Sprintf("no plan %q in the catalog", in.Plan))
	}
	if err != nil {
		return err
	}
	status, trialEnds, periodEnd := "active", time.Time{}, now.AddDate(0, 1, 0)
	if in.Start == "trial" {
		if pv.TrialDays <= 0 {
			return Invalid("start", fmt.Sprintf("plan %q has no trial; grant it instead", in.Plan))
		}
		status, trialEnds = "trialing", now.AddDate(0, 0, pv.TrialDays)
		periodEnd = trialEnds
	}
	seats := max(in.Seats, 1)
	if !pv.SeatBased {
		seats = 0
	}
	var subID int64
	if err := tx.GetContext(ctx, &subID, insertSubscriptionSQL, accountID, pv.ProductID, pv.ID, status, seats,
		nullTime(trialEnds), nullTime(time.Time{}), periodEnd, now); err != nil {
		return err
	}
	return audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "subscription.create",
		TargetType: "subscription", TargetID: itoa(subID),
		After: map[string]any{"plan": in.Plan, "status": status, "seats": seats, "start": in.Start}})
}

// freeSlug makes a slug from the name that no account has yet.
func freeSlug(ctx context.Context, tx *sqlx.Tx, name string) (string, error) {
	base := strings.Trim(slugUnsafe.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if base == "" {
		base = "account"
	}
	base = base[:min(len(base), 40)]
	var n int
	if err := tx.GetContext(ctx, &n, slugTakenSQL, base); err != nil {
		return "", err
	}
	if n == 0 {
		return base, nil
	}
	for i := n + 1; ; i++ {
		slug := fmt.Sprintf("%s-%d", base, i)
		var taken int
		if err := tx.GetContext(ctx, &taken, `SELECT count(*) FROM account WHERE slug = $1`, slug); err != nil {
			return "", err
		}
		if taken == 0 {
			return slug, nil
		}
	}
}

// externalIDFree is a ValidationError when another account has the id.
func externalIDFree(ctx context.Context, tx *sqlx.Tx, ext, self string) error {
	var owner string
	err := tx.GetContext(ctx, &owner, externalIDOwnerSQL, ext)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && owner == self) {
		return nil
	}
	if err != nil {
		return err
	}
	return Invalid("external_id", fmt.Sprintf("external id %q already names account %s", ext, owner))
}

// AccountUpdate changes an account's name and external id; nil leaves a
// field as it is, and an empty external id clears it.
type AccountUpdate struct {
	Name       *string
	ExternalID *string
}

const updateAccountSQL = `UPDATE account SET name = $2, external_id = $3 WHERE id = $1`

// UpdateAccount renames an account or changes its external id, audited;
// caches that name accounts by external id drop them.
func (s *Store) UpdateAccount(ctx context.Context, actor Actor, accountID int64, u AccountUpdate) (Account, error) {
	var out Account
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		now := s.Now()
		var before Account
		err := tx.GetContext(ctx, &before, accountByIDSQL+` FOR UPDATE`, accountID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		name, ext := before.Name, before.ExternalID
		if u.Name != nil {
			name = strings.TrimSpace(*u.Name)
			if name == "" || utf8.RuneCountInString(name) > 100 {
				return Invalid("name", "give the account a name of 1 to 100 characters")
			}
		}
		if u.ExternalID != nil {
			v := strings.TrimSpace(*u.ExternalID)
			if len(v) > 200 {
				return Invalid("external_id", "at most 200 characters")
			}
			if v != "" {
				if err := externalIDFree(ctx, tx, v, before.Slug); err != nil {
					return err
				}
			}
			ext = sql.NullString{String: v, Valid: v != ""}
		}
		if _, err := tx.ExecContext(ctx, updateAccountSQL, accountID, name, ext); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "account.update",
			TargetType: "account", TargetID: before.Slug,
			Before: map[string]any{"name": before.Name, "external_id": before.ExternalID.String},
			After:  map[string]any{"name": name, "external_id": ext.String}}); err != nil {
			return err
		}
		if err := notify(ctx, tx, ChangedAccounts); err != nil {
			return err
		}
		return tx.GetContext(ctx, &out, accountByIDSQL, accountID)
	})
	if err == nil {
		s.committed(ChangedAccounts)
	}
	return out, err
}

// AccountPageFilter selects a page of the vendor API's account list.
type AccountPageFilter struct {
	Plan, Status string
	After        int64 // the last id of the previous page
	Limit        int
}

const accountPageSQL = `
SELECT ` + accountColumns + ` FROM account a
WHERE a.id > $1
  AND ($2 = '' OR EXISTS (SELECT 1 FROM subscription s JOIN plan_version pv ON pv.id = s.plan_version_id
                          JOIN plan pl ON pl.id = pv.plan_id WHERE s.account_id = a.id AND pl.key = $2))
  AND ($3 = '' OR EXISTS (SELECT 1 FROM subscription s WHERE s.account_id = a.id AND s.status = $3))
ORDER BY a.id LIMIT $4`

// AccountPage lists accounts by id after f.After, filtered by plan and
// subscription status; more reports whether another page follows.
func (s *Store) AccountPage(ctx context.Context, f AccountPageFilter) (accounts []Account, more bool, err error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	if err := s.db.SelectContext(ctx, &accounts, accountPageSQL, f.After, f.Plan, f.Status, f.Limit+1); err != nil {
		return nil, false, err
	}
	if len(accounts) > f.Limit {
		return accounts[:f.Limit], true, nil
	}
	return accounts, false, nil
}

const accountsSubscriptionsSQL = `
SELECT s.account_id, s.id, p.key AS product, pl.key AS plan, pv.name AS plan_name, pv.version AS plan_version, s.status, s.seats,
       s.seats_assigned,
       s.trial_ends_at, s.current_period_end, s.cancel_at_period_end
FROM subscription s
JOIN product p ON p.id = s.product_id
JOIN plan_version pv ON pv.id = s.plan_version_id
JOIN plan pl ON pl.id = pv.plan_id
WHERE s.account_id = ANY ($1::bigint[])
ORDER BY s.account_id, p.key`

// AccountsSubscriptions gives each account's subscriptions, as the vendor
// API and webhooks show them.
func (s *Store) AccountsSubscriptions(ctx context.Context, accountIDs []int64) (map[int64][]WebhookSubscription, error) {
	var rows []struct {
		AccountID int64 `db:"account_id"`
		WebhookSubscription
	}
	if err := s.db.SelectContext(ctx, &rows, accountsSubscriptionsSQL, pq.Int64Array(orNone(accountIDs))); err != nil {
		return nil, err
	}
	out := map[int64][]WebhookSubscription{}
	for _, r := range rows {
		out[r.AccountID] = append(out[r.AccountID], r.WebhookSubscription)
	}
	return out, nil
}

// unregisteredTrialsSQL finds trials the vendor started that the billing
// provider has not confirmed yet: no provider subscription, begun after
// since (a provider that never answers is not asked forever).
const unregisteredTrialsSQL = `
SELECT account_id FROM subscription
WHERE status = 'trialing' AND stripe_subscription_id IS NULL AND created_at > $1
ORDER BY account_id`

// UnregisteredTrials lists the accounts whose trial, started by the
// vendor since since, still waits for its subscription at the billing
// provider.
func (s *Store) UnregisteredTrials(ctx context.Context, since time.Time) ([]int64, error) {
	var ids []int64
	return ids, s.db.SelectContext(ctx, &ids, unregisteredTrialsSQL, since)
}
