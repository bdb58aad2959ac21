package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/entitle-dev/entitle/oidcdemo"
	"github.com/entitle-dev/entitle/store"
)

// The demo identity provider's client for Hooli, and its people: all on
// hooli.test, password demo-password; Jared is in Engineering (whose rule
// gives a seat), Monica in no group.
const (
	demoIdPClientID     = "entitle-hooli"
	demoIdPClientSecret = "demo-idp-client-secret"
)

var demoIdPUsers = []oidcdemo.User{
	{Subject: "hooli-jared", Email: "jared@hooli.test", Name: "Jared Dunn", EmailVerified: true, Groups: []string{store.DemoSSOGroup}},
	{Subject: "hooli-monica", Email: "monica@hooli.test", Name: "Monica Hall", EmailVerified: true},
	{Subject: "hooli-owner", Email: "owner@hooli.test", Name: "Owner of Hooli", EmailVerified: true},
}

// startDemoIdP starts the demo OpenID provider on DEMO_IDP_ADDR and points
// the demo Enterprise account at it; it prints the provider's users like
// the demo logins.
func startDemoIdP(ctx context.Context, s *store.Store, cfg Config, logger *slog.Logger) (func(), error) {
	if cfg.DemoIdPAddr == "" {
		return func() {}, nil
	}
	users := make([]oidcdemo.User, len(demoIdPUsers))
	for i, u := range demoIdPUsers {
		u.Password = store.DemoPassword
		users[i] = u
	}
	p, err := oidcdemo.Start(cfg.DemoIdPAddr, []oidcdemo.Client{{ID: demoIdPClientID, Secret: demoIdPClientSecret,
		RedirectURIs: []string{strings.TrimRight(cfg.PublicURL, "/") + "/sso/callback"}}}, users)
	if err != nil {
		return nil, fmt.Errorf("demo identity provider on %s: %w (another instance may hold it: set DEMO_IDP_ADDR to a free address, or to nothing to start none)", cfg.DemoIdPAddr, err)
	}
	if err := s.ConfigureDemoSSO(ctx, p.Issuer, demoIdPClientID, demoIdPClientSecret, []byte(cfg.SigningKeySecret)); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("demo single sign-on: %w", err)
	}
	lines := make([]string, 0, len(users))
	for _, u := range users {
		lines = append(lines, u.Describe())
	}
	logger.Info("demo identity provider for Hooli (sign in at /login with the email and no password)",
		"issuer", p.Issuer, "domain", store.DemoSSODomain, "users", strings.Join(lines, "; "))
	return func() { _ = p.Close() }, nil
}
