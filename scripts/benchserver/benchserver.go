// Package benchserver gives the benchmark commands under scripts/ what each
// of them needs around the server it measures: a fresh database, a free
// loopback port, and a wait until the server answers.
package benchserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the PostgreSQL driver
)

// FreshDatabase (re)creates database name on the server of base and
// returns its URL and a function that drops it.
func FreshDatabase(base, name string) (string, func(), error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	admin := *u
	admin.Path = "/postgres"
	adb, err := sqlx.Open("postgres", admin.String())
	if err != nil {
		return "", nil, err
	}
	ctx := context.Background()
	if _, err := adb.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		adb.Close()
		return "", nil, err
	}
	if _, err := adb.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		adb.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() {
		_, _ = adb.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		adb.Close()
	}, nil
}

// FreePort is a free address on 127.0.0.1.
func FreePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// WaitReady waits up to 10 s for u to answer 200.
func WaitReady(u string) error {
	for range 200 {
		if res, err := http.Get(u); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s never became ready", strings.TrimSuffix(u, "/readyz"))
}
