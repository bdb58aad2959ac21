package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/entitle-dev/entitle/store"
)

// Provisioning: SCIM tokens and the reconciler from the command
// line.

// errDrift makes `entitle provisioning reconcile` exit non-zero when it
// found differences, without repeating them on stderr.
var errDrift = errors.New("differences found")

// scimTokensCommand runs `entitle scim-tokens create|list|revoke ACCOUNT [NAME]`.
func scimTokensCommand(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	if len(args) < 2 {
		return errors.New("usage: entitle scim-tokens create|list|revoke ACCOUNT [NAME]")
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	slug := args[1]
	switch {
	case args[0] == "create" && len(args) <= 3:
		name := "command line"
		if len(args) == 3 {
			name = args[2]
		}
		t, err := s.CreateSCIMTokenFor(ctx, store.SystemActor("entitle scim-tokens create"), slug, name)
		if err != nil {
			return fmt.Errorf("account %q: %w", slug, err)
		}
		fmt.Fprintf(out, "%s\n", t.Token)
		fmt.Fprintf(out, "# SCIM token %q for %s. It is shown only this once: paste it into your identity provider now.\n",
			t.Name, slug)
		fmt.Fprintf(out, "# SCIM base URL: %s/scim/v2\n", cfg.PublicURL)
		return nil
	case args[0] == "list" && len(args) == 2:
		acct, err := s.AccountBySlug(ctx, slug)
		if err != nil {
			return fmt.Errorf("account %q: %w", slug, err)
		}
		tokens, err := s.SCIMTokens(ctx, acct.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "PREFIX\tNAME\tCREATED\tLAST USED\tREVOKED")
		for _, t := range tokens {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Prefix, t.Name, t.CreatedAt.UTC().Format("2006-01-02 15:04"),
				orDash(t.LastUsedAt.Valid, t.LastUsedAt.Time.UTC().Format("2006-01-02 15:04")),
				orDash(t.RevokedAt.Valid, t.RevokedAt.Time.UTC().Format("2006-01-02 15:04")))
		}
		return tw.Flush()
	case args[0] == "revoke" && len(args) == 3:
		n, err := s.RevokeSCIMTokensNamed(ctx, store.SystemActor("entitle scim-tokens revoke"), slug, args[2])
		if err != nil {
			return fmt.Errorf("account %q: %w", slug, err)
		}
		if n == 0 {
			return fmt.Errorf("no live SCIM token named %q (or with that prefix) in %s: %w", args[2], slug, store.ErrNotFound)
		}
		fmt.Fprintf(out, "revoked %d SCIM %s named %q in %s\n", n, plural(n, "token", "tokens"), args[2], slug)
		return nil
	}
	return errors.New("usage: entitle scim-tokens create ACCOUNT [NAME] | list ACCOUNT | revoke ACCOUNT NAME")
}

// provisioningReconcile runs `entitle provisioning reconcile [ACCOUNT]
// [--dry-run]`: prints every difference between the desired and the actual
// assignments (repaired, unless --dry-run) and fails when there were any.
func provisioningReconcile(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	var slug string
	dryRun := false
	for _, a := range args {
		switch {
		case a == "--dry-run":
			dryRun = true
		case slug == "" && len(a) > 0 && a[0] != '-':
			slug = a
		default:
			return errors.New("usage: entitle provisioning reconcile [ACCOUNT] [--dry-run]")
		}
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	opts := store.ReconcileOptions{DryRun: dryRun, Actor: store.SystemActor("entitle provisioning reconcile")}
	var reports []store.ReconcileReport
	if slug == "" {
		if reports, err = s.ReconcileAll(ctx, opts); err != nil {
			return err
		}
	} else {
		acct, err := s.AccountBySlug(ctx, slug)
		if err != nil {
			return fmt.Errorf("account %q: %w", slug, err)
		}
		rep, err := s.Reconcile(ctx, acct.ID, opts)
		if err != nil {
			return err
		}
		reports = append(reports, rep)
	}
	found := 0
	verb := "repaired"
	if dryRun {
		verb = "found (dry run: nothing changed)"
	}
	for _, rep := range reports {
		if len(rep.Changes) == 0 {
			fmt.Fprintf(out, "%s: no differences\n", rep.AccountSlug)
			continue
		}
		found += len(rep.Changes)
		fmt.Fprintf(out, "%s: %d %s %s, %d of them drift\n", rep.AccountSlug, len(rep.Changes),
			plural(len(rep.Changes), "difference", "differences"), verb, rep.Drifts)
		for _, c := range rep.Changes {
			fmt.Fprintf(out, "  %s\n", c)
		}
	}
	if found > 0 {
		return errDrift
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
