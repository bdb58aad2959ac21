package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// MigrationTarget is a plan version subscribers can be moved onto, with
// the subscribers a move would take: everyone on another version of the
// plan, except canceled subscriptions and those with a move waiting.
type MigrationTarget struct {
	ProductKey  string
	PlanKey     string
	PlanID      int64
	ToVersionID int64
	ToVersion   int
	ToPriceID   sql.NullString
	Features    []licensing.Feature
	Candidates  []MigrationCandidate
}

// MigrationCandidate is one subscriber a move would take, with what it
// gains and loses (licensing.DiffPlans, as on /billing).
type MigrationCandidate struct {
	AccountID      int64        `db:"account_id"`
	Slug           string       `db:"slug"`
	Name           string       `db:"name"`
	SubscriptionID int64        `db:"subscription_id"`
	FromVersionID  int64        `db:"from_version_id"`
	FromVersion    int          `db:"from_version"`
	Status         string       `db:"status"`
	PeriodEnd      sql.NullTime `db:"current_period_end"`
	Changes        []licensing.FeatureChange
}

const (
	migrationVersionSQL = `
SELECT pl.id AS plan_id, pv.id AS version_id, pr.id AS product_id,
       (SELECT pp.stripe_price_id FROM plan_price pp WHERE pp.plan_version_id = pv.id
         ORDER BY pp.billing_interval, pp.id LIMIT 1) AS price_id
FROM plan_version pv JOIN plan pl ON pl.id = pv.plan_id JOIN product pr ON pr.id = pl.product_id
WHERE pr.key = $1 AND pl.key = $2 AND pv.version = $3`
	migrationCandidatesSQL = `
SELECT s.account_id, a.slug, a.name, s.id AS subscription_id, s.plan_version_id AS from_version_id,
       pv.version AS from_version, s.status, s.current_period_end
FROM subscription s JOIN account a ON a.id = s.account_id JOIN plan_version pv ON pv.id = s.plan_version_id
WHERE pv.plan_id = $1 AND pv.id <> $2 AND s.status <> 'canceled'
  AND NOT EXISTS (SELECT 1 FROM plan_migration_account m WHERE m.subscription_id = s.id AND m.done_at IS NULL)
ORDER BY a.slug`
)

// PlanMigrationTarget finds version toVersion of a plan and who a move onto
// it would take. ErrNotFound when the plan has no such version.
func (s *Store) PlanMigrationTarget(ctx context.Context, productKey, planKey string, toVersion int) (MigrationTarget, error) {
	t := MigrationTarget{ProductKey: productKey, PlanKey: planKey, ToVersion: toVersion}
	var v struct {
		PlanID    int64          `db:"plan_id"`
		VersionID int64          `db:"version_id"`
		ProductID int64          `db:"product_id"`
		PriceID   sql.NullString `db:"price_id"`
	}
	err := s.db.GetContext(ctx, &v, migrationVersionSQL, productKey, planKey, toVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("version %d of plan %s/%s: %w", toVersion, productKey, planKey, ErrNotFound)
	}
	if err != nil {
		return t, err
	}
	t.PlanID, t.ToVersionID, t.ToPriceID = v.PlanID, v.VersionID, v.PriceID
	if t.Features, err = s.productFeatures(ctx, v.ProductID); err != nil {
		return t, err
	}
	if err := s.db.SelectContext(ctx, &t.Candidates, migrationCandidatesSQL, v.PlanID, v.VersionID); err != nil {
		return t, err
	}
	ids := []int64{t.ToVersionID}
	for _, c := range t.Candidates {
		ids = append(ids, c.FromVersionID)
	}
	values, err := s.planValues(ctx, ids)
	if err != nil {
		return t, err
	}
	for i, c := range t.Candidates {
		t.Candidates[i].Changes = licensing.DiffPlans(t.Features, values[c.FromVersionID], values[t.ToVersionID])
	}
	return t, nil
}

// MigrationMove is one subscriber's scheduled move.
type MigrationMove struct {
	Candidate   MigrationCandidate
	NotifyAt    time.Time
	EffectiveAt time.Time
}

const (
	insertMigrationSQL = `
INSERT INTO plan_migration (plan_id, to_version_id, at_period_end, notice_days, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`
	insertMigrationAccountSQL = `
INSERT INTO plan_migration_account (migration_id, account_id, subscription_id, from_version_id, notify_at, effective_at)
VALUES ($1, $2, $3, $4, $5, $6)`
)

// SchedulePlanMigration records the moves in one transaction, each audited
// on its account. A subscription with a move already waiting refuses the
// whole schedule (ErrConflict): nothing half-scheduled.
func (s *Store) SchedulePlanMigration(ctx context.Context, actor Actor, t MigrationTarget, atPeriodEnd bool, noticeDays int, moves []MigrationMove) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &id, insertMigrationSQL, t.PlanID, t.ToVersionID, atPeriodEnd, noticeDays, actor.Label, s.Now()); err != nil {
			return err
		}
		for _, m := range moves {
			c := m.Candidate
			_, err := tx.ExecContext(ctx, insertMigrationAccountSQL, id, c.AccountID, c.SubscriptionID, c.FromVersionID, m.NotifyAt, m.EffectiveAt)
			var pqErr *pq.Error
			if errors.As(err, &pqErr) && pqErr.Code == "23505" {
				return fmt.Errorf("%s already has a move waiting: %w", c.Slug, ErrConflict)
			}
			if err != nil {
				return err
			}
			err = audit(ctx, tx, s.Now(), AuditEvent{AccountID: c.AccountID, Actor: actor, Action: "subscription.migration_scheduled",
				TargetType: "subscription", TargetID: itoa(c.SubscriptionID),
				Before: map[string]any{"plan": t.PlanKey, "version": c.FromVersion},
				After: map[string]any{"plan": t.PlanKey, "version": t.ToVersion, "effective_at": m.EffectiveAt.UTC().Format(time.RFC3339),
					"notice_at": m.NotifyAt.UTC().Format(time.RFC3339)}})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return id, err
}

const (
	dueNoticesSQL = `
SELECT ma.migration_id, ma.account_id, ma.subscription_id, ma.from_version_id, m.to_version_id, ma.effective_at,
       pv.name AS plan_name, pv.version AS from_version, tv.version AS to_version, pl.product_id
FROM plan_migration_account ma
JOIN plan_migration m ON m.id = ma.migration_id
JOIN plan_version pv ON pv.id = ma.from_version_id JOIN plan_version tv ON tv.id = m.to_version_id
JOIN plan pl ON pl.id = m.plan_id
WHERE ma.notified_at IS NULL AND ma.done_at IS NULL AND ma.notify_at <= $1
ORDER BY ma.notify_at, ma.migration_id, ma.account_id
LIMIT 100
FOR UPDATE OF ma SKIP LOCKED`
	accountOwnersSQL = `
SELECT u.email FROM membership mb JOIN app_user u ON u.id = mb.user_id
WHERE mb.account_id = $1 AND mb.role = 'owner' AND mb.status = 'active' ORDER BY lower(u.email)`
	markNotifiedSQL = `UPDATE plan_migration_account SET notified_at = $3 WHERE migration_id = $1 AND account_id = $2`
)

// SendDueMigrationNotices mails the owners of every account whose notice
// is due what its plan's move changes and when, through the outbox, in the
// transaction that records the notice. It returns how many accounts were
// told.
func (s *Store) SendDueMigrationNotices(ctx context.Context) (int, error) {
	now := s.Now()
	n := 0
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var due []struct {
			MigrationID    int64     `db:"migration_id"`
			AccountID      int64     `db:"account_id"`
			SubscriptionID int64     `db:"subscription_id"`
			FromVersionID  int64     `db:"from_version_id"`
			ToVersionID    int64     `db:"to_version_id"`
			EffectiveAt    time.Time `db:"effective_at"`
			PlanName       string    `db:"plan_name"`
			FromVersion    int       `db:"from_version"`
			ToVersion      int       `db:"to_version"`
			ProductID      int64     `db:"product_id"`
		}
		if err := tx.SelectContext(ctx, &due, dueNoticesSQL, now); err != nil {
			return err
		}
		for _, d := range due {
			features, err := s.productFeatures(ctx, d.ProductID)
			if err != nil {
				return err
			}
			values, err := s.planValues(ctx, []int64{d.FromVersionID, d.ToVersionID})
			if err != nil {
				return err
			}
			body := migrationNotice(d.PlanName, d.EffectiveAt, licensing.DiffPlans(features, values[d.FromVersionID], values[d.ToVersionID]))
			var owners []string
			if err := tx.SelectContext(ctx, &owners, accountOwnersSQL, d.AccountID); err != nil {
				return err
			}
			for _, to := range owners {
				if err := enqueueMail(ctx, tx, now, d.AccountID, Mail{Kind: "plan_migration", To: to,
					Subject: fmt.Sprintf("Your %s plan changes on %s", d.PlanName, d.EffectiveAt.UTC().Format("2 January 2006")),
					Body:    body}); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, markNotifiedSQL, d.MigrationID, d.AccountID, now); err != nil {
				return err
			}
			if err := audit(ctx, tx, now, AuditEvent{AccountID: d.AccountID, Actor: SystemActor("plan migration"),
				Action: "subscription.migration_notice", TargetType: "subscription", TargetID: itoa(d.SubscriptionID),
				After: map[string]any{"to": owners, "version": d.ToVersion, "effective_at": d.EffectiveAt.UTC().Format(time.RFC3339)}}); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// migrationNotice is the mail's body: what changes, and when.
func migrationNotice(plan string, at time.Time, changes []licensing.FeatureChange) string {
	var b strings.Builder
	fmt.Fprintf(&b, "On %s your %s plan moves to its current terms.\n\n", at.UTC().Format("2 January 2006"), plan)
	if len(changes) == 0 {
		b.WriteString("Your features and limits stay as they are.\n")
	}
	for _, c := range changes {
		fmt.Fprintf(&b, "- %s: %s\n", c.Feature.Name, noticeChange(c))
	}
	b.WriteString("\nNothing changes before that date. Questions? Reply to this mail.\n")
	return b.String()
}

func noticeChange(c licensing.FeatureChange) string {
	value := func(v licensing.PlanValue) string {
		switch {
		case !v.Enabled:
			return "not included"
		case c.Feature.Kind == licensing.Boolean:
			return "included"
		case v.Limit == nil:
			return "unlimited"
		}
		return formatCount(*v.Limit)
	}
	switch c.Kind {
	case licensing.FeatureLost:
		return "no longer included"
	case licensing.FeatureGained:
		return "now included"
	}
	return value(c.From) + " → " + value(c.To)
}

// formatCount writes 50000 as "50,000".
func formatCount(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + formatCount(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// DueMigration is a move whose time has come, with what the billing
// provider needs to make it.
type DueMigration struct {
	MigrationID    int64          `db:"migration_id"`
	AccountID      int64          `db:"account_id"`
	SubscriptionID int64          `db:"subscription_id"`
	FromVersionID  int64          `db:"from_version_id"`
	ToVersionID    int64          `db:"to_version_id"`
	ToVersion      int            `db:"to_version"`
	PlanKey        string         `db:"plan_key"`
	StripeSub      sql.NullString `db:"stripe_subscription_id"`
	Seats          int            `db:"seats"`
	FromPriceID    sql.NullString `db:"from_price_id"`
	ToPriceID      sql.NullString `db:"to_price_id"`
}

// PriceChanges reports whether the move changes what the provider bills.
func (d DueMigration) PriceChanges() bool {
	return d.StripeSub.Valid && d.ToPriceID.Valid && d.FromPriceID.String != d.ToPriceID.String
}

const (
	dueMigrationsSQL = `
SELECT ma.migration_id, ma.account_id, ma.subscription_id, ma.from_version_id, m.to_version_id, tv.version AS to_version,
       pl.key AS plan_key, s.stripe_subscription_id, s.seats,
       (SELECT pp.stripe_price_id FROM plan_price pp WHERE pp.plan_version_id = ma.from_version_id
         ORDER BY pp.billing_interval, pp.id LIMIT 1) AS from_price_id,
       (SELECT pp.stripe_price_id FROM plan_price pp WHERE pp.plan_version_id = m.to_version_id
         ORDER BY pp.billing_interval, pp.id LIMIT 1) AS to_price_id
FROM plan_migration_account ma
JOIN plan_migration m ON m.id = ma.migration_id JOIN plan_version tv ON tv.id = m.to_version_id
JOIN plan pl ON pl.id = m.plan_id
JOIN subscription s ON s.id = ma.subscription_id AND s.account_id = ma.account_id
WHERE ma.done_at IS NULL AND ma.notified_at IS NOT NULL AND ma.effective_at <= $1
ORDER BY ma.effective_at, ma.migration_id, ma.account_id LIMIT 100`
	claimMigrationSQL = `
SELECT s.plan_version_id FROM plan_migration_account ma
JOIN subscription s ON s.id = ma.subscription_id AND s.account_id = ma.account_id
WHERE ma.migration_id = $1 AND ma.account_id = $2 AND ma.done_at IS NULL
FOR UPDATE OF ma, s SKIP LOCKED`
	migrationDoneSQL = `
UPDATE plan_migration_account SET done_at = $3, outcome = $4 WHERE migration_id = $1 AND account_id = $2`
	migrateSubscriptionSQL = `
UPDATE subscription SET plan_version_id = $2, updated_at = $3 WHERE id = $1`
)

// DueMigrations lists the moves whose time has come and whose owners were
// told.
func (s *Store) DueMigrations(ctx context.Context) ([]DueMigration, error) {
	var out []DueMigration
	err := s.db.SelectContext(ctx, &out, dueMigrationsSQL, s.Now())
	return out, err
}

// CompleteMigration makes one due move under the locks of its row and its
// subscription, so that two instances never make it twice. A subscription
// that left the version meanwhile (it changed plan) is skipped. When the
// price changes, viaProvider asks the billing provider for the change and
// the webhook moves the version, like every other plan change; otherwise
// the version moves here. Either way it is audited. It returns the outcome,
// or "" when another instance holds the move.
func (s *Store) CompleteMigration(ctx context.Context, d DueMigration, viaProvider func() error) (string, error) {
	outcome := ""
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		var current int64
		err := tx.GetContext(ctx, &current, claimMigrationSQL, d.MigrationID, d.AccountID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		now, actor := s.Now(), SystemActor("plan migration")
		switch {
		case current != d.FromVersionID:
			outcome = "skipped"
		case viaProvider != nil:
			if err := viaProvider(); err != nil {
				return err
			}
			outcome = "sent_to_provider"
		default:
			if _, err := tx.ExecContext(ctx, migrateSubscriptionSQL, d.SubscriptionID, d.ToVersionID, now); err != nil {
				return err
			}
			outcome = "moved"
		}
		if _, err := tx.ExecContext(ctx, migrationDoneSQL, d.MigrationID, d.AccountID, now, outcome); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: d.AccountID, Actor: actor, Action: "subscription.migration_" + outcome,
			TargetType: "subscription", TargetID: itoa(d.SubscriptionID),
			After: map[string]any{"plan": d.PlanKey, "version": d.ToVersion}})
	})
	if err == nil && outcome == "moved" {
		s.committed(accountPayload(d.AccountID))
	}
	return outcome, err
}

// MigrationSpec is a move an operator asks for: plan, target version,
// timing, accounts left out.
type MigrationSpec struct {
	ProductKey, PlanKey string
	ToVersion           int
	Timing              licensing.MigrationTiming
	NoticeDays          int
	Exclude             []string // account slugs
}

// MigrationPreviewRow is one subscriber's part in a move.
type MigrationPreviewRow struct {
	Candidate   MigrationCandidate
	Excluded    bool
	Problem     string // why it cannot move with this timing
	EffectiveAt time.Time
	NotifyAt    time.Time
}

// MigrationPreview is a move before it is scheduled.
type MigrationPreview struct {
	Target MigrationTarget
	Rows   []MigrationPreviewRow
}

// Moves are the rows that would be scheduled.
func (p MigrationPreview) Moves() []MigrationMove {
	var out []MigrationMove
	for _, r := range p.Rows {
		if !r.Excluded && r.Problem == "" {
			out = append(out, MigrationMove{Candidate: r.Candidate, NotifyAt: r.NotifyAt, EffectiveAt: r.EffectiveAt})
		}
	}
	return out
}

// Problems lists the accounts that cannot be given the notice.
func (p MigrationPreview) Problems() []string {
	var out []string
	for _, r := range p.Rows {
		if r.Problem != "" {
			out = append(out, r.Candidate.Slug)
		}
	}
	return out
}

// PreviewPlanMigration says, per subscriber, when a move would happen,
// when its owners would be told and what it gains and loses.
func (s *Store) PreviewPlanMigration(ctx context.Context, spec MigrationSpec) (MigrationPreview, error) {
	t, err := s.PlanMigrationTarget(ctx, spec.ProductKey, spec.PlanKey, spec.ToVersion)
	if err != nil {
		return MigrationPreview{}, err
	}
	p := MigrationPreview{Target: t}
	now := s.Now()
	for _, c := range t.Candidates {
		row := MigrationPreviewRow{Candidate: c}
		for _, slug := range spec.Exclude {
			row.Excluded = row.Excluded || strings.TrimSpace(slug) == c.Slug
		}
		if !row.Excluded {
			at, err := spec.Timing.EffectiveAt(c.PeriodEnd.Time, now)
			if err != nil {
				row.Problem = err.Error()
			} else {
				row.EffectiveAt, row.NotifyAt = at, spec.Timing.NoticeAt(at)
			}
		}
		p.Rows = append(p.Rows, row)
	}
	return p, nil
}

// ErrMigrationNotice: an account cannot be given the notice by the chosen
// time; nothing was scheduled.
var ErrMigrationNotice = errors.New("notice too short")

// SchedulePreviewedMigration schedules a preview's moves, refusing the whole
// move when any account cannot be given its notice.
func (s *Store) SchedulePreviewedMigration(ctx context.Context, actor Actor, spec MigrationSpec, p MigrationPreview) (int64, int, error) {
	if probs := p.Problems(); len(probs) > 0 {
		return 0, 0, fmt.Errorf("%w: %s cannot be given %d days of notice by then; exclude them or choose another date",
			ErrMigrationNotice, strings.Join(probs, ", "), spec.NoticeDays)
	}
	moves := p.Moves()
	if len(moves) == 0 {
		return 0, 0, Invalid("plan", "nobody would move")
	}
	id, err := s.SchedulePlanMigration(ctx, actor, p.Target, spec.Timing.At.IsZero(), spec.NoticeDays, moves)
	return id, len(moves), err
}
