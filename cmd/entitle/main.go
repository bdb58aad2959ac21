// Command entitle is Entitle's one binary: the portal server and the
// operator's command line (migrations, catalog, demo data, audit checks).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

const usage = `Entitle: licences as a service.

Usage:
  entitle serve                      run the portal (applies migrations first)
  entitle migrate                    apply pending database migrations
  entitle catalog apply FILE [--dry-run] [--json] [--verbose]
                                     validate a catalog file, then upsert it (idempotent); --dry-run prints
                                     what "catalog diff" prints and changes nothing
  entitle catalog diff FILE [--json] [--verbose]
                                     what applying the file would change, per product and plan, and who is on
                                     each plan (names with --verbose); exit 0: nothing, 2: changes, 1: invalid
  entitle catalog export             write the current catalog as a catalog file (apply it: nothing changes)
  entitle catalog migrate PRODUCT PLAN --to-version N --at period-end|YYYY-MM-DD [--notice-days D]
                                     [--dry-run] [--exclude SLUG]...
                                     move a plan's subscribers to version N: preview per account, owners mailed
                                     D days (default 30) before, moved then by the server; audited
  entitle demo seed                  apply the demo catalog and seed demo accounts into an empty database
  entitle accounts list              list accounts with plan, status and members
  entitle accounts show SLUG [--json]
                                     show one account's plan, seats and entitlements
  entitle accounts create NAME --owner EMAIL [--plan KEY] [--trial] [--seats N] [--external-id ID]
                                     create a customer account; the owner is invited; a plan is granted
                                     (or its trial started, --trial)
  entitle audit verify               check every audit chain; prints the first broken link or OK
  entitle staff list                 list vendor staff accounts with role and state
  entitle staff disable EMAIL        disable a staff account: ends its sessions and impersonations at once
  entitle staff create EMAIL --role ROLE [--name NAME]
                                     create a staff member and print a one-time link to choose the password
                                     (roles: support, operator, support_admin, admin)
  entitle apikeys create ACCOUNT [--name NAME] [--scopes check,usage,license]
                                     create an API key for the account; prints it once
  entitle apikeys list ACCOUNT       list the account's API keys (prefix, scopes, last use)
  entitle apikeys revoke ACCOUNT PREFIX
                                     revoke an API key; it fails at once on every instance
  entitle apikeys create|list --vendor [--name NAME] [--scopes check,usage,license,accounts:read,accounts:write,webhooks]
                                     vendor API keys: one key of the vendor's backend for every account (printed once)
  entitle apikeys revoke --vendor PREFIX
                                     revoke a vendor API key
  entitle keys rotate                create a new licence signing key (older keys keep verifying)
  entitle keys list                  list licence signing keys
  entitle keys retire KEY_ID         stop offering a signing key for verification
  entitle keys public                print the public key file applications verify licences with
  entitle insights snapshot          write today's insights snapshot and run the idle reclaim policies (serve does it hourly)
  entitle scim-tokens create ACCOUNT [NAME]
                                     create a SCIM token for the account's identity provider; prints it once
  entitle scim-tokens list ACCOUNT   list the account's SCIM tokens (prefix, last use, revoked)
  entitle scim-tokens revoke ACCOUNT NAME
                                     revoke the account's SCIM tokens with that name (or prefix)
  entitle provisioning reconcile [ACCOUNT] [--dry-run]
                                     compare the rules' desired seats with the database and repair (or only
                                     print, --dry-run) every difference; exits non-zero when there were any
  entitle --help                     this text

Environment:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv); err != nil {
		var status exitStatus
		if errors.As(err, &status) {
			os.Exit(status.code)
		}
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "entitle:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// commandUsage is the part of the usage text about one command: its lines
// and their indented continuations, so `entitle apikeys create --help` is
// answered by help rather than taken for an account named "--help".
func commandUsage(command string) string {
	var b strings.Builder
	in := false
	for _, line := range strings.SplitAfter(usage, "\n") {
		switch {
		case strings.HasPrefix(line, "  entitle "+command+" ") || strings.HasPrefix(line, "  entitle "+command+"\n"):
			in = true
		case !strings.HasPrefix(line, "    "):
			in = false
		}
		if in {
			b.WriteString(line)
		}
	}
	if b.Len() == 0 {
		return usage
	}
	return "Usage:\n" + b.String()
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		printEnvHelp(stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	if slices.Contains(args[1:], "--help") || slices.Contains(args[1:], "-h") {
		fmt.Fprint(stdout, commandUsage(args[0]))
		return nil
	}
	cfg, err := LoadConfig(lookupEnv)
	if err != nil {
		return err
	}
	cmd := strings.Join(args[:min(2, len(args))], " ")
	switch {
	case args[0] == "serve":
		// The server logs a line per request: written in batches.
		lines := newLineBuffer(stderr)
		defer lines.Close()
		return serve(ctx, cfg, slog.New(flushOnWarn{newLogger(cfg, lines).Handler(), lines}))
	case args[0] == "migrate":
		return migrate(ctx, cfg, stdout)
	case args[0] == "catalog":
		return catalogCommand(ctx, cfg, args[1:], stdout)
	case cmd == "demo seed":
		return demoSeed(ctx, cfg, stdout)
	case cmd == "accounts list":
		return accountsList(ctx, cfg, stdout)
	case cmd == "accounts show":
		if len(args) < 3 {
			return errors.New("accounts show needs a SLUG: entitle accounts show globex [--json]")
		}
		return accountsShow(ctx, cfg, args[2], len(args) > 3 && args[3] == "--json", stdout)
	case cmd == "audit verify":
		return auditVerify(ctx, cfg, stdout)
	case cmd == "staff list": // vendor console
		return staffList(ctx, cfg, stdout)
	case cmd == "staff disable" && len(args) == 3:
		return staffDisable(ctx, cfg, args[2], stdout)
	case cmd == "staff create":
		return staffCreate(ctx, cfg, args[2:], stdout)
	case cmd == "accounts create":
		return accountsCreate(ctx, cfg, args[2:], stdout)
	// Entitlement API.
	case args[0] == "apikeys":
		return apiKeysCommand(ctx, cfg, args[1:], stdout)
	case args[0] == "keys":
		return keysCommand(ctx, cfg, args[1:], stdout)
	case cmd == "insights snapshot": // insights
		return insightsSnapshot(ctx, cfg, stdout)
	// Provisioning.
	case args[0] == "scim-tokens":
		return scimTokensCommand(ctx, cfg, args[1:], stdout)
	case cmd == "provisioning reconcile":
		return provisioningReconcile(ctx, cfg, args[2:], stdout)
	}
	fmt.Fprint(stderr, usage)
	printEnvHelp(stderr)
	return fmt.Errorf("unknown command %q", strings.Join(args, " "))
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
