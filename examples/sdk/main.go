// Command sdk is a small example of an application that answers
// entitlement checks in its own process with the Go SDK (sdk/entitle),
// asked through OpenFeature (sdk/ofprovider) as an application that already
// uses feature flags would: a boolean flag is "may this user use the
// feature", a numeric flag is what is left of its limit. The SDK follows the
// account's change stream, so a seat, grant or plan change shows in the
// answers a moment after it is committed, without a request per check; it
// keeps answering from the last verified state when the server is away,
// then from -licence if given, and never says yes on its own.
//
//	go run ./examples/sdk -url http://localhost:8080 -key ent_... -account globex -user frank@globex.test -flags dashboards,api_calls
//
// It prints each flag's answer when it starts and again whenever it changes
// (give frank a seat on /seats and watch), reports one unit of -report every
// tick when set, and sends what is left when it exits (Ctrl-C).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/sdk/entitle"
	"github.com/entitle-dev/entitle/sdk/ofprovider"
)

type config struct {
	base, key, account, user string
	flags                    []string
	report                   string // a metered feature to report one unit of per tick
	licence                  string // an offline licence file, for when the server is away
	every                    time.Duration
}

func main() {
	var cfg config
	var flags string
	flag.StringVar(&cfg.base, "url", "http://localhost:8080", "Entitle's URL")
	flag.StringVar(&cfg.key, "key", "", "the account's API key (scopes check and license; usage for -report)")
	flag.StringVar(&cfg.account, "account", "", "the account's slug")
	flag.StringVar(&cfg.user, "user", "", "the user the flags are evaluated for (OpenFeature's targeting key)")
	flag.StringVar(&flags, "flags", "dashboards,api_calls", "features to evaluate, comma-separated")
	flag.StringVar(&cfg.report, "report", "", "a metered feature to report one unit of usage of every tick")
	flag.StringVar(&cfg.licence, "licence", "", "an offline licence file to answer from when the server cannot be reached")
	flag.DurationVar(&cfg.every, "every", time.Second, "how often the flags are evaluated")
	flag.Parse()
	cfg.flags = strings.Split(flags, ",")
	if cfg.key == "" || cfg.account == "" {
		fmt.Fprintln(os.Stderr, "sdk: -key and -account are required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sdk:", err)
		os.Exit(1)
	}
}

// run evaluates the flags every cfg.every until ctx ends, printing each
// answer that differs from the last one printed.
func run(ctx context.Context, cfg config, out io.Writer) error {
	keys, err := publishedKeys(ctx, cfg.base)
	if err != nil {
		return err
	}
	sdkCfg := entitle.Config{BaseURL: cfg.base, APIKey: cfg.key, Account: cfg.account, Keys: keys,
		OnUsageRefused: func(feature string, quantity int64, err error) {
			fmt.Fprintf(out, "usage of %s refused (%d): %v\n", feature, quantity, err)
		}}
	if cfg.licence != "" {
		if sdkCfg.OfflineLicence, err = os.ReadFile(cfg.licence); err != nil {
			return err
		}
	}
	client, err := entitle.New(sdkCfg)
	if err != nil {
		return err
	}
	following, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = client.Run(following) }() // the change stream; polls with backoff while it is down

	name := "entitle-example-" + cfg.account
	if err := openfeature.SetNamedProviderAndWait(name, ofprovider.New(map[string]*entitle.Client{cfg.account: client})); err != nil {
		return err
	}
	flags := openfeature.NewClient(name)
	evalCtx := openfeature.NewEvaluationContext(cfg.user, map[string]any{ofprovider.AccountAttribute: cfg.account})
	who := cfg.account
	if cfg.user != "" {
		who = cfg.user
	}

	last := map[string]string{}
	tick := time.NewTicker(cfg.every)
	defer tick.Stop()
	for {
		for _, f := range cfg.flags {
			if answer := describe(ctx, flags, f, evalCtx); answer != last[f] {
				last[f] = answer
				fmt.Fprintf(out, "%s for %s: %s\n", f, who, answer)
			}
		}
		if cfg.report != "" {
			if err := client.ReportUsage(cfg.report, 1); err != nil {
				fmt.Fprintf(out, "usage of %s: %v\n", cfg.report, err)
			}
		}
		select {
		case <-ctx.Done():
			closing, done := context.WithTimeout(context.Background(), 10*time.Second)
			defer done()
			if err := client.Close(closing); err != nil { // sends the usage not sent yet
				return err
			}
			fmt.Fprintln(out, "stopped; usage sent")
			return nil
		case <-tick.C:
		}
	}
}

// describe is a flag's answer in words: yes or no (with the decision's
// reason), and for a counted feature what is left of its limit.
func describe(ctx context.Context, flags *openfeature.Client, feature string, evalCtx openfeature.EvaluationContext) string {
	allowed, err := flags.BooleanValueDetails(ctx, feature, false, evalCtx)
	if err != nil {
		return "no (" + err.Error() + ")" // the default: never a yes the SDK was not given
	}
	reason, _ := flags.StringValue(ctx, feature, "", evalCtx)
	if !allowed.Value {
		return "no (" + reason + ")"
	}
	left, err := flags.IntValue(ctx, feature, 0, evalCtx)
	switch {
	case err != nil: // a boolean feature has no number (a type mismatch)
		return "yes"
	case left == math.MaxInt64: // the provider's "unlimited"
		return "yes, unlimited"
	default:
		return fmt.Sprintf("yes, %d left", left)
	}
}

// publishedKeys fetches the vendor's public keys. A real application ships
// them with its code (they are what it trusts); fetching them keeps the
// example short.
func publishedKeys(ctx context.Context, base string) (licensing.KeyRing, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/api/v1/keys", nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/keys: HTTP %d", res.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return licensing.ParseKeyRing(data)
}
