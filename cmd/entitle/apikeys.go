package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// apiKeysCommand runs `entitle apikeys create|list|revoke ACCOUNT ...`.
func apiKeysCommand(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	if len(args) < 2 {
		return errors.New("usage: entitle apikeys create|list|revoke ACCOUNT ...")
	}
	if args[1] == "--vendor" {
		return vendorKeysCommand(ctx, cfg, args[0], args[2:], out)
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	acct, err := s.AccountBySlug(ctx, args[1])
	if err != nil {
		return fmt.Errorf("account %q: %w", args[1], err)
	}
	switch args[0] {
	case "create":
		name, scopes := "command line", store.Scopes
		for rest := args[2:]; len(rest) > 0; rest = rest[1:] {
			switch {
			case rest[0] == "--name" && len(rest) > 1:
				name, rest = rest[1], rest[1:]
			case rest[0] == "--scopes" && len(rest) > 1:
				scopes, rest = strings.Split(rest[1], ","), rest[1:]
			default:
				return fmt.Errorf("apikeys create: unknown argument %q", rest[0])
			}
		}
		token, key, err := s.CreateAPIKey(ctx, store.SystemActor("entitle apikeys create"), acct.ID, name, scopes)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s\n", token)
		fmt.Fprintf(out, "# API key %q for %s, scopes %s. It is shown only this once: store it now.\n",
			key.Name, acct.Slug, strings.Join(key.Scopes, ","))
		return nil
	case "list":
		keys, err := s.APIKeys(ctx, acct.ID)
		if err != nil {
			return err
		}
		return printKeys(out, keys)
	case "revoke":
		if len(args) != 3 {
			return errors.New("usage: entitle apikeys revoke ACCOUNT PREFIX")
		}
		keys, err := s.APIKeys(ctx, acct.ID)
		if err != nil {
			return err
		}
		if k, ok := keyByPrefix(keys, args[2]); ok {
			if err := s.RevokeAPIKey(ctx, store.SystemActor("entitle apikeys revoke"), acct.ID, k.ID); err != nil {
				return err
			}
			fmt.Fprintf(out, "revoked %s (%s)\n", k.Prefix, k.Name)
			return nil
		}
		return fmt.Errorf("no API key %q in account %s: %w", args[2], acct.Slug, store.ErrNotFound)
	}
	return fmt.Errorf("unknown command apikeys %q", args[0])
}

// printKeys lists keys as a table: prefix, name, scopes, created, last use.
func printKeys(out io.Writer, keys []store.APIKey) error {
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "PREFIX\tNAME\tSCOPES\tCREATED\tLAST USED\tREVOKED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Prefix, k.Name, strings.Join(k.Scopes, ","),
			k.CreatedAt.UTC().Format("2006-01-02 15:04"), orDash(k.LastUsedAt.Valid, k.LastUsedAt.Time.UTC().Format("2006-01-02 15:04")),
			orDash(k.RevokedAt.Valid, k.RevokedAt.Time.UTC().Format("2006-01-02 15:04")))
	}
	return tw.Flush()
}

// keyByPrefix finds the key a prefix (or the whole token) names.
func keyByPrefix(keys []store.APIKey, arg string) (store.APIKey, bool) {
	for _, k := range keys {
		if k.Prefix == arg || strings.HasPrefix(arg, k.Prefix+"_") {
			return k, true
		}
	}
	return store.APIKey{}, false
}

// keysCommand runs `entitle keys rotate|list|retire|public`.
func keysCommand(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: entitle keys rotate|list|retire KEY_ID|public")
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	switch {
	case args[0] == "rotate" && len(args) == 1:
		key, err := s.RotateSigningKey(ctx, store.SystemActor("entitle keys rotate"), []byte(cfg.SigningKeySecret))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "new signing key %s (sealed: %v); it signs every licence from now on.\n", key.ID, key.Sealed)
		fmt.Fprintln(out, "Ship the new public key file (entitle keys public) to your applications; older keys keep verifying until retired.")
		return nil
	case args[0] == "list" && len(args) == 1:
		keys, err := s.SigningKeys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY ID\tCREATED\tSEALED\tRETIRED\tPUBLIC KEY")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\n", k.ID, k.CreatedAt.UTC().Format("2006-01-02 15:04"), k.Sealed,
				orDash(k.RetiredAt.Valid, k.RetiredAt.Time.UTC().Format("2006-01-02 15:04")), k.Info().PublicKey)
		}
		return tw.Flush()
	case args[0] == "retire" && len(args) == 2:
		if err := s.RetireSigningKey(ctx, store.SystemActor("entitle keys retire"), args[1]); err != nil {
			return err
		}
		fmt.Fprintf(out, "retired %s: licences it signed no longer verify once applications drop it.\n", args[1])
		return nil
	case args[0] == "public" && len(args) == 1:
		keys, err := s.PublicKeys(ctx, []byte(cfg.SigningKeySecret))
		if err != nil {
			return err
		}
		data, err := licensing.MarshalKeyRing(keys)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", data)
		return err
	}
	return fmt.Errorf("unknown command keys %s", strings.Join(args, " "))
}

func orDash(ok bool, s string) string {
	if !ok {
		return "-"
	}
	return s
}
