package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/entitle-dev/entitle/store"
)

// vendorKeysCommand runs `entitle apikeys create|list|revoke --vendor ...`:
// keys of the vendor's own backend, which reach every account.
func vendorKeysCommand(ctx context.Context, cfg Config, verb string, args []string, out io.Writer) error {
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	switch verb {
	case "create":
		name, scopes := "command line", []string{store.ScopeCheck, store.ScopeUsage, store.ScopeLicense, store.ScopeAccountsRead}
		for rest := args; len(rest) > 0; rest = rest[1:] {
			switch {
			case rest[0] == "--name" && len(rest) > 1:
				name, rest = rest[1], rest[1:]
			case rest[0] == "--scopes" && len(rest) > 1:
				scopes, rest = strings.Split(rest[1], ","), rest[1:]
			default:
				return fmt.Errorf("apikeys create --vendor: unknown argument %q", rest[0])
			}
		}
		token, key, err := s.CreateVendorKey(ctx, store.SystemActor("entitle apikeys create --vendor"), name, scopes)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s\n", token)
		fmt.Fprintf(out, "# Vendor API key %q for every account, scopes %s. It is shown only this once: store it now.\n",
			key.Name, strings.Join(key.Scopes, ","))
		return nil
	case "list":
		keys, err := s.VendorKeys(ctx)
		if err != nil {
			return err
		}
		return printKeys(out, keys)
	case "revoke":
		if len(args) != 1 {
			return errors.New("usage: entitle apikeys revoke --vendor PREFIX")
		}
		keys, err := s.VendorKeys(ctx)
		if err != nil {
			return err
		}
		if k, ok := keyByPrefix(keys, args[0]); ok {
			if err := s.RevokeVendorKey(ctx, store.SystemActor("entitle apikeys revoke --vendor"), k.ID); err != nil {
				return err
			}
			fmt.Fprintf(out, "revoked %s (%s)\n", k.Prefix, k.Name)
			return nil
		}
		return fmt.Errorf("no vendor API key %q: %w", args[0], store.ErrNotFound)
	}
	return fmt.Errorf("unknown command apikeys %s --vendor", verb)
}
