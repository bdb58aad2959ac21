package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/entitle-dev/entitle/metrics"
	"github.com/entitle-dev/entitle/store"
)

// Insights: the metrics listener, the snapshot and reclaim job,
// and `entitle insights snapshot`.

// serveMetrics serves /metrics on addr (nothing when addr is empty), and
// the profiler under /debug/pprof/ when pprof is set, and returns the
// function that stops it.
func serveMetrics(addr string, m *metrics.Metrics, pprofOn bool, logger *slog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w (another instance may hold it: set METRICS_ADDR to a free address, or to nothing to serve no metrics)", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	if pprofOn {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("metrics listening", "addr", ln.Addr().String(), "path", "/metrics")
	return func() { _ = srv.Close() }, nil
}

// runInsightsJobs rewrites today's snapshot and runs the accounts' reclaim
// policies now and every interval, until ctx ends. Several instances may
// run it: the snapshot is an upsert and a reclaim locks its pool.
func runInsightsJobs(ctx context.Context, s *store.Store, interval time.Duration, logger *slog.Logger) {
	if interval <= 0 {
		interval = time.Hour
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if n, err := s.SnapshotInsights(ctx); err != nil {
			logger.Error("insights snapshot", "err", err)
		} else {
			logger.Debug("insights snapshot written", "rows", n)
		}
		if n, err := s.AutoReclaim(ctx); err != nil {
			logger.Error("automatic reclaim", "err", err)
		} else if n > 0 {
			logger.Info("idle seats reclaimed by policy", "seats", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// insightsSnapshot runs the job once: `entitle insights snapshot`.
func insightsSnapshot(ctx context.Context, cfg Config, out io.Writer) error {
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()
	rows, err := s.SnapshotInsights(ctx)
	if err != nil {
		return err
	}
	reclaimed, err := s.AutoReclaim(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "snapshot rows written: %d; idle seats reclaimed by policy: %d\n", rows, reclaimed)
	return nil
}
