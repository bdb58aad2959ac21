package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/entitle-dev/entitle/checks"
	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/mailer"
	"github.com/entitle-dev/entitle/metrics"
	"github.com/entitle-dev/entitle/outbound"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/tracing"
	"github.com/entitle-dev/entitle/web"
)

// serve runs the portal until ctx ends (SIGTERM or Ctrl-C), then stops
// accepting connections and lets in-flight requests finish, up to
// ShutdownTimeout.
func serve(ctx context.Context, cfg Config, logger *slog.Logger) error {
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.DB().Close()

	secret := []byte(cfg.SessionSecret)
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return err
		}
		logger.Warn("SESSION_SECRET is not set: using a random key, so a restart signs everyone out")
	} else if len(secret) < 32 {
		return errors.New("SESSION_SECRET must be at least 32 characters")
	}

	stopTracing, err := tracing.Setup(ctx, cfg.Tracing())
	if err != nil {
		return err
	}
	defer func() { _ = stopTracing(context.WithoutCancel(ctx)) }() // sends the last spans
	if cfg.Tracing().On() {
		logger.Info("tracing on", "endpoint", cfg.OTLPEndpoint)
	}

	bill, err := startBilling(ctx, s, cfg, logger) // billing: provider, webhook inbox, worker
	if err != nil {
		return err
	}
	defer bill.stop()

	// Members and seats: the outbox worker sends invitation mail.
	sender, err := mailSender(cfg, logger)
	if err != nil {
		return err
	}
	go (&mailer.Worker{Store: s, Sender: sender, Logger: logger}).Run(ctx)

	// Entitlement API: checks are answered from memory, kept
	// fresh by LISTEN on the changes channel.
	checkCache := checks.New(s, logger, cfg.CheckStaleLimit)
	cacheCtx, stopCache := context.WithCancel(context.WithoutCancel(ctx))
	cacheDone := make(chan struct{})
	go func() {
		defer close(cacheDone)
		if err := checkCache.Run(cacheCtx, cfg.DatabaseURL); err != nil {
			logger.Error("entitlement cache stopped: checks read the database", "err", err)
		}
	}()
	defer func() { stopCache(); <-cacheDone }() // writes the last API key use before the pool closes

	// Insights: /metrics on its own address, and the job that
	// writes the daily snapshot and runs the idle reclaim policies.
	reg := metrics.New(s, checkCache, logger)
	stopMetrics, err := serveMetrics(cfg.MetricsAddr, reg, cfg.Pprof, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()
	go runInsightsJobs(ctx, s, cfg.InsightsInterval, logger)
	// Provisioning: the reconciler allocates seats right after
	// SCIM writes and billing changes (LISTEN), and sweeps every account.
	reconciler := store.NewReconciler(s, logger)
	reconciler.OnDrift = reg.DriftRepaired
	sweepCtx, stopSweep := context.WithCancel(context.WithoutCancel(ctx))
	sweepDone := make(chan struct{})
	go func() { defer close(sweepDone); reconciler.Run(sweepCtx, cfg.DatabaseURL, cfg.ProvisioningSweep) }()
	defer func() { stopSweep(); <-sweepDone; reconciler.Close() }()

	stopIdP, err := startDemoIdP(ctx, s, cfg, logger) // single sign-on: the demo account's identity provider
	if err != nil {
		return err
	}
	defer stopIdP()
	// Outbound webhooks: the dispatcher delivers the event outbox to the
	// vendor's endpoints.
	guard, err := cfg.WebhookGuard()
	if err != nil {
		return err
	}
	dispatcher := &outbound.Dispatcher{Store: s, Client: guard.Client(), Logger: logger, Interval: cfg.WebhooksInterval,
		ConsoleURL: strings.TrimSuffix(cfg.PublicURL, "/")}
	go dispatcher.Run(ctx)
	go runAlerts(ctx, s, cfg.AlertsInterval, logger)     // trials ending, full seat pools
	go runMachineSweep(ctx, s, cfg.MachineSweep, logger) // machines that missed their heartbeat window

	e := web.New(web.Options{Store: s, Clock: licensing.SystemClock{}, Logger: logger,
		SessionSecret: secret, SecureCookies: cfg.SecureCookies(), PublicURL: cfg.PublicURL, Billing: bill.Billing,
		Checks: checkCache, Licences: cfg.Licences(), APIRateLimit: float64(cfg.APIRateLimit), APIRateBurst: cfg.APIRateBurst,
		Metrics: reg, Tracing: cfg.Tracing().On(), Reconciler: reconciler, Webhooks: guard})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	logger.Info("portal listening", "addr", ln.Addr().String(), "url", cfg.PublicURL)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// mailSender is SMTP when SMTP_URL is set, else the log.
func mailSender(cfg Config, logger *slog.Logger) (mailer.Sender, error) {
	if cfg.SMTPURL == "" {
		logger.Info("SMTP_URL is not set: mail is kept in the outbox table and printed to this log")
		return mailer.Log{Logger: logger}, nil
	}
	return mailer.NewSMTP(cfg.SMTPURL, cfg.MailFrom)
}
