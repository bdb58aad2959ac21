package main

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the flushing goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServerLogLinesAreBatchedButWarningsAreWrittenAtOnce(t *testing.T) {
	var out syncBuffer
	lines := newLineBuffer(&out)
	logger := slog.New(flushOnWarn{slog.NewTextHandler(lines, nil), lines}).With("request_id", "r1")
	logger.Info("request", "n", 1)
	logger.Info("request", "n", 2)
	logger.Warn("change listener disconnected")
	got := out.String() // no waiting: the warning wrote everything before it
	for _, want := range []string{"n=1", "n=2", "change listener disconnected", "request_id=r1"} {
		if !strings.Contains(got, want) {
			t.Errorf("after a warning, the log lacks %q:\n%s", want, got)
		}
	}
	for i := range 2000 { // more than the buffer holds
		logger.Info("request", "i", i)
	}
	logger.Info("last")
	if err := lines.Close(); err != nil {
		t.Fatal(err)
	}
	got = out.String()
	if n := strings.Count(got, "\n"); n != 2004 || !strings.HasSuffix(got, "msg=last request_id=r1\n") {
		t.Errorf("after Close: %d lines, ending %q", n, got[max(0, len(got)-60):])
	}
}
