// Command machine is a small example of a node-locked application: it
// activates the machine it runs on and keeps the machine licence, which it
// verifies offline against the running machine at every start. A machine
// without a network writes an activation request file instead; a customer
// admin uploads it on the portal's Devices page and brings back the machine
// licence.
//
//	# online activation (an API key with the "check" scope), then the public keys
//	go run ./examples/machine activate -url http://localhost:8080 -key ent_... -account globex -user alice@globex.test -licence machine.licence.json -keys keys.json
//
//	# air-gapped: write the request, upload it on /devices, download the licence
//	go run ./examples/machine request -user alice@globex.test -out activation-request.json
//
//	# every start: is this licence for this machine, and may it use the feature?
//	go run ./examples/machine verify -licence machine.licence.json -keys keys.json -feature workstations
//
// The fingerprint is the machine's id (/etc/machine-id, else the host
// name) unless -fingerprint says otherwise.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/entitle-dev/entitle/licensing"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, http.DefaultClient, time.Now); err != nil {
		fmt.Fprintln(os.Stderr, "machine:", err)
		os.Exit(1)
	}
}

// defaultFingerprint identifies this machine.
func defaultFingerprint() string {
	if b, err := os.ReadFile("/etc/machine-id"); err == nil && len(bytes.TrimSpace(b)) > 0 {
		return string(bytes.TrimSpace(b))
	}
	host, _ := os.Hostname()
	return host
}

func run(args []string, out io.Writer, client *http.Client, now func() time.Time) error {
	if len(args) == 0 {
		return errors.New("usage: machine activate|request|verify [flags] (see the package comment)")
	}
	host, _ := os.Hostname()
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	base := fs.String("url", "http://localhost:8080", "Entitle's URL")
	key := fs.String("key", os.Getenv("ENTITLE_API_KEY"), "API key (or ENTITLE_API_KEY)")
	account := fs.String("account", "", "account slug")
	user := fs.String("user", "", "the person the machine belongs to (email)")
	name := fs.String("name", host, "the machine's name, as people know it")
	fingerprint := fs.String("fingerprint", defaultFingerprint(), "this machine's fingerprint")
	licence := fs.String("licence", "machine.licence.json", "machine licence file")
	keys := fs.String("keys", "keys.json", "public key file")
	feature := fs.String("feature", "", "feature to check after verifying (verify)")
	reqOut := fs.String("out", "activation-request.json", "activation request file to write (request)")
	nonce := fs.String("nonce", "", "the nonce of this machine's activation request, to match its answer (verify)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "activate":
		return activate(out, client, *base, *key, *account, *fingerprint, *name, *user, *licence, *keys)
	case "request":
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		data, err := licensing.NewActivationRequest(*fingerprint, *name, runtime.GOOS, *user, hex.EncodeToString(b), now())
		if err != nil {
			return err
		}
		if err := os.WriteFile(*reqOut, data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s (nonce %s): upload it on the portal's Devices page and bring back the machine licence\n", *reqOut, hex.EncodeToString(b))
		return nil
	case "verify":
		return verify(out, *licence, *keys, *fingerprint, *feature, *nonce, now())
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func activate(out io.Writer, client *http.Client, base, key, account, fingerprint, name, user, licenceFile, keyFile string) error {
	body, _ := json.Marshal(map[string]string{"fingerprint": fingerprint, "name": name, "platform": runtime.GOOS, "user": user})
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/accounts/"+url.PathEscape(account)+"/machines", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
		var p struct{ Detail string }
		_ = json.Unmarshal(data, &p)
		return fmt.Errorf("activation refused (%d): %s", res.StatusCode, p.Detail)
	}
	var answer struct {
		Machine struct{ ID string }
		Licence json.RawMessage
	}
	if err := json.Unmarshal(data, &answer); err != nil {
		return err
	}
	if err := os.WriteFile(licenceFile, answer.Licence, 0o644); err != nil {
		return err
	}
	kres, err := client.Get(base + "/api/v1/keys")
	if err != nil {
		return err
	}
	defer kres.Body.Close()
	kdata, err := io.ReadAll(kres.Body)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, kdata, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "machine %s activated; licence in %s\n", answer.Machine.ID, licenceFile)
	return nil
}

func verify(out io.Writer, licenceFile, keyFile, fingerprint, feature, nonce string, now time.Time) error {
	file, err := os.ReadFile(licenceFile)
	if err != nil {
		return err
	}
	kdata, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	keys, err := licensing.ParseKeyRing(kdata)
	if err != nil {
		return err
	}
	l, err := licensing.VerifyMachineLicence(file, keys, fingerprint, now)
	if err != nil {
		return err
	}
	if nonce != "" && l.Machine.Nonce != nonce {
		return fmt.Errorf("%w: it answers another activation request", licensing.ErrLicenceWrongMachine)
	}
	fmt.Fprintf(out, "licence for this machine (%s), valid until %s\n", l.Machine.ID, l.ValidUntil.Format(time.DateOnly))
	if feature == "" {
		return nil
	}
	r, err := l.Check(feature, "", now)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %v (%s)\n", feature, r.Decision.HasAccess, strings.ReplaceAll(string(r.Decision.Reason), "_", " "))
	return nil
}
