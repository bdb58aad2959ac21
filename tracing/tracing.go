// Package tracing is Entitle's OpenTelemetry tracing: off unless an OTLP
// endpoint (or an exporter) is configured, in which case spans follow a
// billing action from the portal through the provider call, the webhook
// receipt, the apply, the change notification and the check cache refresh.
// Trace context crosses the webhook inbox and NOTIFY as a W3C traceparent
// string, so store and the database need not know about tracing.
package tracing

import (
	"context"
	"fmt"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Config says where spans go. Tracing is on when Endpoint is set or
// Exporter is "otlp"; "none" or empty with no endpoint leaves it off.
type Config struct {
	Endpoint    string // OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://127.0.0.1:4318
	Exporter    string // OTEL_TRACES_EXPORTER: otlp or none
	ServiceName string // OTEL_SERVICE_NAME
}

// On tells whether cfg turns tracing on.
func (cfg Config) On() bool {
	return cfg.Exporter != "none" && (cfg.Endpoint != "" || cfg.Exporter == "otlp")
}

// Setup installs the OTLP/HTTP exporter as the process's tracer provider
// when cfg turns tracing on, and returns the function that flushes and
// stops it; off, it installs nothing (every span is a no-op).
func Setup(ctx context.Context, cfg Config) (func(context.Context) error, error) {
	if !cfg.On() {
		return func(context.Context) error { return nil }, nil
	}
	var opts []otlptracehttp.Option
	if cfg.Endpoint != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(cfg.Endpoint))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	name := cfg.ServiceName
	if name == "" {
		name = "entitle"
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(name))))
	Install(tp)
	return tp.Shutdown, nil
}

// Install makes tp the process's tracer provider, with W3C trace context
// propagation (tests install one with a span recorder).
func Install(tp trace.TracerProvider) {
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
}

// Tracer is Entitle's tracer.
func Tracer() trace.Tracer { return otel.Tracer("github.com/entitle-dev/entitle") }

// Start starts a span named name under ctx's span.
func Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return Tracer().Start(ctx, name, opts...)
}

// Handler wraps the server's handler so that every request is a span that
// continues the caller's trace (traceparent header).
func Handler(h http.Handler) http.Handler {
	return otelhttp.NewHandler(h, "http", otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
		return r.Method + " " + r.URL.Path
	}))
}

// Transport wraps an HTTP client's transport so that outgoing calls (to
// Stripe) are spans that carry the trace.
func Transport(rt http.RoundTripper) http.RoundTripper { return otelhttp.NewTransport(rt) }

// TraceParent is ctx's span as a W3C traceparent string ("" without a
// sampled span), to carry the trace through a database row or NOTIFY.
func TraceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier["traceparent"]
}

// WithTraceParent continues, under ctx, the trace a traceparent string
// names (as from TraceParent); an empty or malformed one changes nothing.
func WithTraceParent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}

// TraceID is ctx's trace id ("" without a span), for log lines.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}
