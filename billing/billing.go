package billing

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/tracing"
)

// DevWebhookSecret signs and verifies the simulator's events when
// STRIPE_WEBHOOK_SECRET is unset. It is public: never use it with Stripe.
const DevWebhookSecret = "whsec_entitle_local_dev"

// Config is billing's part of the server's configuration.
type Config struct {
	SecretKey      string // STRIPE_SECRET_KEY: set → Stripe, unset → the local simulator
	WebhookSecret  string // STRIPE_WEBHOOK_SECRET
	APIBase        string // STRIPE_API_BASE: stripe-mock in tests
	PublicURL      string // where buyers come back to after Stripe's pages
	WorkerInterval time.Duration
	Workers        int
	HTTPClient     *http.Client
}

// Billing is what the portal, the console and the server use: the
// provider, the inbox, the worker, and the buyer's journeys on top.
type Billing struct {
	Store     *store.Store
	Clock     licensing.Clock
	Logger    *slog.Logger
	Provider  Provider
	Sim       *Simulator // nil with Stripe
	Inbox     *Inbox
	Worker    *Worker
	PublicURL string
}

// New wires billing for cfg: Stripe when a secret key is set, else the
// local simulator delivering in-process through the same verification.
func New(st *store.Store, clock licensing.Clock, logger *slog.Logger, cfg Config) (*Billing, error) {
	if clock == nil {
		clock = licensing.SystemClock{}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.WebhookSecret == "" {
		cfg.WebhookSecret = DevWebhookSecret
	}
	if cfg.SecretKey != "" && cfg.WebhookSecret == DevWebhookSecret {
		return nil, errors.New("STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not: set it to the endpoint's signing secret (whsec_...)")
	}
	st.OnApplyEvent(traceApply)
	w := &Worker{Store: st, Logger: logger, Interval: cfg.WorkerInterval, Workers: cfg.Workers}
	b := &Billing{Store: st, Clock: clock, Logger: logger, Worker: w, PublicURL: cfg.PublicURL,
		Inbox: &Inbox{Store: st, Secret: cfg.WebhookSecret, OnInsert: w.Wake}}
	if cfg.SecretKey != "" {
		b.Provider = NewStripe(cfg.SecretKey, cfg.APIBase, cfg.HTTPClient)
		return b, nil
	}
	b.Sim = &Simulator{Store: st, Clock: clock, Secret: cfg.WebhookSecret,
		Deliver: func(ctx context.Context, payload []byte, signature string) error {
			_, _, err := b.Inbox.Receive(ctx, payload, signature)
			return err
		}}
	b.Provider = b.Sim
	return b, nil
}

// traceApply continues, for the apply of a traced event, the trace of the
// request that delivered it; the changes the apply announces carry it on
// to every instance's check cache.
func traceApply(ctx context.Context, ev store.StripeEvent) (context.Context, func(string, error)) {
	if ev.TraceParent == "" {
		return ctx, func(string, error) {}
	}
	ctx, span := tracing.Start(tracing.WithTraceParent(ctx, ev.TraceParent), "billing.apply",
		trace.WithAttributes(attribute.String("stripe.event.id", ev.ID), attribute.String("stripe.event.type", ev.Type)))
	return store.WithTraceParent(ctx, tracing.TraceParent(ctx)), func(outcome string, err error) {
		span.SetAttributes(attribute.String("entitle.outcome", outcome))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}
