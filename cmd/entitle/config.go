package main

import (
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/entitle-dev/entitle/outbound"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/tracing"
)

// Config is every setting Entitle reads, loaded from the environment in one
// place. `entitle --help` lists each field's variable, default and meaning.
type Config struct {
	DatabaseURL     string        `env:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/entitle?sslmode=disable" help:"PostgreSQL URL; the database is created when missing"`
	Addr            string        `env:"ADDR" default:"localhost:8080" help:"address the portal listens on"`
	PublicURL       string        `env:"PUBLIC_URL" default:"" help:"URL users reach the portal at (default http://ADDR); https makes cookies Secure"`
	SessionSecret   string        `env:"SESSION_SECRET" default:"" help:"key (32+ chars) signing session cookies; random per start when empty, which signs everyone out on restart"`
	DBTimeout       time.Duration `env:"DB_CONNECT_TIMEOUT" default:"5s" help:"how long to wait for PostgreSQL at start"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" default:"20s" help:"how long SIGTERM waits for in-flight requests"`
	LogLevel        string        `env:"LOG_LEVEL" default:"info" help:"debug, info, warn or error"`
	LogFormat       string        `env:"LOG_FORMAT" default:"text" help:"text or json"`
	// Members and seats: invitation mail.
	SMTPURL  string `env:"SMTP_URL" default:"" help:"mail server: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://host:465; every mail is written to the outbox table first, then sent through it, or printed to the log when empty"`
	MailFrom string `env:"MAIL_FROM" default:"Entitle <no-reply@localhost>" help:"sender address of Entitle's mail"`

	// Billing.
	StripeSecretKey       string        `env:"STRIPE_SECRET_KEY" default:"" help:"Stripe secret key (sk_...); when empty, billing runs on the built-in local Stripe simulator"`
	StripeWebhookSecret   string        `env:"STRIPE_WEBHOOK_SECRET" default:"whsec_entitle_local_dev" help:"signing secret of the /webhooks/stripe endpoint (register it with API version 2023-10-16); the default is a public dev secret for the local simulator only, and Stripe mode refuses to start with it"`
	StripeAPIBase         string        `env:"STRIPE_API_BASE" default:"" help:"Stripe API URL override, e.g. a stripe-mock on http://127.0.0.1:12111; empty means Stripe's"`
	BillingWorkerInterval time.Duration `env:"BILLING_WORKER_INTERVAL" default:"2s" help:"how often the billing worker looks for due webhook events (new ones wake it at once)"`
	BillingWorkers        int           `env:"BILLING_WORKERS" default:"4" help:"webhook events applied side by side in this process, one account each (an applier mostly waits on PostgreSQL)"`

	// Entitlement API.
	APIRateLimit    int           `env:"API_RATE_LIMIT" default:"100" help:"requests per second each API key may make (0: no limit); 429 with Retry-After beyond it"`
	APIRateBurst    int           `env:"API_RATE_BURST" default:"200" help:"requests an API key may make in a burst above API_RATE_LIMIT"`
	LicenceValidity time.Duration `env:"LICENCE_VALIDITY" default:"720h" help:"how long an offline licence is valid"`
	CheckStaleLimit time.Duration `env:"CHECK_STALE_LIMIT" default:"1h" help:"how long checks keep being answered from memory, marked stale, while the database or its change feed is unreachable; past it they answer 503"`
	LicenceGrace    time.Duration `env:"LICENCE_GRACE" default:"168h" help:"how long an offline licence keeps working after it expires, while the application fetches a new one"`
	// Tracing (OpenTelemetry): off unless an endpoint or exporter is set.
	OTLPEndpoint   string `env:"OTEL_EXPORTER_OTLP_ENDPOINT" default:"" help:"OTLP/HTTP collector URL (e.g. http://127.0.0.1:4318): traces are sent there; empty: tracing off, at no cost"`
	TracesExporter string `env:"OTEL_TRACES_EXPORTER" default:"" help:"otlp turns tracing on (to the SDK's default endpoint when OTEL_EXPORTER_OTLP_ENDPOINT is empty); none turns it off"`
	ServiceName    string `env:"OTEL_SERVICE_NAME" default:"entitle" help:"service name on the traces"`
	// Insights.
	MetricsAddr      string        `env:"METRICS_ADDR" default:"127.0.0.1:9464" emptyoff:"true" help:"address /metrics (Prometheus) is served on, apart from the portal; empty: not served"`
	Pprof            bool          `env:"PPROF" default:"false" help:"also serve Go's profiler (/debug/pprof/) on METRICS_ADDR, for finding where time goes under load; off by default"`
	InsightsInterval time.Duration `env:"INSIGHTS_INTERVAL" default:"1h" help:"how often the daily insights snapshot is rewritten and idle seats are reclaimed by accounts' policies"`
	SigningKeySecret string        `env:"SIGNING_KEY_SECRET" default:"" help:"secret sealing the licence signing keys in the database (AES-256-GCM); empty stores new keys unsealed"`

	// Provisioning.
	ProvisioningSweep time.Duration `env:"PROVISIONING_SWEEP_INTERVAL" default:"1m" help:"how often the reconciler compares every account's desired seats with the database and repairs drift (it also runs right after each provisioning or billing change)"`

	// Machines.
	MachineSweep time.Duration `env:"MACHINE_SWEEP_INTERVAL" default:"1m" help:"how often machines that missed their heartbeat window are looked for and, where the catalog's on_dead policy says deactivate, deactivated (audited)"`

	// Single sign-on.
	DemoIdPAddr string `env:"DEMO_IDP_ADDR" default:"" help:"where serve starts the demo OpenID provider for the demo Enterprise account Hooli (make run: 127.0.0.1:8099); empty: none"`
	// Outbound webhooks to the vendor's systems.
	WebhooksAllowInsecure bool          `env:"WEBHOOKS_ALLOW_INSECURE" default:"false" help:"local development only: allow http:// webhook endpoints and private, loopback and link-local addresses"`
	WebhooksAllowNetworks string        `env:"WEBHOOKS_ALLOW_NETWORKS" default:"" help:"comma-separated CIDR ranges webhook endpoints may reach although private (e.g. 10.20.0.0/16); every other private, loopback or link-local address is refused after DNS resolution"`
	WebhooksInterval      time.Duration `env:"WEBHOOKS_INTERVAL" default:"1s" help:"how often the webhook dispatcher looks for due deliveries when idle"`
	AlertsInterval        time.Duration `env:"ALERTS_INTERVAL" default:"15m" help:"how often trials ending in 3 days and full seat pools with people waiting are looked for (mail to customer admins, webhooks to the vendor)"`
}

// WebhookGuard is the address policy of outbound webhook endpoints.
func (c Config) WebhookGuard() (outbound.Guard, error) {
	g := outbound.Guard{AllowInsecure: c.WebhooksAllowInsecure}
	for _, raw := range strings.Split(c.WebhooksAllowNetworks, ",") {
		if raw = strings.TrimSpace(raw); raw == "" {
			continue
		}
		p, err := netip.ParsePrefix(raw)
		if err != nil {
			return g, fmt.Errorf("WEBHOOKS_ALLOW_NETWORKS: %q is not a CIDR range such as 10.20.0.0/16", raw)
		}
		g.AllowNetworks = append(g.AllowNetworks, p.Masked())
	}
	return g, nil
}

// Tracing is where traces go.
func (c Config) Tracing() tracing.Config {
	return tracing.Config{Endpoint: c.OTLPEndpoint, Exporter: c.TracesExporter, ServiceName: c.ServiceName}
}

// Licences is how offline licences are issued.
func (c Config) Licences() store.LicenceOptions {
	return store.LicenceOptions{Validity: c.LicenceValidity, Grace: c.LicenceGrace, Secret: []byte(c.SigningKeySecret)}
}

// LoadConfig reads the environment (lookupEnv is os.LookupEnv), applying
// defaults to variables unset or empty; a field tagged emptyoff:"true" is
// left empty when its variable is set to the empty string (that turns the
// feature off).
func LoadConfig(lookupEnv func(string) (string, bool)) (Config, error) {
	var cfg Config
	v := reflect.ValueOf(&cfg).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		raw, set := lookupEnv(f.Tag.Get("env"))
		if raw == "" && !(set && f.Tag.Get("emptyoff") == "true") {
			raw = f.Tag.Get("default")
		}
		switch v.Field(i).Interface().(type) {
		case string:
			v.Field(i).SetString(raw)
		case time.Duration:
			d, err := time.ParseDuration(raw)
			if err != nil {
				return cfg, fmt.Errorf("%s: %v", f.Tag.Get("env"), err)
			}
			v.Field(i).SetInt(int64(d))
		case int:
			n, err := strconv.Atoi(raw)
			if err != nil {
				return cfg, fmt.Errorf("%s: %v", f.Tag.Get("env"), err)
			}
			v.Field(i).SetInt(int64(n))
		case bool:
			b, err := strconv.ParseBool(raw)
			if err != nil {
				return cfg, fmt.Errorf("%s: %v", f.Tag.Get("env"), err)
			}
			v.Field(i).SetBool(b)
		}
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + cfg.Addr
	}
	return cfg, nil
}

// printEnvHelp lists every variable with its default.
func printEnvHelp(w io.Writer) {
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		def := f.Tag.Get("default")
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  %s (default %s)\n      %s\n", f.Tag.Get("env"), def, f.Tag.Get("help"))
	}
}

// SecureCookies says whether cookies need the Secure flag: whenever users
// reach the portal over TLS.
func (c Config) SecureCookies() bool { return strings.HasPrefix(c.PublicURL, "https://") }
