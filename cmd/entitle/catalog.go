package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// errCatalogChanges is `catalog diff` finding something to change: exit
// status 2, so a CI job can tell "would change" from "invalid" (1).
var errCatalogChanges = exitStatus{code: 2, msg: "the catalog file would change the catalog"}

// exitStatus is an error that ends the process with its own exit code and
// prints nothing more (the command already said what it had to).
type exitStatus struct {
	code int
	msg  string
}

func (e exitStatus) Error() string { return e.msg }

// catalogFlags are the options of the catalog commands.
type catalogFlags struct {
	file    string
	json    bool
	verbose bool
	dryRun  bool
}

func parseCatalogFlags(cmd string, args []string, allowed ...string) (catalogFlags, error) {
	var f catalogFlags
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "--") && !contains(allowed, a):
			return f, fmt.Errorf("catalog %s: unknown option %s (want %s)", cmd, a, strings.Join(allowed, ", "))
		case a == "--json":
			f.json = true
		case a == "--verbose":
			f.verbose = true
		case a == "--dry-run":
			f.dryRun = true
		case f.file != "":
			return f, fmt.Errorf("catalog %s needs exactly one FILE, got %q and %q", cmd, f.file, a)
		default:
			f.file = a
		}
	}
	if f.file == "" {
		return f, fmt.Errorf("catalog %s needs a FILE: entitle catalog %s catalog.yaml", cmd, cmd)
	}
	return f, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func catalogCommand(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("catalog needs a command: apply, diff, export or migrate")
	}
	switch args[0] {
	case "apply":
		f, err := parseCatalogFlags("apply", args[1:], "--dry-run", "--json", "--verbose")
		if err != nil {
			return err
		}
		return catalogApply(ctx, cfg, f, out)
	case "diff":
		f, err := parseCatalogFlags("diff", args[1:], "--json", "--verbose")
		if err != nil {
			return err
		}
		return catalogDiff(ctx, cfg, f, out)
	case "migrate":
		return catalogMigrate(ctx, cfg, args[1:], out)
	case "export":
		if len(args) != 1 {
			return errors.New("catalog export takes no arguments: entitle catalog export > catalog.yaml")
		}
		return catalogExport(ctx, cfg, out)
	}
	return fmt.Errorf("unknown catalog command %q: want apply, diff, export or migrate", args[0])
}

// readCatalogFile parses and validates the whole file before anything
// touches the database. With asJSON, a refused file's problems are also
// written to out as {"problems": [...]}, for a CI job to read.
func readCatalogFile(path string, asJSON bool, out io.Writer) ([]licensing.Product, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cat, err := store.ParseCatalog(data)
	if err == nil {
		var products []licensing.Product
		if products, err = cat.Validate(); err == nil {
			return products, nil
		}
	}
	if asJSON {
		var verr *licensing.ValidationError
		if !errors.As(err, &verr) {
			verr = &licensing.ValidationError{Problems: []licensing.Problem{{Message: err.Error()}}}
		}
		if e := writeJSON(out, verr); e != nil {
			return nil, e
		}
	}
	return nil, fmt.Errorf("catalog %s refused, nothing applied:\n%w", path, err)
}

func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// diffCatalog compares the file with the database.
func diffCatalog(ctx context.Context, s *store.Store, products []licensing.Product) (licensing.CatalogDiff, error) {
	stored, err := s.StoredCatalog(ctx)
	if err != nil {
		return licensing.CatalogDiff{}, err
	}
	return licensing.DiffCatalog(stored, products), nil
}

func catalogDiff(ctx context.Context, cfg Config, f catalogFlags, out io.Writer) error {
	products, err := readCatalogFile(f.file, f.json, out)
	if err != nil {
		return err
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	d, err := diffCatalog(ctx, s, products)
	if err != nil {
		return err
	}
	if err := printDiff(out, d, f); err != nil {
		return err
	}
	if d.Changed() {
		return errCatalogChanges
	}
	return nil
}

func catalogApply(ctx context.Context, cfg Config, f catalogFlags, out io.Writer) error {
	products, err := readCatalogFile(f.file, f.json, out)
	if err != nil {
		return err
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	if f.dryRun {
		d, err := diffCatalog(ctx, s, products)
		if err != nil {
			return err
		}
		return printDiff(out, d, f)
	}
	changes, err := s.ApplyCatalog(ctx, store.SystemActor("catalog apply "+f.file), products)
	if err != nil {
		return err
	}
	for _, c := range changes {
		fmt.Fprintf(out, "%s/%s: %s\n", c.Product, c.Plan, c.What)
	}
	return nil
}

func catalogExport(ctx context.Context, cfg Config, out io.Writer) error {
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	stored, err := s.StoredCatalog(ctx)
	if err != nil {
		return err
	}
	data, err := store.MarshalCatalog(licensing.CatalogOf(stored.Products))
	if err != nil {
		return err
	}
	_, err = out.Write(data)
	return err
}

// printDiff writes the diff for a person (or, with --json, for a program).
// Account names appear only with --verbose: a pull-request comment should
// not list customers unless asked to.
func printDiff(out io.Writer, d licensing.CatalogDiff, f catalogFlags) error {
	if !f.verbose {
		for i := range d.Plans {
			for j := range d.Plans[i].Subscribers {
				d.Plans[i].Subscribers[j].Accounts = nil
			}
		}
		for i := range d.Changes {
			d.Changes[i].Affected = nil
		}
	}
	if f.json {
		return writeJSON(out, struct {
			Changed bool `json:"changed"`
			licensing.CatalogDiff
		}{d.Changed(), d})
	}
	var b strings.Builder
	products := []string{}
	for _, c := range d.Changes {
		if !contains(products, c.Product) {
			products = append(products, c.Product)
		}
	}
	for _, p := range d.Plans {
		if !contains(products, p.Product) {
			products = append(products, p.Product)
		}
	}
	counts := map[licensing.PlanApply]int{}
	for _, product := range products {
		for _, c := range d.Changes {
			if c.Product == product && c.Plan == "" {
				fmt.Fprintf(&b, "%s: %s\n", product, describeChange(c, f.verbose))
			}
		}
		for _, p := range d.Plans {
			if p.Product != product {
				continue
			}
			var lines []string
			for _, c := range d.Changes {
				if c.Product == product && c.Plan == p.Plan {
					lines = append(lines, describeChange(c, f.verbose))
				}
			}
			counts[p.Apply]++
			if len(lines) == 0 && !f.verbose {
				continue
			}
			fmt.Fprintf(&b, "%s/%s: %s\n", p.Product, p.Plan, describeApply(p))
			for _, v := range p.Subscribers {
				fmt.Fprintf(&b, "    on version %d: %s", v.Version, count(v.Count, "account"))
				if len(v.Accounts) > 0 {
					fmt.Fprintf(&b, " (%s)", strings.Join(v.Accounts, ", "))
				}
				b.WriteString("\n")
			}
			for _, l := range lines {
				fmt.Fprintf(&b, "  %s\n", l)
			}
		}
	}
	if !d.Changed() {
		b.WriteString("No changes: applying this file changes nothing.\n")
	} else {
		fmt.Fprintf(&b, "Plans: %d created, %d new versions, %d updated in place, %d unchanged.\n",
			counts[licensing.ApplyCreated], counts[licensing.ApplyNewVersion], counts[licensing.ApplyInPlace], counts[licensing.ApplyUnchanged])
	}
	_, err := io.WriteString(out, b.String())
	return err
}

func describeApply(p licensing.PlanOutcome) string {
	switch p.Apply {
	case licensing.ApplyCreated:
		return "created (version 1)"
	case licensing.ApplyNewVersion:
		return fmt.Sprintf("new version %d (subscribers keep version %d until moved)", p.NewVersion, p.Version)
	case licensing.ApplyInPlace:
		return fmt.Sprintf("version %d updated in place (nobody is on it)", p.Version)
	case licensing.ApplyNotInFile:
		return fmt.Sprintf("not in the file: left as it is (version %d)", p.Version)
	}
	return fmt.Sprintf("content unchanged (version %d)", p.Version)
}

func describeChange(c licensing.CatalogDiffChange, verbose bool) string {
	var b strings.Builder
	b.WriteString(string(c.Kind))
	for _, part := range []string{c.Feature, c.Field} {
		if part != "" {
			b.WriteString(" " + part)
		}
	}
	switch {
	case c.From != "" && c.To != "":
		fmt.Fprintf(&b, ": %s → %s", c.From, c.To)
	case c.To != "":
		fmt.Fprintf(&b, ": %s", c.To)
	case c.From != "":
		fmt.Fprintf(&b, ": was %s", c.From)
	}
	if c.AffectedCount > 0 {
		fmt.Fprintf(&b, "; reaches %s at once", count(c.AffectedCount, "account"))
		if verbose {
			fmt.Fprintf(&b, " (%s)", strings.Join(c.Affected, ", "))
		}
	}
	return b.String()
}

func count(n int, noun string) string {
	return fmt.Sprintf("%d %s", n, plural(n, noun, noun+"s"))
}
