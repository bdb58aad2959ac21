package views

import (
	"fmt"
	"strconv"
	"time"
)

// ImpersonationBanner is what every portal page shows while a staff member
// acts as the account: who, why, mode, time left, and a button to end.
type ImpersonationBanner struct {
	Staff       string
	AccountName string
	Reason      string
	Mode        string // read or write
	ExpiresAt   time.Time
	Now         time.Time
}

// TimeLeft is the time box's remainder, rounded up to the minute.
func (b ImpersonationBanner) TimeLeft() string { return durationText(b.ExpiresAt.Sub(b.Now)) }

func modeLabel(mode string) string {
	if mode == "write" {
		return "write access"
	}
	return "read-only"
}

func durationText(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	switch {
	case m <= 0:
		return "expired"
	case m < 60:
		return fmt.Sprintf("%d min left", m)
	case m%60 == 0:
		return fmt.Sprintf("%d h left", m/60)
	}
	return fmt.Sprintf("%d h %d min left", m/60, m%60)
}

func minutesLabel(m int) string {
	if m < 60 {
		return fmt.Sprintf("%d minutes", m)
	}
	if m == 60 {
		return "1 hour"
	}
	if m%60 == 0 {
		return fmt.Sprintf("%d hours", m/60)
	}
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}

func consoleTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}

func consoleInt(n int) string     { return strconv.Itoa(n) }
func consoleInt64(n int64) string { return strconv.FormatInt(n, 10) }

// ImpersonationRow is one support session, in the console and on the
// customer's support-access page.
type ImpersonationRow struct {
	ID          int64
	Staff       string
	AccountSlug string
	AccountName string
	Reason      string
	Mode        string
	StartedAt   time.Time
	ExpiresAt   time.Time
	EndedAt     time.Time // zero while running
	EndReason   string
}

// Running reports whether the session has not ended yet.
func (r ImpersonationRow) Running() bool { return r.EndedAt.IsZero() }

func endReasonLabel(r ImpersonationRow, now time.Time) string {
	if r.Running() {
		if now.Before(r.ExpiresAt) {
			return "running"
		}
		return "expired"
	}
	switch r.EndReason {
	case "ended":
		return "ended by staff"
	case "expired":
		return "expired"
	case "replaced":
		return "replaced by another session"
	case "signed_out":
		return "staff signed out"
	case "staff_disabled":
		return "staff account disabled"
	}
	return r.EndReason
}

func consoleOrDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func consoleBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
