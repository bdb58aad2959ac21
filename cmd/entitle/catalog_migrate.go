package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

const migrateUsage = "catalog migrate PRODUCT PLAN --to-version N --at period-end|YYYY-MM-DD [--notice-days D] [--dry-run] [--exclude SLUG]..."

// migrateFlags are `catalog migrate`'s arguments.
type migrateFlags struct {
	product, plan string
	toVersion     int
	timing        licensing.MigrationTiming
	noticeDays    int
	dryRun        bool
	exclude       []string
}

func parseMigrateFlags(args []string) (migrateFlags, error) {
	f := migrateFlags{noticeDays: 30}
	var positional []string
	at := ""
	value := func(i *int, name string) (string, error) {
		if *i+1 >= len(args) {
			return "", fmt.Errorf("%s needs a value: entitle %s", name, migrateUsage)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		var err error
		var v string
		switch a := args[i]; a {
		case "--to-version":
			if v, err = value(&i, a); err == nil {
				f.toVersion, err = strconv.Atoi(v)
				if err != nil || f.toVersion < 1 {
					err = fmt.Errorf("--to-version wants a version number such as 2, got %q", v)
				}
			}
		case "--at":
			at, err = value(&i, a)
		case "--notice-days":
			if v, err = value(&i, a); err == nil {
				f.noticeDays, err = strconv.Atoi(v)
				if err != nil || f.noticeDays < 0 {
					err = fmt.Errorf("--notice-days wants a whole number of days, got %q", v)
				}
			}
		case "--exclude":
			if v, err = value(&i, a); err == nil {
				f.exclude = append(f.exclude, strings.Split(v, ",")...)
			}
		case "--dry-run":
			f.dryRun = true
		default:
			if strings.HasPrefix(a, "--") {
				err = fmt.Errorf("unknown option %s: entitle %s", a, migrateUsage)
			}
			positional = append(positional, a)
		}
		if err != nil {
			return f, err
		}
	}
	if len(positional) != 2 || f.toVersion == 0 || at == "" {
		return f, fmt.Errorf("entitle %s", migrateUsage)
	}
	f.product, f.plan = positional[0], positional[1]
	f.timing.Notice = time.Duration(f.noticeDays) * 24 * time.Hour
	if at != "period-end" {
		t, err := time.Parse("2006-01-02", at)
		if err != nil {
			return f, fmt.Errorf(`--at wants "period-end" or a date such as 2030-01-31, got %q`, at)
		}
		f.timing.At = t.UTC()
	}
	return f, nil
}

func catalogMigrate(ctx context.Context, cfg Config, args []string, out io.Writer) error {
	f, err := parseMigrateFlags(args)
	if err != nil {
		return err
	}
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	return migratePlan(ctx, s, f, out)
}

// migratePlan previews the move per account (what each gains and loses,
// when it moves, when its owners are told) and, unless a dry run, schedules
// it. An account whose date cannot give the notice refuses the whole run:
// exclude it, or choose another date.
func migratePlan(ctx context.Context, s *store.Store, f migrateFlags, out io.Writer) error {
	spec := store.MigrationSpec{ProductKey: f.product, PlanKey: f.plan, ToVersion: f.toVersion, Timing: f.timing,
		NoticeDays: f.noticeDays, Exclude: f.exclude}
	p, err := s.PreviewPlanMigration(ctx, spec)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, r := range p.Rows {
		c := r.Candidate
		fmt.Fprintf(&b, "%s (%s): version %d → %d", c.Slug, c.Name, c.FromVersion, p.Target.ToVersion)
		switch {
		case r.Excluded:
			b.WriteString(": excluded\n")
			continue
		case r.Problem != "":
			fmt.Fprintf(&b, ": cannot move: %s\n", r.Problem)
			continue
		}
		fmt.Fprintf(&b, " on %s, owners told on %s\n", r.EffectiveAt.UTC().Format("2006-01-02"), r.NotifyAt.UTC().Format("2006-01-02"))
		if len(c.Changes) == 0 {
			b.WriteString("    no feature or limit changes\n")
		}
		for _, ch := range c.Changes {
			fmt.Fprintf(&b, "    %s %s: %s → %s\n", ch.Kind, ch.Feature.Key, licensing.DescribeValue(ch.Feature, ch.From), licensing.DescribeValue(ch.Feature, ch.To))
		}
	}
	if len(p.Rows) == 0 {
		fmt.Fprintf(&b, "Nobody is on another version of %s/%s: nothing to move.\n", f.product, f.plan)
	}
	if _, err := io.WriteString(out, b.String()); err != nil {
		return err
	}
	if f.dryRun && len(p.Problems()) == 0 {
		fmt.Fprintf(out, "Dry run: nothing scheduled (%s would move).\n", count(len(p.Moves()), "account"))
		return nil
	}
	if len(p.Rows) == 0 {
		return nil
	}
	id, n, err := s.SchedulePreviewedMigration(ctx, store.SystemActor("catalog migrate"), spec, p)
	if err != nil {
		return fmt.Errorf("nothing scheduled: %w", err)
	}
	fmt.Fprintf(out, "Scheduled migration %d: %s to move; the server mails the owners and moves them on those dates.\n", id, count(n, "account"))
	return nil
}
