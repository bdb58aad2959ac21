package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

func TestGrantsAreValidatedAndScopedToTheirAccount(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{now: time.Now().UTC()}
	s := storetest.NewDemo(t, clock)
	ctx := context.Background()
	ops := store.Actor{Type: "staff", ID: "2", Label: "ops@acme.test"}
	later := clock.Now().Add(30 * 24 * time.Hour)
	for name, in := range map[string]store.GrantInput{
		"no reason":           {Kind: "feature", ProductKey: "analytics", FeatureKey: "sso", Enabled: true, ExpiresAt: later},
		"no expiry":           {Kind: "feature", ProductKey: "analytics", FeatureKey: "sso", Enabled: true, Reason: "r"},
		"past expiry":         {Kind: "feature", ProductKey: "analytics", FeatureKey: "sso", Reason: "r", ExpiresAt: clock.Now().Add(-time.Hour)},
		"unknown feature":     {Kind: "feature", ProductKey: "analytics", FeatureKey: "nope", Reason: "r", ExpiresAt: later},
		"limit of a boolean":  {Kind: "extra_limit", ProductKey: "analytics", FeatureKey: "sso", Amount: 5, Reason: "r", ExpiresAt: later},
		"no amount":           {Kind: "extra_limit", ProductKey: "analytics", FeatureKey: "api_calls", Reason: "r", ExpiresAt: later},
		"seats of no product": {Kind: "extra_seats", ProductKey: "nope", Amount: 2, Reason: "r", ExpiresAt: later},
		"unknown kind":        {Kind: "discount", Reason: "r", ExpiresAt: later},
	} {
		var ve *store.ValidationError
		if _, err := s.CreateGrant(ctx, ops, "globex", in); !errors.As(err, &ve) {
			t.Errorf("%s: %v, want a validation error", name, err)
		}
	}
	id, err := s.CreateGrant(ctx, ops, "globex", store.GrantInput{Kind: "extra_limit", ProductKey: "analytics",
		FeatureKey: "api_calls", Amount: 10000, Reason: "Launch week", ExpiresAt: later})
	if err != nil {
		t.Fatal(err)
	}
	globex, _ := s.AccountBySlug(ctx, "globex")
	state, _ := s.AccountState(ctx, globex.ID)
	d, _ := state.Products[0].Check("api_calls", 0, clock.Now())
	if d.Limit == nil || *d.Limit != 60000 {
		t.Errorf("api_calls limit with 10,000 granted = %v, want 60000", d.Limit)
	}
	if err := s.RevokeGrant(ctx, ops, "initech", id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoke through another account: %v", err)
	}
	if err := s.RevokeGrant(ctx, ops, "globex", id); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeGrant(ctx, ops, "globex", id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second revoke: %v", err)
	}
	// An expired grant stops applying by itself.
	if _, err := s.CreateGrant(ctx, ops, "globex", store.GrantInput{Kind: "feature", ProductKey: "analytics",
		FeatureKey: "sso", Enabled: true, Reason: "Trial of SSO", ExpiresAt: clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	state, _ = s.AccountState(ctx, globex.ID)
	if d, _ := state.Products[0].Check("sso", 0, clock.Now()); !d.HasAccess {
		t.Error("sso not granted")
	}
	clock.mu.Lock()
	clock.now = clock.now.Add(2 * time.Hour)
	clock.mu.Unlock()
	state, _ = s.AccountState(ctx, globex.ID)
	if d, _ := state.Products[0].Check("sso", 0, clock.Now()); d.HasAccess {
		t.Error("sso still granted after the grant expired")
	}
}

func TestANewImpersonationReplacesTheRunningOneAndLapsesAtItsExpiry(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{now: time.Now().UTC()}
	s := storetest.NewDemo(t, clock)
	ctx := context.Background()
	staff, err := s.AuthenticateStaff(ctx, "lead@acme.test", store.DemoPassword, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	token, _ := s.CreateStaffSession(ctx, staff.StaffID)
	first, err := s.StartImpersonation(ctx, token, store.StartImpersonationInput{AccountSlug: "globex", Reason: "T-1", Mode: "read"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.StartImpersonation(ctx, token, store.StartImpersonationInput{AccountSlug: "initech", Reason: "T-2",
		Mode: "read", Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var reason string
	if err := s.DB().Get(&reason, `SELECT end_reason FROM impersonation_session WHERE id = $1`, first.ID); err != nil || reason != "replaced" {
		t.Errorf("first session end reason = %q %v", reason, err)
	}
	sess, err := s.ImpersonationByStaffToken(ctx, token)
	if err != nil || sess.AccountSlug != "initech" || sess.ImpersonationID != second.ID || !sess.ReadOnly() ||
		sess.Email != "owner@initech.test" || sess.Impersonator != "lead@acme.test" {
		t.Fatalf("acting as %+v, %v", sess, err)
	}
	clock.mu.Lock()
	clock.now = clock.now.Add(time.Hour)
	clock.mu.Unlock()
	var expired *store.ImpersonationExpiredError
	if _, err := s.ImpersonationByStaffToken(ctx, token); !errors.As(err, &expired) {
		t.Fatalf("at expiry: %v", err)
	}
	if _, err := s.EndImpersonation(ctx, token, store.EndExpired); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImpersonationByStaffToken(ctx, token); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after ending: %v", err)
	}
	if _, err := s.StaffSessionByToken(ctx, token); err != nil {
		t.Errorf("the staff session itself ended too: %v", err)
	}
	// Write mode needs the role (lead has it) and the consent (Globex has not given it).
	if _, err := s.StartImpersonation(ctx, token, store.StartImpersonationInput{AccountSlug: "globex", Reason: "T-3",
		Mode: "write"}); !errors.Is(err, store.ErrNoSupportConsent) {
		t.Errorf("write without consent: %v", err)
	}
	if brk, _, err := s.VerifyAudit(ctx); err != nil || brk != nil {
		t.Errorf("audit chain: %v %v", brk, err)
	}
}
