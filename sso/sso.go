// Package sso is the portal's OpenID Connect relying party: it checks a
// provider's discovery document when an account saves its settings, proves
// email domains by DNS, sends people to their provider (authorization code
// flow with PKCE, state and nonce) and verifies what comes back before the
// store signs them in. Whether an account may use SSO at all is the `sso`
// entitlement, decided by licensing's one evaluation function.
package sso

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// Resolver looks up DNS TXT records (net.DefaultResolver in production; a
// table in tests).
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Service is the relying party of every account.
type Service struct {
	Store    *store.Store
	Clock    licensing.Clock
	Secret   []byte       // SIGNING_KEY_SECRET: seals client secrets
	HTTP     *http.Client // talks to providers (discovery, token, keys)
	Resolver Resolver

	mu        sync.Mutex
	providers map[string]cachedProvider
}

type cachedProvider struct {
	p       *oidc.Provider
	fetched time.Time
}

// providerTTL is how long a discovery document is reused; keys are
// re-fetched by go-oidc whenever a token names an unknown one.
const providerTTL = 10 * time.Minute

// New builds the service with a bounded HTTP client.
func New(s *store.Store, clock licensing.Clock, secret []byte, resolver Resolver) *Service {
	return &Service{Store: s, Clock: clock, Secret: secret, Resolver: resolver,
		HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// Allowed decides whether the account's plan (or a grant) gives `sso` now.
func (s *Service) Allowed(ctx context.Context, accountID int64) (licensing.Decision, error) {
	state, err := s.Store.AccountState(ctx, accountID)
	if err != nil {
		return licensing.Decision{}, err
	}
	return licensing.SSOAllowed(state, s.Clock.Now()), nil
}

// provider fetches (or reuses) the discovery document of issuer; go-oidc
// refuses one whose issuer is not exactly issuer.
func (s *Service) provider(ctx context.Context, issuer string, fresh bool) (*oidc.Provider, error) {
	now := time.Now()
	s.mu.Lock()
	c, ok := s.providers[issuer]
	s.mu.Unlock()
	if ok && !fresh && now.Sub(c.fetched) < providerTTL {
		return c.p, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, s.HTTP), issuer)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.providers == nil {
		s.providers = map[string]cachedProvider{}
	}
	s.providers[issuer] = cachedProvider{p: p, fetched: now}
	s.mu.Unlock()
	return p, nil
}

// Save checks the provider's discovery document and stores the settings;
// a provider that cannot be reached or names another issuer is a message
// beside the issuer field, and nothing is saved.
func (s *Service) Save(ctx context.Context, actor store.Actor, accountID int64, in store.SSOSettings) error {
	in.Issuer = strings.TrimSpace(in.Issuer)
	if in.Issuer != "" {
		p, err := s.provider(ctx, in.Issuer, true)
		if err != nil {
			return store.Invalid("issuer", discoveryProblem(in.Issuer, err))
		}
		var meta struct {
			Scopes []string `json:"scopes_supported"`
			Codes  []string `json:"code_challenge_methods_supported"`
		}
		if err := p.Claims(&meta); err == nil && len(meta.Codes) > 0 && !contains(meta.Codes, "S256") {
			return store.Invalid("issuer", "The identity provider does not support PKCE with S256, which Entitle requires.")
		}
	}
	return s.Store.SaveSSOConfig(ctx, actor, accountID, in, s.Secret)
}

func discoveryProblem(issuer string, err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "issuer did not match") || strings.Contains(msg, "issuer URL provided to client"):
		return "The provider at this address names a different issuer. Enter the issuer exactly as the provider's discovery document states it (" +
			strings.TrimRight(issuer, "/") + "/.well-known/openid-configuration)."
	case strings.Contains(msg, "404") || strings.Contains(msg, "unable to decode") || strings.Contains(msg, "unmarshal"):
		return "No OpenID Connect discovery document was found at this issuer URL."
	}
	return "Entitle could not reach the identity provider at this issuer URL (" + shorten(msg) + ")."
}

func shorten(s string) string {
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// VerifyDomainByDNS checks the domain's TXT records for the account's
// verification record and, when it is there, claims the domain.
func (s *Service) VerifyDomainByDNS(ctx context.Context, actor store.Actor, accountID, domainID int64) (store.SSODomain, error) {
	d, err := s.Store.SSODomain(ctx, accountID, domainID)
	if err != nil {
		return d, err
	}
	records, err := s.Resolver.LookupTXT(ctx, d.Domain)
	found := false
	for _, r := range records {
		if strings.TrimSpace(r) == d.TXTRecord() {
			found = true
		}
	}
	if !found {
		why := "the TXT record shown for " + d.Domain + " was not found there"
		if err != nil && !isNotFound(err) {
			why += " (the DNS lookup failed)"
		}
		return d, store.Invalid("domain", "Not verified yet: "+why+". DNS changes can take a while to show.")
	}
	return s.Store.VerifySSODomain(ctx, actor, accountID, domainID, "dns")
}

func isNotFound(err error) bool {
	var dnsErr interface{ IsNotFound() bool }
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound()
}

// oauthConfig is the account's OAuth 2.0 client.
func (s *Service) oauthConfig(ctx context.Context, cfg store.SSOConfig, redirectURL string) (*oauth2.Config, *oidc.Provider, error) {
	p, err := s.provider(ctx, cfg.Issuer, false)
	if err != nil {
		return nil, nil, err
	}
	secret, err := cfg.ClientSecret(s.Secret)
	if err != nil {
		return nil, nil, err
	}
	return &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: secret, Endpoint: p.Endpoint(),
		RedirectURL: redirectURL, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}, p, nil
}

// Route finds whether an address signs in through SSO: its domain is
// verified by an account whose plan gives `sso` and that set a provider up.
func (s *Service) Route(ctx context.Context, email string) (store.SSOClaim, bool, error) {
	claim, err := s.Store.SSOClaimFor(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return claim, false, nil
	}
	if err != nil {
		return claim, false, err
	}
	d, err := s.Allowed(ctx, claim.AccountID)
	if err != nil {
		return claim, false, err
	}
	return claim, d.HasAccess, nil
}

// loginTTL is how long a person has at their provider before the sign-in
// must start again.
const loginTTL = 10 * time.Minute

// Begin starts a sign-in at the account's provider: it records state,
// nonce and PKCE verifier, and answers the provider's authorization URL and
// the state for the browser's cookie.
func (s *Service) Begin(ctx context.Context, accountID int64, email, redirectURL string) (authURL, state string, err error) {
	cfg, err := s.Store.SSOConfig(ctx, accountID)
	if err != nil {
		return "", "", err
	}
	oc, _, err := s.oauthConfig(ctx, cfg, redirectURL)
	if err != nil {
		return "", "", fmt.Errorf("identity provider: %w", err)
	}
	state, nonce, verifier := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	if err := s.Store.BeginSSOLogin(ctx, state, store.SSOLogin{AccountID: accountID, Nonce: nonce, Verifier: verifier,
		Email: email}, loginTTL); err != nil {
		return "", "", err
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if email != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", email))
	}
	return oc.AuthCodeURL(state, opts...), state, nil
}
