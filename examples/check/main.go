// Command check is a small example of a vendor's application asking Entitle
// "may this user of this account use this feature, and how much is left?":
// online through the API, or offline from a signed licence file verified
// with the licensing package alone (no database, no web dependencies).
//
//	# online: a real-time check (an API key with the "check" scope)
//	go run ./examples/check online -url http://localhost:8080 -key ent_... -account globex -feature exports -user alice@globex.test
//
//	# fetch the signed licence and the public keys once (a key with the "license" scope)
//	go run ./examples/check fetch -url http://localhost:8080 -key ent_... -account globex -licence globex.licence.json -keys keys.json
//
//	# offline: the same check, from the file
//	go run ./examples/check offline -licence globex.licence.json -keys keys.json -feature exports -user alice@globex.test
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/entitle-dev/entitle/licensing"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, http.DefaultClient, time.Now); err != nil {
		fmt.Fprintln(os.Stderr, "check:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer, client *http.Client, now func() time.Time) error {
	if len(args) == 0 {
		return errors.New("usage: check online|fetch|offline [flags] (see the package comment)")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	base := fs.String("url", "http://localhost:8080", "Entitle's URL")
	key := fs.String("key", os.Getenv("ENTITLE_API_KEY"), "API key (or ENTITLE_API_KEY)")
	account := fs.String("account", "", "account slug")
	feature := fs.String("feature", "", "feature key")
	user := fs.String("user", "", "email or user id (empty: account-level check)")
	licence := fs.String("licence", "licence.json", "licence file")
	keys := fs.String("keys", "keys.json", "public key file")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "online":
		return online(out, client, *base, *key, *account, *feature, *user)
	case "fetch":
		if err := download(client, *base+"/api/v1/accounts/"+url.PathEscape(*account)+"/license", *key, *licence); err != nil {
			return err
		}
		if err := download(client, *base+"/api/v1/keys", "", *keys); err != nil {
			return err
		}
		fmt.Fprintf(out, "saved %s and %s\n", *licence, *keys)
		return nil
	case "offline":
		return offline(out, *licence, *keys, *feature, *user, now())
	}
	return fmt.Errorf("unknown mode %q: want online, fetch or offline", args[0])
}

// decision is the part of the API's answer this example prints.
type decision struct {
	HasAccess bool   `json:"has_access"`
	Reason    string `json:"reason"`
	Limit     *int64 `json:"limit"`
	Used      int64  `json:"used"`
	Remaining *int64 `json:"remaining"`
}

func online(out io.Writer, client *http.Client, base, key, account, feature, user string) error {
	u := base + "/api/v1/accounts/" + url.PathEscape(account) + "/entitlements/" + url.PathEscape(feature)
	if user != "" {
		u += "?user=" + url.QueryEscape(user)
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var p struct{ Type, Title, Detail string }
		_ = json.NewDecoder(res.Body).Decode(&p)
		return fmt.Errorf("%d %s: %s (%s)", res.StatusCode, p.Title, p.Detail, p.Type)
	}
	var d decision
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		return err
	}
	fmt.Fprintln(out, "online: "+describe(feature, user, d.HasAccess, d.Reason, d.Limit, d.Used, d.Remaining))
	return nil
}

func offline(out io.Writer, licencePath, keysPath, feature, user string, now time.Time) error {
	keyFile, err := os.ReadFile(keysPath)
	if err != nil {
		return err
	}
	ring, err := licensing.ParseKeyRing(keyFile)
	if err != nil {
		return err
	}
	file, err := os.ReadFile(licencePath)
	if err != nil {
		return err
	}
	lic, err := licensing.VerifyLicence(file, ring, now)
	switch {
	case errors.Is(err, licensing.ErrLicenceTampered):
		return fmt.Errorf("refusing the licence, it was changed after signing: %w", err)
	case errors.Is(err, licensing.ErrLicenceExpired):
		return fmt.Errorf("the licence has expired, fetch a new one: %w", err)
	case errors.Is(err, licensing.ErrLicenceUnknownKey):
		return fmt.Errorf("the licence is not signed by a key we trust: %w", err)
	case err != nil:
		return err
	}
	if lic.InGrace(now) {
		fmt.Fprintln(out, "warning: the licence is past its validity, in its grace period: fetch a new one")
	}
	r, err := lic.Check(feature, user, now)
	if err != nil {
		return err
	}
	d := r.Decision
	fmt.Fprintln(out, "offline: "+describe(feature, user, d.HasAccess, string(d.Reason), d.Limit, d.Used, d.Remaining))
	return nil
}

func describe(feature, user string, ok bool, reason string, limit *int64, used int64, remaining *int64) string {
	who := "the account"
	if user != "" {
		who = user
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s may use %s: %v (%s)", who, feature, ok, reason)
	if limit != nil {
		fmt.Fprintf(&b, ", %d of %d used, %d left", used, *limit, *remaining)
	}
	return b.String()
}

func download(client *http.Client, u, key, path string) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", u, res.StatusCode, body)
	}
	return os.WriteFile(path, body, 0o644)
}
