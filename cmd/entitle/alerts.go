package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/entitle-dev/entitle/store"
)

// runAlerts sends the alerts that come with time (trials ending, full seat
// pools with people waiting) every interval until ctx ends. Usage alerts go
// out with the usage report that crosses a threshold.
func runAlerts(ctx context.Context, s *store.Store, interval time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.RunAlerts(ctx); err != nil && ctx.Err() == nil {
			logger.Error("alerts", "err", err)
		} else if n > 0 {
			logger.Info("alerts sent", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
