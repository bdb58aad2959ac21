package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/entitle-dev/entitle/store"
)

// staffCreate makes a staff member and prints the one-time link where they
// choose their password: how the first admin of a fresh install is made.
func staffCreate(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	if len(args) < 1 || strings.HasPrefix(args[0], "-") {
		return errors.New("staff create needs an EMAIL: entitle staff create ada@example.com --role admin [--name NAME]")
	}
	fs := flag.NewFlagSet("staff create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	role := fs.String("role", "", "support, operator, support_admin or admin")
	name := fs.String("name", "", "the staff member's name")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return errors.New("usage: entitle staff create EMAIL --role ROLE [--name NAME]")
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	link, err := s.CreateStaff(ctx, store.SystemActor("entitle staff create"), store.NewStaff{Email: args[0], Name: *name,
		Role: *role, BaseURL: cfg.PublicURL})
	if err != nil {
		return validationLines(err)
	}
	fmt.Fprintf(out, "Staff member %s (%s) created. Open this link once, within %s, to choose the password:\n%s\n",
		strings.ToLower(args[0]), *role, store.StaffPasswordLinkLifetime, link)
	if store.StaffNeedsTwoFactor(*role) {
		fmt.Fprintln(out, "The console then asks them to set up two-factor sign-in before anything else.")
	}
	return nil
}

// accountsCreate creates a customer account with its owner invited, the
// same as /admin/accounts/new.
func accountsCreate(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	if len(args) < 1 || strings.HasPrefix(args[0], "-") {
		return errors.New("accounts create needs a NAME: entitle accounts create \"Wayne Enterprises\" --owner bruce@wayne.test [--plan KEY] [--trial] [--seats N] [--external-id ID]")
	}
	fs := flag.NewFlagSet("accounts create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	owner := fs.String("owner", "", "the owner's email (gets an invitation)")
	plan := fs.String("plan", "", "a plan key of the catalog")
	trial := fs.Bool("trial", false, "start the plan's trial instead of granting it")
	seats := fs.Int("seats", 0, "seats of a granted seat-based plan")
	external := fs.String("external-id", "", "your own id for this customer (unique)")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return errors.New("usage: entitle accounts create NAME --owner EMAIL [--plan KEY] [--trial] [--seats N] [--external-id ID]")
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	start := ""
	if *plan != "" {
		start = map[bool]string{true: "trial", false: "grant"}[*trial]
	}
	acct, err := s.CreateAccount(ctx, store.SystemActor("entitle accounts create"), store.NewAccount{Name: args[0],
		OwnerEmail: strings.TrimSpace(*owner), Plan: *plan, Start: start, Seats: *seats, ExternalID: *external,
		BaseURL: cfg.PublicURL})
	if err != nil {
		return validationLines(err)
	}
	fmt.Fprintf(out, "Account %s (%s) created; %s is invited as its owner (the invitation is in the outbox).\n",
		acct.Name, acct.Slug, strings.TrimSpace(*owner))
	if *trial {
		fmt.Fprintln(out, "Its trial runs now; `entitle serve` registers it with billing within a minute.")
	}
	return nil
}

// validationLines turns a refused form into one line per field.
func validationLines(err error) error {
	var ve *store.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	lines := make([]string, 0, len(ve.Fields))
	for field, msg := range ve.Fields {
		lines = append(lines, "--"+strings.ReplaceAll(field, "_", "-")+": "+msg)
	}
	return errors.New(strings.Join(lines, "; "))
}
