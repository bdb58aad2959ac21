package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestAPartThatFailedBecauseItsClientLeftIsLoggedAtDebug: a page whose
// client went away fails every query it had under way; the operator's log
// at info holds none of those failures, and every other failure stays an
// error.
func TestAPartThatFailedBecauseItsClientLeftIsLoggedAtDebug(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	level := new(slog.LevelVar)
	h := &Handler{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: level}))}
	e := echo.New()
	left, leave := context.WithCancel(context.Background())
	leave()
	gone := e.NewContext(httptest.NewRequest("GET", "/members", nil).WithContext(left), httptest.NewRecorder())
	here := e.NewContext(httptest.NewRequest("GET", "/members", nil), httptest.NewRecorder())
	cancelled := fmt.Errorf("load pools: %w", context.Canceled)

	h.log(gone).Error("load banners", "err", cancelled)
	if logs.Len() != 0 {
		t.Errorf("at info, a failure of a client that left is logged: %s", logs.String())
	}
	level.Set(slog.LevelDebug)
	h.log(gone).With("part", "banners").Error("load banners", "err", cancelled)
	if got := logs.String(); !strings.Contains(got, "level=DEBUG") || !strings.Contains(got, "part=banners") {
		t.Errorf("at debug: %q, want the line at DEBUG with its attributes", got)
	}
	for _, c := range []struct {
		name string
		c    echo.Context
		err  error
	}{
		{"another failure of a client that left", gone, errors.New("connection refused")},
		{"a cancellation while the client waits", here, cancelled},
	} {
		logs.Reset()
		h.log(c.c).Error("load banners", "err", c.err)
		if !strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("%s: %q, want an error", c.name, logs.String())
		}
	}
}
