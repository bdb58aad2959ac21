package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// SSOLogin is a sign-in on its way to the identity provider: what the
// callback must find again (the nonce the ID token must carry, the PKCE
// verifier for the code exchange).
type SSOLogin struct {
	AccountID int64  `db:"account_id"`
	Nonce     string `db:"nonce"`
	Verifier  string `db:"verifier"`
	Email     string `db:"email"`
}

// ErrSSONotAdmitted: the person may not sign in to the account (removed,
// deactivated by the identity provider over SCIM, or not admitted by the
// provisioning rules).
var ErrSSONotAdmitted = errors.New("this person may not sign in to the account")

const (
	// One statement: sweep sign-ins that expired an hour ago, record this one.
	insertSSOLoginSQL = `
WITH swept AS (DELETE FROM sso_login WHERE expires_at < $8)
INSERT INTO sso_login (state_hash, account_id, nonce, verifier, email, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`
	takeSSOLoginSQL = `
UPDATE sso_login SET used_at = $2 WHERE state_hash = $1 AND used_at IS NULL AND expires_at > $2
RETURNING account_id, nonce, verifier, email`
)

// BeginSSOLogin records a sign-in sent to the provider, under the hash of
// its state, for ttl.
func (s *Store) BeginSSOLogin(ctx context.Context, state string, l SSOLogin, ttl time.Duration) error {
	now := s.Now()
	_, err := s.db.ExecContext(ctx, insertSSOLoginSQL, hashToken(state), l.AccountID, l.Nonce, l.Verifier, l.Email,
		now, now.Add(ttl), now.Add(-time.Hour))
	return err
}

// TakeSSOLogin finds the sign-in a callback's state names and uses it up:
// a state works once. ErrNotFound when unknown, used or expired.
func (s *Store) TakeSSOLogin(ctx context.Context, state string) (SSOLogin, error) {
	var l SSOLogin
	err := s.db.GetContext(ctx, &l, takeSSOLoginSQL, hashToken(state), s.Now())
	return l, notFound(err)
}

// SSOPerson is who the identity provider says signed in, after the ID
// token was verified and the email checked against the account's domains.
type SSOPerson struct {
	AccountID int64
	Issuer    string
	Subject   string
	Email     string
	Name      string
	Groups    []string // the token's groups claim, matched to the account's identity-provider groups by name
}

const (
	ssoIdentitySQL = `SELECT membership_id FROM sso_identity WHERE account_id = $1 AND issuer = $2 AND subject = $3`
	memberOfSQL    = `SELECT id FROM membership WHERE account_id = $1 AND user_id = $2`
	insertJITSQL   = `
INSERT INTO membership (account_id, user_id, role, status, source, created_at, scim_id, scim_user_name,
                        scim_attributes, scim_active, scim_created_at, scim_updated_at, jit_role)
VALUES ($1, $2, $3, 'active', 'scim', $4, gen_random_uuid()::text, $5, $6, true, $4, $4, $3)
RETURNING id`
	joinClaimedGroupsSQL = `
INSERT INTO idp_group_member (account_id, group_id, membership_id, since)
SELECT $1, g.id, $2, $3 FROM idp_group g
WHERE g.account_id = $1 AND g.deleted_at IS NULL AND lower(g.display_name) = ANY($4)
ON CONFLICT DO NOTHING`
	insertSSOIdentitySQL = `
INSERT INTO sso_identity (account_id, membership_id, issuer, subject, created_at) VALUES ($1, $2, $3, $4, $5)`
	ssoStandingSQL = `
SELECT m.user_id, m.status = 'active' AND (m.source <> 'scim' OR (m.scim_active AND m.scim_id IS NOT NULL)) AS admitted
FROM membership m WHERE m.account_id = $1 AND m.id = $2`
	ssoSignedInSQL = `UPDATE sso_identity SET last_sign_in_at = $4 WHERE account_id = $1 AND issuer = $2 AND subject = $3`
)

// SignInWithSSO signs a person in whom the account's identity provider
// vouched for. They are found by (issuer, subject); the first time, by
// their address, or created just in time as a provisioned person with the
// account's default role, put in the identity-provider groups their token
// names and settled by the provisioning rules like a person SCIM created.
// ErrSSONotAdmitted (nothing kept) when they may not sign in.
func (s *Store) SignInWithSSO(ctx context.Context, p SSOPerson) (Login, error) {
	now := s.Now()
	var l Login
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if err := lockProvisioning(ctx, tx, p.AccountID, false); err != nil {
			return err
		}
		actor := Actor{Type: "sso", ID: p.Subject, Label: p.Email}
		var membershipID int64
		err := tx.GetContext(ctx, &membershipID, ssoIdentitySQL, p.AccountID, p.Issuer, p.Subject)
		if errors.Is(err, sql.ErrNoRows) {
			if membershipID, err = s.linkSSOPerson(ctx, tx, now, actor, p); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		var standing struct {
			UserID   int64 `db:"user_id"`
			Admitted bool  `db:"admitted"`
		}
		if err := tx.GetContext(ctx, &standing, ssoStandingSQL, p.AccountID, membershipID); err != nil {
			return err
		}
		if !standing.Admitted {
			return ErrSSONotAdmitted
		}
		if _, err := tx.ExecContext(ctx, recordSignInSQL, membershipID, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, ssoSignedInSQL, p.AccountID, p.Issuer, p.Subject, now); err != nil {
			return err
		}
		l = Login{UserID: standing.UserID, AccountID: p.AccountID, MembershipID: membershipID}
		return audit(ctx, tx, now, AuditEvent{AccountID: p.AccountID, Actor: actor, Action: "sso.sign_in",
			TargetType: "membership", TargetID: itoa(membershipID),
			After: map[string]any{"provider": p.Issuer, "subject": p.Subject, "email": p.Email}})
	})
	return l, err
}

// linkSSOPerson links a provider's subject to the member with their
// address, or creates the member just in time.
func (s *Store) linkSSOPerson(ctx context.Context, tx *sqlx.Tx, now time.Time, actor Actor, p SSOPerson) (int64, error) {
	userID, _, err := userForEmail(ctx, preparedTx{Tx: tx}, now, p.Email, p.Name)
	if err != nil {
		return 0, err
	}
	var membershipID int64
	err = tx.GetContext(ctx, &membershipID, memberOfSQL, p.AccountID, userID)
	if errors.Is(err, sql.ErrNoRows) {
		membershipID, err = s.createJITMember(ctx, tx, now, actor, userID, p)
	}
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, insertSSOIdentitySQL, p.AccountID, membershipID, p.Issuer, p.Subject, now); err != nil {
		return 0, err
	}
	return membershipID, nil
}

func (s *Store) createJITMember(ctx context.Context, tx *sqlx.Tx, now time.Time, actor Actor, userID int64, p SSOPerson) (int64, error) {
	var role string
	if err := tx.GetContext(ctx, &role, `SELECT default_role FROM sso_config WHERE account_id = $1`, p.AccountID); err != nil {
		return 0, err
	}
	doc, err := json.Marshal(map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": p.Email, "displayName": p.Name, "active": true,
		"emails": []map[string]any{{"value": p.Email, "primary": true}},
	})
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.GetContext(ctx, &id, insertJITSQL, p.AccountID, userID, role, now, p.Email, string(doc))
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" {
		return 0, fmt.Errorf("%w: %s is provisioned as another user", ErrConflict, p.Email)
	}
	if err != nil {
		return 0, err
	}
	groups := make([]string, 0, len(p.Groups))
	for _, g := range p.Groups {
		groups = append(groups, strings.ToLower(g))
	}
	if len(groups) > 0 {
		if _, err := tx.ExecContext(ctx, joinClaimedGroupsSQL, p.AccountID, id, now, pq.Array(groups)); err != nil {
			return 0, err
		}
	}
	if err := audit(ctx, tx, now, AuditEvent{AccountID: p.AccountID, Actor: actor, Action: "sso.member.create",
		TargetType: "membership", TargetID: itoa(id),
		After: map[string]any{"email": p.Email, "role": role, "provider": p.Issuer, "subject": p.Subject, "groups": p.Groups}}); err != nil {
		return 0, err
	}
	return id, settlePeople(ctx, tx, now, p.AccountID, actor, []int64{id})
}

// SSOFailure is a refused callback.
type SSOFailure struct {
	ID     int64     `db:"id"`
	At     time.Time `db:"at"`
	Reason string    `db:"reason"`
	Detail string    `db:"detail"`
	Email  string    `db:"email"`
}

const (
	insertSSOFailureSQL = `INSERT INTO sso_failure (account_id, at, reason, detail, email) VALUES ($1, $2, $3, $4, $5)`
	ssoFailuresSQL      = `SELECT id, at, reason, detail, email FROM sso_failure WHERE account_id = $1
ORDER BY at DESC, id DESC LIMIT $2`
)

// RecordSSOFailure logs a refused callback with its reason and audits it,
// in the account's chain (accountID 0: the callback named no sign-in of
// ours, so the vendor's chain).
func (s *Store) RecordSSOFailure(ctx context.Context, accountID int64, reason, detail, email string) error {
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, insertSSOFailureSQL, sql.NullInt64{Int64: accountID, Valid: accountID != 0},
			now, reason, detail, email); err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: Actor{Type: "sso", Label: email},
			Action: "sso.sign_in.refused", TargetType: "account", TargetID: itoa(accountID),
			After: map[string]any{"reason": reason, "detail": detail, "email": email}})
	})
}

// SSOFailures lists an account's latest refused callbacks, newest first.
func (s *Store) SSOFailures(ctx context.Context, accountID int64, limit int) ([]SSOFailure, error) {
	var out []SSOFailure
	err := s.db.SelectContext(ctx, &out, ssoFailuresSQL, accountID, limit)
	return out, err
}

// SSOClaim is the account whose verified domain an address is on.
type SSOClaim struct {
	AccountID  int64 `db:"account_id"`
	RequireSSO bool  `db:"require_sso"`
	BreakGlass bool  `db:"break_glass"` // the address is the break-glass owner's
}

const ssoClaimSQL = `
SELECT d.account_id, c.require_sso,
       EXISTS (SELECT 1 FROM membership bm JOIN app_user u ON u.id = bm.user_id
               WHERE bm.account_id = c.account_id AND bm.id = c.break_glass_id AND lower(u.email) = lower($2)) AS break_glass
FROM sso_domain d JOIN sso_config c ON c.account_id = d.account_id
WHERE d.domain = $1 AND d.verified_at IS NOT NULL`

// SSOClaimFor finds the account that claims an address's domain for SSO;
// ErrNotFound when none does.
func (s *Store) SSOClaimFor(ctx context.Context, email string) (SSOClaim, error) {
	var c SSOClaim
	domain := licensing.EmailDomain(email)
	if domain == "" {
		return c, ErrNotFound
	}
	err := s.db.GetContext(ctx, &c, ssoClaimSQL, domain, strings.TrimSpace(email))
	return c, notFound(err)
}

const breakGlassWitnessesSQL = `
SELECT u.email FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = $1 AND m.role = 'owner' AND m.status = 'active' AND u.id <> $2
ORDER BY lower(u.email)`

// RecordBreakGlassSignIn audits a password sign-in that "require SSO" let
// through for the break-glass owner, and mails the account's other owners.
func (s *Store) RecordBreakGlassSignIn(ctx context.Context, accountID int64, l Login, email, ip string) error {
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var owners []string
		if err := tx.SelectContext(ctx, &owners, breakGlassWitnessesSQL, accountID, l.UserID); err != nil {
			return err
		}
		for _, to := range owners {
			if err := enqueueMail(ctx, tx, now, accountID, Mail{Kind: "sso_break_glass", To: to,
				Subject: "Break-glass sign-in with a password",
				Body: fmt.Sprintf("%s signed in with a password at %s UTC from %s, bypassing single sign-on as the account's break-glass owner.\n\nIf this was not expected, review the audit log and the SSO settings.",
					email, now.Format("2 Jan 2006 15:04"), ip)}); err != nil {
				return err
			}
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: accountID,
			Actor:  Actor{Type: "user", ID: itoa(l.UserID), Label: email},
			Action: "sso.break_glass.sign_in", TargetType: "membership", TargetID: itoa(l.MembershipID),
			After: map[string]any{"email": email, "ip": ip, "owners_told": owners}})
	})
}
