package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/entitle-dev/entitle/store"
)

func staffList(ctx context.Context, cfg Config, out io.Writer) error {
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	staff, err := s.ListStaff(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tROLE\tSTATE\tSESSIONS\tIMPERSONATING")
	for _, m := range staff {
		state := "enabled"
		if m.DisabledAt.Valid {
			state = "disabled " + m.DisabledAt.Time.UTC().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", m.Email, m.Role, state, m.Sessions, m.ActiveImpersonations)
	}
	return tw.Flush()
}

// staffDisable disables a staff account from the command line (for when no
// admin can sign in to the console, or the admin's own account is at stake).
func staffDisable(ctx context.Context, cfg Config, email string, out io.Writer) error {
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	res, err := s.DisableStaff(ctx, store.SystemActor("entitle staff disable"), email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no staff account %q", email)
	case errors.Is(err, store.ErrConflict):
		return fmt.Errorf("%s is already disabled", email)
	case err != nil:
		return err
	}
	fmt.Fprintf(out, "%s disabled: %d sessions and %d impersonations ended\n", res.Email, res.Sessions, res.Impersonations)
	return nil
}
