// Command benchscim is the SCIM import benchmark's helper
// (scripts/bench-scim.sh): `prepare` makes a fresh database with the demo
// data, a SCIM token for Globex (printed) and a pool of 2,500 seats;
// `freeport` prints a free loopback port; `import` plays an identity
// provider's initial import against a running portal, as Okta does it:
// its groups pushed empty (and a rule per group written by the admin),
// then for each person an existence check and a create, then the group
// memberships in PATCHes of 100, with a fixed number of requests in
// flight; it reports requests per second and latencies per kind, and how
// long the reconciler took to settle the seats and waiting lists after the
// last request.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/scripts/benchserver"
	"github.com/entitle-dev/entitle/store"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchscim prepare|freeport|import [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "prepare":
		err = prepare(os.Args[2:])
	case "freeport":
		err = freeport()
	case "import":
		err = importUsers(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchscim:", err)
		os.Exit(1)
	}
}

func freeport() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	return nil
}

func prepare(args []string) error {
	fs := flag.NewFlagSet("prepare", flag.ExitOnError)
	dbURL := fs.String("db", "", "URL of the benchmark's database (dropped and created anew)")
	seats := fs.Int("seats", 2500, "seats Globex buys")
	_ = fs.Parse(args)
	ctx := context.Background()
	u, err := url.Parse(*dbURL)
	if err != nil || strings.Trim(u.Path, "/") == "" {
		return fmt.Errorf("-db %q: need a database URL", *dbURL)
	}
	name := strings.Trim(u.Path, "/")
	admin := *u
	admin.Path = "/postgres"
	adb, err := sqlx.Open("postgres", admin.String())
	if err != nil {
		return err
	}
	if _, err := adb.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		return err
	}
	adb.Close()
	db, err := store.Open(ctx, *dbURL, 10*time.Second)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := store.Migrate(ctx, db); err != nil {
		return err
	}
	s := store.New(db, licensing.SystemClock{})
	if err := s.ApplyDemo(ctx); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `UPDATE subscription SET seats = $1 WHERE account_id = (SELECT id FROM account WHERE slug = 'globex')`, *seats); err != nil {
		return err
	}
	tok, err := s.CreateSCIMTokenFor(ctx, store.SystemActor("bench"), "globex", "Bench IdP")
	if err != nil {
		return err
	}
	fmt.Println(tok.Token)
	return nil
}

// departments are the groups pushed; each gets a rule (seat, priority by
// order); "Managers" gives the admin role.
var departments = []string{"Engineering", "Sales", "Support", "Marketing", "Finance", "Legal", "Design", "Data", "Ops", "People"}

type sample struct {
	kind string
	took time.Duration
	err  error
}

type idp struct {
	base, token string
	client      *http.Client
	mu          sync.Mutex
	samples     []sample
}

func (p *idp) send(kind, method, path string, body any, want int) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.base+"/scim/v2"+path, rd)
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/scim+json")
	t0 := time.Now()
	res, err := p.client.Do(req)
	var doc map[string]any
	if err == nil {
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			err = fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, data)
		} else if len(data) > 0 {
			_ = json.Unmarshal(data, &doc)
		}
	}
	p.mu.Lock()
	p.samples = append(p.samples, sample{kind: kind, took: time.Since(t0), err: err})
	p.mu.Unlock()
	return doc, err
}

// parallel runs n jobs with c in flight and returns the first error.
func parallel(n, c int, job func(i int) error) error {
	jobs := make(chan int)
	errs := make(chan error, c)
	var wg sync.WaitGroup
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := job(i); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func importUsers(args []string) error {
	fs := flag.NewFlagSet("import", flag.ExitOnError)
	base := fs.String("url", "", "the portal's base URL (loopback)")
	dbURL := fs.String("db", "", "the portal's database (the admin's rules are written there)")
	token := fs.String("token", "", "the SCIM token")
	users := fs.Int("users", 10000, "people to import")
	concurrency := fs.Int("concurrency", 8, "requests in flight (identity providers use 4 to 10)")
	bareURL := benchserver.BareFlag(fs)
	refDuration := fs.Duration("ref-duration", 2*time.Second, "how long each /healthz reference is loaded")
	_ = fs.Parse(args)
	if u, err := url.Parse(*base); err != nil || !strings.HasPrefix(u.Host, "127.") {
		return fmt.Errorf("-url %q: only a loopback address is loaded", *base)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, *dbURL, 10*time.Second)
	if err != nil {
		return err
	}
	defer db.Close()
	s := store.New(db, licensing.SystemClock{})
	p := &idp{base: *base, token: *token, client: &http.Client{Timeout: 60 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: *concurrency}}}

	var bareFig, own benchserver.Figure
	if bare := benchserver.BareURL(*bareURL); bare != "" {
		bareFig = benchserver.Measure(p.client, "bare", benchserver.Get(bare), *concurrency, *refDuration)
	}
	own = benchserver.Measure(p.client, "/healthz", benchserver.Get(*base+"/healthz"), *concurrency, *refDuration)

	start := time.Now()
	// 1. Group Push: the groups, empty; the admin writes a rule for each.
	groupIDs := map[string]string{}
	for _, name := range append(departments, "Managers") {
		g, err := p.send("POST /Groups", http.MethodPost, "/Groups", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name, "members": []any{}}, http.StatusCreated)
		if err != nil {
			return err
		}
		groupIDs[name], _ = g["id"].(string)
	}
	if err := writeRules(ctx, s, db, groupIDs); err != nil {
		return err
	}

	// 2. People: an existence check, then the create.
	userIDs := make([]string, *users)
	err = parallel(*users, *concurrency, func(i int) error {
		email := fmt.Sprintf("person%05d@globex.test", i)
		q := "/Users?filter=" + url.QueryEscape(`userName eq "`+email+`"`) + "&startIndex=1&count=100"
		found, err := p.send("GET /Users?filter", http.MethodGet, q, nil, http.StatusOK)
		if err != nil {
			return err
		}
		if n, _ := found["totalResults"].(float64); n != 0 {
			return fmt.Errorf("%s exists already", email)
		}
		u, err := p.send("POST /Users", http.MethodPost, "/Users", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": email,
			"name":        map[string]any{"givenName": "Person", "familyName": fmt.Sprint(i)},
			"emails":      []any{map[string]any{"primary": true, "value": email, "type": "work"}},
			"displayName": fmt.Sprintf("Person %d", i), "externalId": fmt.Sprintf("00u%08d", i),
			"locale": "en-US", "groups": []any{}, "password": "not-kept", "active": true}, http.StatusCreated)
		if err != nil {
			return err
		}
		userIDs[i], _ = u["id"].(string)
		return nil
	})
	if err != nil {
		return err
	}
	people := time.Since(start)

	// 3. Memberships: everyone in a department, one in five a manager too,
	// pushed as PATCH add of 100 members.
	members := map[string][]string{}
	for i, id := range userIDs {
		dept := departments[i%len(departments)]
		members[dept] = append(members[dept], id)
		if i%5 == 0 {
			members["Managers"] = append(members["Managers"], id)
		}
	}
	type batch struct {
		group string
		ids   []string
	}
	var batches []batch
	for name, ids := range members {
		for len(ids) > 0 {
			n := min(100, len(ids))
			batches = append(batches, batch{name, ids[:n]})
			ids = ids[n:]
		}
	}
	err = parallel(len(batches), *concurrency, func(i int) error {
		b := batches[i]
		value := make([]any, 0, len(b.ids))
		for _, id := range b.ids {
			value = append(value, map[string]any{"value": id})
		}
		_, err := p.send("PATCH /Groups (100 members)", http.MethodPatch, "/Groups/"+groupIDs[b.group], map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "add", "path": "members", "value": value}}}, http.StatusNoContent)
		return err
	})
	if err != nil {
		return err
	}
	requests := time.Since(start)

	// 4. The reconciler settles seats and waiting lists.
	globex, err := s.AccountBySlug(ctx, "globex")
	if err != nil {
		return err
	}
	for {
		rep, err := s.Reconcile(ctx, globex.ID, store.ReconcileOptions{DryRun: true})
		if err != nil {
			return err
		}
		if len(rep.Changes) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	settled := time.Since(start)
	var seats, waiting int
	_ = db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM seat_assignment WHERE account_id = $1 AND source = 'rule'),
		(SELECT count(*) FROM waiting_entry WHERE account_id = $1)`, globex.ID).Scan(&seats, &waiting)

	report(p.samples, *users, *concurrency, people, requests, settled, seats, waiting, bareFig, own)
	return nil
}

// writeRules is the admin's part: a seat rule per department (Engineering
// first), the admin role for Managers.
func writeRules(ctx context.Context, s *store.Store, db *sqlx.DB, groupIDs map[string]string) error {
	var owner store.Principal
	if err := db.QueryRowContext(ctx, `SELECT m.account_id, m.id, u.id, u.email FROM membership m JOIN app_user u ON u.id = m.user_id
		WHERE u.email = 'owner@globex.test'`).Scan(&owner.AccountID, &owner.MembershipID, &owner.UserID, &owner.Email); err != nil {
		return err
	}
	rowID := func(scimID string) (int64, error) {
		var id int64
		err := db.GetContext(ctx, &id, `SELECT id FROM idp_group WHERE scim_id = $1`, scimID)
		return id, err
	}
	for i, name := range append(departments, "Managers") {
		id, err := rowID(groupIDs[name])
		if err != nil {
			return err
		}
		rule := store.RuleInput{GroupID: id, Role: "member", ProductKey: "analytics", Priority: 10 + i}
		if name == "Managers" {
			rule = store.RuleInput{GroupID: id, Role: "admin", Priority: 1}
		}
		if _, err := s.ChangeProvisioningRules(ctx, owner, store.RuleChange{Add: &rule}, false); err != nil {
			return fmt.Errorf("rule for %s: %w", name, err)
		}
	}
	return nil
}

func report(samples []sample, users, concurrency int, people, requests, settled time.Duration, seats, waiting int, bare, own benchserver.Figure) {
	byKind := map[string][]time.Duration{}
	var all []time.Duration
	errs := 0
	for _, s := range samples {
		if s.err != nil {
			errs++
			continue
		}
		byKind[s.kind] = append(byKind[s.kind], s.took)
		all = append(all, s.took)
	}
	total := benchserver.FromLatencies(fmt.Sprintf("SCIM initial import, %d users + groups", users), all, errs, requests)
	total.Target = "< 20 s"
	total.Met = benchserver.Verdict(settled < 20*time.Second, errs == 0)
	total.Note = fmt.Sprintf("finished (seats and waiting lists settled) after %s; people created after %s, group memberships after %s; %d seats given by rules, %d waiting",
		settled.Round(time.Millisecond), people.Round(time.Millisecond), requests.Round(time.Millisecond), seats, waiting)
	figs := []benchserver.Figure{total}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		figs = append(figs, benchserver.FromLatencies("  "+k, byKind[k], 0, requests))
	}
	benchserver.Table(os.Stdout, fmt.Sprintf("SCIM initial import, %d requests in flight (rates per kind: over the whole import)", concurrency), bare, own, figs...)
}
