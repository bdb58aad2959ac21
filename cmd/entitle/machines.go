package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/entitle-dev/entitle/store"
)

// runMachineSweep deactivates the machines that missed their heartbeat
// window under a "deactivate" policy, now and every interval, until ctx
// ends. Several instances may run it: a deactivated machine is not matched
// again.
func runMachineSweep(ctx context.Context, s *store.Store, interval time.Duration, logger *slog.Logger) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.SweepDeadMachines(ctx); err != nil && ctx.Err() == nil {
			logger.Error("dead machine sweep", "err", err)
		} else if n > 0 {
			logger.Info("dead machines deactivated", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
