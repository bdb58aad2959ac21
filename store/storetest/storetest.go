// Package storetest gives each test its own fresh PostgreSQL database, cloned
// from a migrated template, so that tests run in parallel against the real
// server without seeing each other's rows.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/migrations"
	"github.com/entitle-dev/entitle/store"
)

// testPoolSize is the most connections one test's database pool opens.
const testPoolSize = 8

// defaultServer is the machine's local PostgreSQL, used when DATABASE_URL is
// unset (the Makefile always sets it).
const defaultServer = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// ServerURL is the URL of the server tests use, for database name "name".
func ServerURL(name string) string {
	raw := os.Getenv("DATABASE_URL")
	if raw == "" {
		raw = defaultServer
	}
	u, err := url.Parse(raw)
	if err != nil {
		panic(fmt.Sprintf("DATABASE_URL: %v", err))
	}
	u.Path = "/" + name
	return u.String()
}

// NewDB creates a fresh, migrated database for t and drops it when t ends.
// It fails the test (never skips it) when PostgreSQL cannot be reached.
func NewDB(t testing.TB) *sqlx.DB {
	t.Helper()
	name, err := migratedTemplate()
	if err != nil {
		t.Fatalf("test database template: %v", err)
	}
	return cloneDB(t, name)
}

// migratedTemplate is the migrated, empty database every test database is
// copied from, made once per process.
func migratedTemplate() (string, error) {
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate() })
	return templateName, templateErr
}

// cloneDB creates a database for t as a copy of template and drops it when
// t ends.
func cloneDB(t testing.TB, template string) *sqlx.DB {
	t.Helper()
	admin := adminDB(t)
	name := "entitle_t_" + randomSuffix()
	if _, err := admin.Exec("CREATE DATABASE " + pq.QuoteIdentifier(name) + " TEMPLATE " + pq.QuoteIdentifier(template)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	db, err := store.Open(context.Background(), ServerURL(name), 10*time.Second)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	// Many tests run at once against one server (max_connections is often
	// 100): each gets a pool that still lets its races race.
	db.SetMaxOpenConns(testPoolSize)
	db.SetMaxIdleConns(testPoolSize)
	t.Cleanup(func() {
		checkKeptFigures(t, db)
		db.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name) + " WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
		admin.Close()
	})
	return db
}

// New returns a Store on a fresh database, with the given clock (nil for
// the system clock).
func New(t testing.TB, clock licensing.Clock) *store.Store {
	t.Helper()
	return store.New(NewDB(t), clock)
}

// NewDemo returns a Store on a fresh database holding the demo catalog and
// demo accounts of DESIGN.md. With the system clock (nil) the database is
// a copy of this process's demo template, seeded once today: seeding took
// most of a test's set-up, and hundreds of tests start from the demo. With
// another clock it is seeded at that clock's time.
func NewDemo(t testing.TB, clock licensing.Clock) *store.Store {
	t.Helper()
	if clock == nil {
		name, err := demoTemplateToday()
		if err != nil {
			t.Fatalf("demo template: %v", err)
		}
		return store.New(cloneDB(t, name), nil)
	}
	s := New(t, clock)
	if err := s.ApplyDemo(context.Background()); err != nil {
		t.Fatalf("demo data: %v", err)
	}
	return s
}

// demoTemplate is this process's seeded demo database. The demo's dates
// are relative to the day it is seeded (trials, usage this month, insights
// history up to today), so a template is used only on the UTC day it was
// seeded; a test process running past midnight seeds a new one.
var demoTemplate struct {
	mu   sync.Mutex
	name string
	day  string
}

// demoTemplatesPrefix names the demo templates; a template outlives its
// process (nothing runs when a test binary exits), so templates older
// than staleDemoTemplate are dropped when a new one is made.
const (
	demoTemplatesPrefix = "entitle_demo_"
	staleDemoTemplate   = time.Hour // a test binary stops at -timeout=30m
)

func demoTemplateToday() (string, error) {
	demoTemplate.mu.Lock()
	defer demoTemplate.mu.Unlock()
	today := time.Now().UTC().Format(time.DateOnly)
	if demoTemplate.name != "" && demoTemplate.day == today {
		return demoTemplate.name, nil
	}
	migrated, err := migratedTemplate()
	if err != nil {
		return "", err
	}
	ctx := context.Background()
	admin, err := sqlx.Open("postgres", ServerURL("postgres"))
	if err != nil {
		return "", err
	}
	defer admin.Close()
	dropStaleDemoTemplates(ctx, admin)
	name := fmt.Sprintf("%s%d_%s", demoTemplatesPrefix, time.Now().Unix(), randomSuffix())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)+" TEMPLATE "+pq.QuoteIdentifier(migrated)); err != nil {
		return "", err
	}
	db, err := store.Open(ctx, ServerURL(name), 10*time.Second)
	if err != nil {
		return "", err
	}
	err = store.New(db, nil).ApplyDemo(ctx)
	db.Close() // a template has no connection while it is copied
	if err != nil {
		return "", fmt.Errorf("demo data: %w", err)
	}
	demoTemplate.name, demoTemplate.day = name, today
	return name, nil
}

// dropStaleDemoTemplates drops demo templates left by test processes that
// ended hours ago; a failure leaves them for the next time.
func dropStaleDemoTemplates(ctx context.Context, admin *sqlx.DB) {
	var names []string
	if err := admin.SelectContext(ctx, &names, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, demoTemplatesPrefix); err != nil {
		return
	}
	for _, n := range names {
		var made int64
		if _, err := fmt.Sscanf(strings.TrimPrefix(n, demoTemplatesPrefix), "%d_", &made); err != nil {
			continue
		}
		if time.Since(time.Unix(made, 0)) > staleDemoTemplate {
			_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(n)+" WITH (FORCE)")
		}
	}
}

func adminDB(t testing.TB) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", ServerURL("postgres"))
	if err == nil {
		err = db.Ping()
	}
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s (set DATABASE_URL, or run the tests with `make test`, which finds or starts one): %v",
			ServerURL("postgres"), err)
	}
	db.SetMaxOpenConns(2)
	return db
}

// ensureTemplate makes sure a migrated template database exists whose name
// carries a hash of the migrations, so a changed migration gets a new
// template. Test processes for several packages race here, so creation is
// serialised by an advisory lock and published by a rename.
func ensureTemplate() (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "entitle_tmpl_" + sum[:12]
	ctx := context.Background()
	admin, err := sqlx.Open("postgres", ServerURL("postgres"))
	if err != nil {
		return "", err
	}
	defer admin.Close()
	conn, err := admin.Connx(ctx)
	if err != nil {
		return "", fmt.Errorf("PostgreSQL is not reachable at %s: %w", ServerURL("postgres"), err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(17742, 1)`); err != nil {
		return "", err
	}
	defer conn.ExecContext(ctx, `SELECT pg_advisory_unlock(17742, 1)`)

	var exists bool
	if err := conn.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(building)+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(building)); err != nil {
		return "", err
	}
	db, err := store.Open(ctx, ServerURL(building), 10*time.Second)
	if err != nil {
		return "", err
	}
	_, err = store.Migrate(ctx, db)
	db.Close()
	if err != nil {
		return "", err
	}
	_, err = conn.ExecContext(ctx, "ALTER DATABASE "+pq.QuoteIdentifier(building)+" RENAME TO "+pq.QuoteIdentifier(name))
	return name, err
}

func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\n%d\n", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Principal is the demo member with this address (any case), acting on
// their first account.
func Principal(t testing.TB, s *store.Store, email string) store.Principal {
	t.Helper()
	var p store.Principal
	err := s.DB().QueryRow(`SELECT m.account_id, m.id, u.id, u.email FROM membership m JOIN app_user u ON u.id = m.user_id
		WHERE lower(u.email) = lower($1) ORDER BY m.id LIMIT 1`, email).Scan(&p.AccountID, &p.MembershipID, &p.UserID, &p.Email)
	if err != nil {
		t.Fatalf("principal %s: %v", email, err)
	}
	return p
}

// keptFigureDriftSQL lists, one sentence each, the figures kept by
// triggers beside what they are computed from that differ from it: a
// subscription's count of assigned seats (migration 00187) and a
// membership's copy of its person's sort key (00188).
const keptFigureDriftSQL = `
SELECT format('subscription %s: seats_assigned %s, but %s seats are assigned', id, seats_assigned, counted) FROM (
    SELECT s.id, s.seats_assigned, (SELECT count(*) FROM seat_assignment sa WHERE sa.subscription_id = s.id) AS counted
    FROM subscription s) c
WHERE seats_assigned <> counted
UNION ALL
SELECT format('membership %s: sort_key %L, but its person''s is %L', m.id, m.sort_key, u.sort_key)
FROM membership m JOIN app_user u ON u.id = m.user_id
WHERE m.sort_key IS DISTINCT FROM u.sort_key`

// checkKeptFigures fails t if a figure kept by triggers differs from what
// it is computed from when t ends. Every test that gives or takes seats,
// makes a member or renames a person (by hand, by rules, by billing, by
// SCIM, concurrently) is so also a test that the kept figures never drift.
// A database that cannot answer (a test that stopped its server) is not
// checked.
func checkKeptFigures(t testing.TB, db *sqlx.DB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var drift []string
	if err := db.SelectContext(ctx, &drift, keptFigureDriftSQL); err != nil {
		t.Logf("kept figures not checked: %v", err)
		return
	}
	for _, d := range drift {
		t.Error(d)
	}
}
