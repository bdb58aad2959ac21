package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
)

// SSOConfig is an account's OpenID provider as its admins set it up.
type SSOConfig struct {
	AccountID    int64         `db:"account_id"`
	Issuer       string        `db:"issuer"`
	ClientID     string        `db:"client_id"`
	StoredSecret []byte        `db:"client_secret"` // sealed when SecretSealed
	SecretSealed bool          `db:"secret_sealed"`
	DefaultRole  string        `db:"default_role"`
	RequireSSO   bool          `db:"require_sso"`
	BreakGlassID sql.NullInt64 `db:"break_glass_id"`
	UpdatedAt    time.Time     `db:"updated_at"`
}

// SSOSettings is what /settings/sso saves. An empty ClientSecret keeps the
// stored one.
type SSOSettings struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	DefaultRole  string
	RequireSSO   bool
	BreakGlassID int64 // a membership of the account; 0: none
}

const (
	ssoConfigColumns = `account_id, issuer, client_id, client_secret, secret_sealed, default_role, require_sso,
       break_glass_id, updated_at`
	ssoConfigSQL    = `SELECT ` + ssoConfigColumns + ` FROM sso_config WHERE account_id = $1`
	lockSSOConfig   = ssoConfigSQL + ` FOR UPDATE`
	upsertSSOConfig = `
INSERT INTO sso_config (account_id, issuer, client_id, client_secret, secret_sealed, default_role, require_sso,
                        break_glass_id, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (account_id) DO UPDATE SET issuer = $2, client_id = $3, client_secret = $4, secret_sealed = $5,
       default_role = $6, require_sso = $7, break_glass_id = $8, updated_at = $9`
	activeOwnerSQL = `SELECT count(*) FROM membership WHERE account_id = $1 AND id = $2 AND role = 'owner' AND status = 'active'`
)

// SSOConfig reads an account's provider settings; ErrNotFound when SSO was
// never set up.
func (s *Store) SSOConfig(ctx context.Context, accountID int64) (SSOConfig, error) {
	var c SSOConfig
	err := s.db.GetContext(ctx, &c, ssoConfigSQL, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return SSOConfig{}, ErrNotFound
	}
	return c, err
}

// ClientSecret opens the stored client secret (ErrSealedKey when it is
// sealed and secret is not the one it was sealed with).
func (c SSOConfig) ClientSecret(secret []byte) (string, error) {
	if !c.SecretSealed {
		return string(c.StoredSecret), nil
	}
	plain, err := openBytes(secret, ssoSecretLabel(c.AccountID), c.StoredSecret)
	return string(plain), err
}

func ssoSecretLabel(accountID int64) string { return "sso-client-secret:" + itoa(accountID) }

// SaveSSOConfig stores an account's provider settings (the caller has
// checked the provider's discovery document). The client secret is sealed
// under secret when one is given.
func (s *Store) SaveSSOConfig(ctx context.Context, actor Actor, accountID int64, in SSOSettings, secret []byte) error {
	in.Issuer, in.ClientID = strings.TrimSpace(in.Issuer), strings.TrimSpace(in.ClientID)
	fields := map[string]string{}
	if in.Issuer == "" {
		fields["issuer"] = "Enter the issuer URL of your identity provider."
	}
	if in.ClientID == "" {
		fields["client_id"] = "Enter the client id your identity provider gave Entitle."
	}
	if r := licensing.Role(in.DefaultRole); !r.Valid() || r == licensing.Owner {
		fields["default_role"] = "Choose admin, billing or member."
	}
	if in.RequireSSO && in.BreakGlassID == 0 {
		fields["break_glass"] = "Choose a break-glass owner before requiring SSO, so that someone can still sign in if the identity provider is down."
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var old SSOConfig
		err := tx.GetContext(ctx, &old, lockSSOConfig, accountID)
		found := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		stored, sealed := old.StoredSecret, old.SecretSealed
		if in.ClientSecret != "" {
			stored, sealed = []byte(in.ClientSecret), len(secret) > 0
			if sealed {
				if stored, err = sealBytes(secret, ssoSecretLabel(accountID), []byte(in.ClientSecret)); err != nil {
					return err
				}
			}
		} else if !found {
			return Invalid("client_secret", "Enter the client secret your identity provider gave Entitle.")
		}
		breakGlass := sql.NullInt64{Int64: in.BreakGlassID, Valid: in.BreakGlassID != 0}
		if breakGlass.Valid {
			var n int
			if err := tx.GetContext(ctx, &n, activeOwnerSQL, accountID, in.BreakGlassID); err != nil {
				return err
			}
			if n == 0 {
				return Invalid("break_glass", "The break-glass person must be an active owner of this account.")
			}
		}
		if _, err := tx.ExecContext(ctx, upsertSSOConfig, accountID, in.Issuer, in.ClientID, stored, sealed,
			in.DefaultRole, in.RequireSSO, breakGlass, now); err != nil {
			return err
		}
		after := map[string]any{"issuer": in.Issuer, "client_id": in.ClientID, "default_role": in.DefaultRole,
			"require_sso": in.RequireSSO, "break_glass_membership": in.BreakGlassID, "secret_sealed": sealed,
			"secret_changed": in.ClientSecret != ""}
		var before any
		if found {
			before = map[string]any{"issuer": old.Issuer, "client_id": old.ClientID, "default_role": old.DefaultRole,
				"require_sso": old.RequireSSO, "break_glass_membership": old.BreakGlassID.Int64, "secret_sealed": old.SecretSealed}
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "sso.configure",
			TargetType: "account", TargetID: itoa(accountID), Before: before, After: after})
	})
}

// SSODomain is an email domain an account asked to cover with SSO.
type SSODomain struct {
	ID         int64        `db:"id"`
	AccountID  int64        `db:"account_id"`
	Domain     string       `db:"domain"`
	Token      string       `db:"token"`
	CreatedAt  time.Time    `db:"created_at"`
	VerifiedAt sql.NullTime `db:"verified_at"`
	VerifiedBy string       `db:"verified_by"`
}

// TXTRecord is the DNS TXT record that proves the account controls the
// domain.
func (d SSODomain) TXTRecord() string { return licensing.SSOVerificationRecord(d.Token) }

// ErrDomainClaimed: another account has verified the domain.
var ErrDomainClaimed = errors.New("this domain is already claimed by another account")

const (
	ssoDomainColumns = `id, account_id, domain, token, created_at, verified_at, verified_by`
	ssoDomainsSQL    = `SELECT ` + ssoDomainColumns + ` FROM sso_domain WHERE account_id = $1 ORDER BY domain`
	ssoDomainSQL     = `SELECT ` + ssoDomainColumns + ` FROM sso_domain WHERE account_id = $1 AND id = $2`
	domainClaimedSQL = `SELECT count(*) FROM sso_domain WHERE domain = $1 AND verified_at IS NOT NULL AND account_id <> $2`
	insertDomainSQL  = `
INSERT INTO sso_domain (account_id, domain, token, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (account_id, domain) DO NOTHING RETURNING ` + ssoDomainColumns
	verifyDomainSQL = `UPDATE sso_domain SET verified_at = $3, verified_by = $4
WHERE account_id = $1 AND id = $2 AND verified_at IS NULL RETURNING ` + ssoDomainColumns
	removeDomainSQL = `DELETE FROM sso_domain WHERE account_id = $1 AND id = $2 RETURNING ` + ssoDomainColumns
)

// SSODomains lists an account's domains, verified or not.
func (s *Store) SSODomains(ctx context.Context, accountID int64) ([]SSODomain, error) {
	var out []SSODomain
	err := s.db.SelectContext(ctx, &out, ssoDomainsSQL, accountID)
	return out, err
}

// SSODomain reads one of an account's domains.
func (s *Store) SSODomain(ctx context.Context, accountID, id int64) (SSODomain, error) {
	var d SSODomain
	err := s.db.GetContext(ctx, &d, ssoDomainSQL, accountID, id)
	return d, notFound(err)
}

// AddSSODomain asks to cover a domain; it is claimed once verified.
func (s *Store) AddSSODomain(ctx context.Context, actor Actor, accountID int64, text string) (SSODomain, error) {
	domains, err := licensing.ParseDomains(text)
	if err != nil || len(domains) != 1 {
		return SSODomain{}, Invalid("domain", "Enter one domain name, such as example.com.")
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return SSODomain{}, err
	}
	now := s.Now()
	var d SSODomain
	err = s.tx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, domainClaimedSQL, domains[0], accountID); err != nil {
			return err
		}
		if n > 0 {
			return &ValidationError{Fields: map[string]string{"domain": ErrDomainClaimed.Error() + "."}}
		}
		err := tx.GetContext(ctx, &d, insertDomainSQL, accountID, domains[0], hex.EncodeToString(b), now)
		if errors.Is(err, sql.ErrNoRows) {
			return Invalid("domain", "This domain is already listed.")
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "sso.domain.add",
			TargetType: "sso_domain", TargetID: itoa(d.ID), After: map[string]any{"domain": d.Domain}})
	})
	return d, err
}

// VerifySSODomain marks a domain verified (by "dns" or a vendor operator):
// from now on the account claims it. ErrDomainClaimed when another account
// verified it first (the database decides, under concurrent attempts too).
func (s *Store) VerifySSODomain(ctx context.Context, actor Actor, accountID, id int64, by string) (SSODomain, error) {
	now := s.Now()
	var d SSODomain
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &d, verifyDomainSQL, accountID, id, now, by)
		var pqErr *pq.Error
		if errors.As(err, &pqErr) && pqErr.Code == "23505" {
			return ErrDomainClaimed
		}
		if err != nil {
			return notFound(err)
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "sso.domain.verify",
			TargetType: "sso_domain", TargetID: itoa(d.ID), After: map[string]any{"domain": d.Domain, "by": by}})
	})
	return d, err
}

// RemoveSSODomain gives a domain up.
func (s *Store) RemoveSSODomain(ctx context.Context, actor Actor, accountID, id int64) error {
	now := s.Now()
	return s.tx(ctx, func(tx *sqlx.Tx) error {
		var d SSODomain
		if err := tx.GetContext(ctx, &d, removeDomainSQL, accountID, id); err != nil {
			return notFound(err)
		}
		return audit(ctx, tx, now, AuditEvent{AccountID: accountID, Actor: actor, Action: "sso.domain.remove",
			TargetType: "sso_domain", TargetID: itoa(d.ID), Before: map[string]any{"domain": d.Domain}})
	})
}

// SSOOwner is an active owner, who may be the break-glass person.
type SSOOwner struct {
	ID    int64  `db:"id"`
	Email string `db:"email"`
}

const ssoOwnerChoicesSQL = `SELECT m.id, u.email FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.account_id = $1 AND m.role = 'owner' AND m.status = 'active' ORDER BY lower(u.email), m.id`

// SSOOwners lists the account's active owners.
func (s *Store) SSOOwners(ctx context.Context, accountID int64) ([]SSOOwner, error) {
	var out []SSOOwner
	err := s.db.SelectContext(ctx, &out, ssoOwnerChoicesSQL, accountID)
	return out, err
}
