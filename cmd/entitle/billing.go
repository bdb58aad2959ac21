package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/entitle-dev/entitle/billing"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
)

// runningBilling is billing wired for `entitle serve`, with its worker
// running until stop (or the server's context) ends it.
type runningBilling struct {
	*billing.Billing
	stop func()
}

func startBilling(ctx context.Context, s *store.Store, cfg Config, logger *slog.Logger) (runningBilling, error) {
	b, err := billing.New(s, licensing.SystemClock{}, logger, billing.Config{
		SecretKey: cfg.StripeSecretKey, WebhookSecret: cfg.StripeWebhookSecret, APIBase: cfg.StripeAPIBase,
		PublicURL: cfg.PublicURL, WorkerInterval: cfg.BillingWorkerInterval, Workers: cfg.BillingWorkers,
	})
	if err != nil {
		return runningBilling{}, err
	}
	logger.Info("billing", "mode", b.Provider.Mode(), "workers", cfg.BillingWorkers)
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		b.Worker.Run(wctx)
	}()
	go func() { // subscribers moved between plan versions: notices, then moves
		defer wg.Done()
		b.RunPlanMigrationsEvery(wctx, time.Minute)
	}()
	go func() { // trials the vendor started, until the provider confirms them
		defer wg.Done()
		b.RegisterVendorTrialsEvery(wctx, time.Minute)
	}()
	return runningBilling{Billing: b, stop: func() { cancel(); wg.Wait() }}, nil
}
