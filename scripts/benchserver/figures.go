package benchserver

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Figure is one row of a benchmark's table: a rate (requests, events or
// whatever Unit says, per second) and latency percentiles, with the issue's
// target for it and whether this run met it.
type Figure struct {
	Name          string
	Rate          float64
	Unit          string // per second; "req" when empty
	P50, P95, P99 time.Duration
	Errors        int
	Target        string // the goal, in words ("p95 < 20 ms, ≥ 1,000 req/s")
	Met           string // "yes", "no" or "" (no goal)
	Note          string // printed under the row
	latencies     []time.Duration
}

// Verdict is "yes" when every condition holds, else "no".
func Verdict(conds ...bool) string {
	for _, c := range conds {
		if !c {
			return "no"
		}
	}
	return "yes"
}

// Measure keeps conc requests made by newReq in flight for d and returns
// their rate and percentiles. A request whose answer is not 200 counts as
// an error (and not in the latencies); one cut by the deadline is dropped.
func Measure(client *http.Client, name string, newReq func() *http.Request, conc int, d time.Duration) Figure {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	lat := make([][]time.Duration, conc)
	errs := make([]int, conc)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1<<14)
			for ctx.Err() == nil {
				req := newReq()
				t0 := time.Now()
				res, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if err == nil && res.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", res.StatusCode)
					}
				}
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					errs[w]++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			lat[w] = mine
		}()
	}
	wg.Wait()
	f := Figure{Name: name}
	for w := range conc {
		f.latencies = append(f.latencies, lat[w]...)
		f.Errors += errs[w]
	}
	f.Rate = float64(len(f.latencies)) / time.Since(start).Seconds()
	return f.withPercentiles()
}

// FromLatencies is a figure from measured latencies over elapsed time.
func FromLatencies(name string, lat []time.Duration, errors int, elapsed time.Duration) Figure {
	f := Figure{Name: name, latencies: lat, Errors: errors, Rate: float64(len(lat)) / elapsed.Seconds()}
	return f.withPercentiles()
}

func (f Figure) withPercentiles() Figure {
	slices.Sort(f.latencies)
	if n := len(f.latencies); n > 0 {
		f.P50, f.P95, f.P99 = f.latencies[n*50/100], f.latencies[min(n-1, n*95/100)], f.latencies[min(n-1, n*99/100)]
	}
	return f
}

// Table prints figures beside the two references measured in the same run:
// bare (a plain net/http /healthz, scripts/barehealthz) and own (the
// portal's /healthz, through its whole middleware stack). Each row shows
// its rate as a ratio to both, its target and whether this run met it.
func Table(w io.Writer, title string, bare, own Figure, figs ...Figure) {
	fmt.Fprintf(w, "-- %s (%d CPUs)\n", title, numCPU())
	fmt.Fprintf(w, "%-44s %12s %9s %9s %9s %7s %8s  %-4s %s\n", "figure", "rate/s", "p50", "p95", "p99", "×bare", "×healthz", "met", "target")
	row := func(f Figure) {
		unit := f.Unit
		if unit == "" {
			unit = "req"
		}
		ratio := func(ref Figure) string {
			if ref.Rate <= 0 || f.Rate <= 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", f.Rate/ref.Rate)
		}
		fmt.Fprintf(w, "%-44s %12s %9s %9s %9s %7s %8s  %-4s %s\n", f.Name, fmt.Sprintf("%.0f %s", f.Rate, unit),
			ms(f.P50), ms(f.P95), ms(f.P99), ratio(bare), ratio(own), dash(f.Met), f.Target)
		if f.Errors > 0 {
			fmt.Fprintf(w, "%-44s %d errors\n", "", f.Errors)
		}
		if f.Note != "" {
			fmt.Fprintf(w, "%-44s %s\n", "", f.Note)
		}
	}
	bare.Name, own.Name = "bare net/http /healthz (reference)", "Entitle /healthz"
	for _, ref := range []Figure{bare, own} {
		if ref.Rate > 0 {
			row(ref)
		} else {
			fmt.Fprintf(w, "%-44s not measured in this run\n", ref.Name)
		}
	}
	for _, f := range figs {
		row(f)
	}
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Get is a request factory for GET u with the given headers.
func Get(u string, header ...string) func() *http.Request {
	return func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		for _, h := range header {
			if k, v, ok := strings.Cut(h, ":"); ok {
				req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
		return req
	}
}

// BareFlag defines every bench command's -bare on fs; BareURL reads it.
func BareFlag(fs *flag.FlagSet) *string {
	return fs.String("bare", "", "a bare net/http /healthz measured first as the fixed reference (default $BENCH_BARE_URL; none: no reference)")
}

// BareURL is the reference server's /healthz, from -bare or BENCH_BARE_URL;
// empty for none (-bare none): every bench command reads the flag alike.
func BareURL(flagValue string) string {
	if flagValue == "none" {
		return ""
	}
	if flagValue != "" {
		return flagValue
	}
	return os.Getenv("BENCH_BARE_URL")
}

func numCPU() int { return runtime.NumCPU() }
