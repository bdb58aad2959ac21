package sso

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// Refusal is a callback the portal refused: a stable reason (logged,
// audited, listed on the settings page) and a sentence for the person.
type Refusal struct {
	Reason  string
	Message string
	Detail  string // for the account's admins: what exactly was wrong
}

func (r *Refusal) Error() string { return "sso refused: " + r.Reason + ": " + r.Detail }

// Reasons a callback is refused.
const (
	ReasonStateMismatch   = "state_mismatch"
	ReasonStateUnknown    = "state_unknown"
	ReasonProviderError   = "provider_error"
	ReasonCodeExchange    = "code_exchange_failed"
	ReasonNoIDToken       = "no_id_token"
	ReasonIssuer          = "issuer_mismatch"
	ReasonAudience        = "audience_mismatch"
	ReasonExpired         = "token_expired"
	ReasonTokenInvalid    = "token_invalid"
	ReasonNonce           = "nonce_mismatch"
	ReasonEmailUnverified = "email_unverified"
	ReasonEmailDomain     = "email_outside_domains"
	ReasonNotEntitled     = "sso_not_in_plan"
	ReasonNotAdmitted     = "not_admitted"
	ReasonConflict        = "identity_conflict"
)

func refuse(reason, detail string) *Refusal {
	msg := map[string]string{
		ReasonStateMismatch:   "This sign-in was not started in this browser, or it has expired. Start again from the sign-in page.",
		ReasonStateUnknown:    "This sign-in link was already used or has expired. Start again from the sign-in page.",
		ReasonProviderError:   "Your identity provider did not sign you in.",
		ReasonCodeExchange:    "Your identity provider did not confirm the sign-in.",
		ReasonNoIDToken:       "Your identity provider did not send an ID token.",
		ReasonIssuer:          "The sign-in came from an identity provider this account does not use.",
		ReasonAudience:        "The sign-in was issued for another application.",
		ReasonExpired:         "The sign-in from your identity provider has expired. Start again from the sign-in page.",
		ReasonTokenInvalid:    "The sign-in from your identity provider could not be verified.",
		ReasonNonce:           "The sign-in from your identity provider does not belong to this attempt (it may have been replayed).",
		ReasonEmailUnverified: "Your identity provider has not verified your email address.",
		ReasonEmailDomain:     "Your email address is not on a domain this account signs in with.",
		ReasonNotEntitled:     "Single sign-on is not part of this account's plan.",
		ReasonNotAdmitted:     "You may not sign in to this account. Ask its administrators.",
		ReasonConflict:        "Your address is already linked to another person of this account. Ask its administrators.",
	}[reason]
	return &Refusal{Reason: reason, Message: msg, Detail: detail}
}

// Callback is what the provider sent back, with the state the browser's
// cookie holds.
type Callback struct {
	CookieState string
	Query       url.Values
	RedirectURL string
}

// Finish verifies a callback and signs the person in. Every refusal is
// recorded (reason, audit entry in the account's chain) before it is
// answered as a *Refusal; nothing else is kept.
func (s *Service) Finish(ctx context.Context, cb Callback) (store.Login, error) {
	login, accountID, email, err := s.finish(ctx, cb)
	var r *Refusal
	if errors.As(err, &r) {
		if rerr := s.Store.RecordSSOFailure(ctx, accountID, r.Reason, r.Detail, email); rerr != nil {
			return store.Login{}, rerr
		}
	}
	return login, err
}

func (s *Service) finish(ctx context.Context, cb Callback) (store.Login, int64, string, error) {
	state := cb.Query.Get("state")
	if state == "" || cb.CookieState == "" || subtle.ConstantTimeCompare([]byte(state), []byte(cb.CookieState)) != 1 {
		return store.Login{}, 0, "", refuse(ReasonStateMismatch, "the state parameter does not match this browser's sign-in")
	}
	pending, err := s.Store.TakeSSOLogin(ctx, state)
	if errors.Is(err, store.ErrNotFound) {
		return store.Login{}, 0, "", refuse(ReasonStateUnknown, "unknown, used or expired state")
	}
	if err != nil {
		return store.Login{}, 0, "", err
	}
	acct, email := pending.AccountID, pending.Email
	if e := cb.Query.Get("error"); e != "" {
		return store.Login{}, acct, email, refuse(ReasonProviderError, shorten(e+": "+cb.Query.Get("error_description")))
	}
	if d, err := s.Allowed(ctx, acct); err != nil {
		return store.Login{}, acct, email, err
	} else if !d.HasAccess {
		return store.Login{}, acct, email, refuse(ReasonNotEntitled, "the `sso` feature: "+string(d.Reason))
	}
	cfg, err := s.Store.SSOConfig(ctx, acct)
	if err != nil {
		return store.Login{}, acct, email, err
	}
	oc, p, err := s.oauthConfig(ctx, cfg, cb.RedirectURL)
	if err != nil {
		return store.Login{}, acct, email, refuse(ReasonProviderError, shorten(err.Error()))
	}
	tok, err := oc.Exchange(oidc.ClientContext(ctx, s.HTTP), cb.Query.Get("code"), oauth2.VerifierOption(pending.Verifier))
	if err != nil {
		return store.Login{}, acct, email, refuse(ReasonCodeExchange, shorten(err.Error()))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return store.Login{}, acct, email, refuse(ReasonNoIDToken, "the token response carries no id_token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: s.Clock.Now}).Verify(ctx, raw)
	if err != nil {
		return store.Login{}, acct, email, classify(err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pending.Nonce)) != 1 {
		return store.Login{}, acct, email, refuse(ReasonNonce, "the ID token's nonce is not the one this sign-in sent")
	}
	var claims struct {
		Email         string          `json:"email"`
		EmailVerified json.RawMessage `json:"email_verified"`
		Name          string          `json:"name"`
		Groups        []string        `json:"groups"`
	}
	if err := idt.Claims(&claims); err != nil {
		return store.Login{}, acct, email, refuse(ReasonTokenInvalid, shorten(err.Error()))
	}
	address, ok := licensing.NormalizeEmail(claims.Email)
	if ok {
		email = address
	}
	if !ok || !verified(claims.EmailVerified) {
		return store.Login{}, acct, email, refuse(ReasonEmailUnverified, fmt.Sprintf("email %q, email_verified %s", claims.Email, string(claims.EmailVerified)))
	}
	if !s.onDomains(ctx, acct, address) {
		return store.Login{}, acct, email, refuse(ReasonEmailDomain, address+" is not on a verified domain of the account")
	}
	login, err := s.Store.SignInWithSSO(ctx, store.SSOPerson{AccountID: acct, Issuer: idt.Issuer, Subject: idt.Subject,
		Email: address, Name: claims.Name, Groups: claims.Groups})
	switch {
	case errors.Is(err, store.ErrSSONotAdmitted):
		return store.Login{}, acct, email, refuse(ReasonNotAdmitted, address+" is removed or deactivated in this account")
	case errors.Is(err, store.ErrConflict):
		return store.Login{}, acct, email, refuse(ReasonConflict, shorten(err.Error()))
	}
	return login, acct, email, err
}

// classify names why go-oidc refused an ID token.
func classify(err error) *Refusal {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return refuse(ReasonExpired, shorten(msg))
	case strings.Contains(msg, "issued by a different provider"):
		return refuse(ReasonIssuer, shorten(msg))
	case strings.Contains(msg, "expected audience"):
		return refuse(ReasonAudience, shorten(msg))
	}
	return refuse(ReasonTokenInvalid, shorten(msg))
}

// verified reads email_verified, which some providers send as a string.
func verified(raw json.RawMessage) bool {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	return s == "true"
}

func (s *Service) onDomains(ctx context.Context, accountID int64, email string) bool {
	domains, err := s.Store.SSODomains(ctx, accountID)
	if err != nil {
		return false
	}
	d := licensing.EmailDomain(email)
	for _, x := range domains {
		if x.VerifiedAt.Valid && x.Domain == d {
			return true
		}
	}
	return false
}
