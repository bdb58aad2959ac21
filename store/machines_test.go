package store_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// Globex's team plan allows 2 workstations per seat holder; alice holds a
// seat, erin does not.

func TestMachineLimitPerSeatHolder(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	globex := accountID(t, s, "globex")
	app := store.Actor{Type: "api_key", Label: "desktop app"}
	activate := func(fp, user string) (store.Machine, bool, error) {
		return s.ActivateMachine(ctx, app, globex, store.MachineRequest{Fingerprint: fp, Name: "ws-" + fp, Platform: "linux", User: user})
	}
	first, created, err := activate("fp-1", "alice@globex.test")
	if err != nil || !created {
		t.Fatalf("first machine: %v %v", created, err)
	}
	if first.FingerprintHash != licensing.HashFingerprint("fp-1") || strings.Contains(first.FingerprintHash, "fp-1") {
		t.Fatalf("fingerprint kept as %q", first.FingerprintHash)
	}
	if _, _, err := activate("fp-2", "ALICE@globex.test"); err != nil {
		t.Fatalf("second machine: %v", err)
	}
	again, created, err := activate("fp-1", "alice@globex.test")
	if err != nil || created || again.PublicID != first.PublicID {
		t.Fatalf("re-activating the same machine: %v %v %v", again.PublicID, created, err)
	}
	_, _, err = activate("fp-3", "alice@globex.test")
	var refused *store.DeviceRefusedError
	if !errors.As(err, &refused) || !refused.Full() || refused.Per != licensing.PerSeat || *refused.Decision.Limit != 2 {
		t.Fatalf("third machine: %v", err)
	}
	// Bob has his own two.
	if _, _, err := activate("fp-3", "bob@globex.test"); err != nil {
		t.Fatalf("bob's machine: %v", err)
	}
	if _, _, err := activate("fp-4", "erin@globex.test"); !errors.As(err, &refused) || refused.Decision.Reason != licensing.ReasonNoSeat {
		t.Fatalf("a member without a seat activates: %v", err)
	}
	var ve *store.ValidationError
	if _, _, err := activate("fp-5", ""); !errors.As(err, &ve) || ve.Fields["user"] == "" {
		t.Fatalf("per-seat machine without a user: %v", err)
	}
	if _, _, err := activate("fp-5", "nobody@else.test"); !errors.As(err, &ve) || ve.Fields["user"] == "" {
		t.Fatalf("a stranger's machine: %v", err)
	}
	if _, _, err := s.ActivateMachine(ctx, app, globex, store.MachineRequest{Fingerprint: " ", Name: ""}); !errors.As(err, &ve) ||
		ve.Fields["fingerprint"] == "" || ve.Fields["name"] == "" {
		t.Fatalf("empty activation: %v", err)
	}

	// Deactivating frees the place; the machine then says so.
	if err := s.DeactivateMachine(ctx, app, globex, first.PublicID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MachineHeartbeat(ctx, globex, first.PublicID); !errors.Is(err, store.ErrMachineDeactivated) {
		t.Fatalf("heartbeat of a deactivated machine: %v", err)
	}
	if _, _, err := activate("fp-6", "alice@globex.test"); err != nil {
		t.Fatalf("after deactivating one: %v", err)
	}
	if n := auditCount(t, s, globex, "machine.activate"); n != 4 {
		t.Fatalf("%d machine.activate audit entries, want 4", n)
	}
	if n := auditCount(t, s, globex, "machine.deactivate"); n != 1 {
		t.Fatalf("%d machine.deactivate audit entries, want 1", n)
	}
	mine, err := s.ActiveMachines(ctx, globex, storetest.Principal(t, s, "alice@globex.test").MembershipID)
	if err != nil || len(mine) != 2 || mine[0].UserEmail.String != "alice@globex.test" {
		t.Fatalf("alice's machines: %+v %v", mine, err)
	}
	if _, err := s.Machine(ctx, accountID(t, s, "initech"), first.PublicID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account reads the machine: %v", err)
	}
}

func TestConcurrentActivationsNeverExceedTheLimit(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	globex := accountID(t, s, "globex")
	var wg sync.WaitGroup
	errs := make([]error, 20)
	start := make(chan struct{})
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, _, errs[i] = s.ActivateMachine(ctx, store.SystemActor("race"), globex,
				store.MachineRequest{Fingerprint: "race-" + itoa(int64(i)), Name: "m", User: "carol@globex.test"})
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		var refused *store.DeviceRefusedError
		if err == nil {
			ok++
		} else if !errors.As(err, &refused) {
			t.Fatal(err)
		}
	}
	if n := queryInt(t, s, `SELECT count(*) FROM machine WHERE account_id = $1 AND deactivated_at IS NULL`, globex); ok != 2 || n != 2 {
		t.Fatalf("%d activations succeeded, %d active machines; want 2", ok, n)
	}
}

func TestMachineLicenceVerifiesOnlyOnItsMachine(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	globex := accountID(t, s, "globex")
	m, _, err := s.ActivateMachine(ctx, store.SystemActor("test"), globex,
		store.MachineRequest{Fingerprint: "serial-42", Name: "lab-1", User: "alice@globex.test"})
	if err != nil {
		t.Fatal(err)
	}
	file, _, err := s.MachineLicence(ctx, globex, m.PublicID, "nonce-123456", store.LicenceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	infos, err := s.PublicKeys(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := licensing.MarshalKeyRing(infos)
	keys, err := licensing.ParseKeyRing(data)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	l, err := licensing.VerifyMachineLicence(file, keys, "serial-42", now)
	if err != nil || l.Machine.ID != m.PublicID || l.Machine.Nonce != "nonce-123456" {
		t.Fatalf("on its machine: %v %+v", err, l)
	}
	if _, err := licensing.VerifyMachineLicence(file, keys, "serial-43", now); !errors.Is(err, licensing.ErrLicenceWrongMachine) {
		t.Fatalf("on another machine: %v", err)
	}
	// Rebinding the licence to another machine breaks the signature.
	var f map[string]string
	if err := json.Unmarshal(file, &f); err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.StdEncoding.DecodeString(f["payload"])
	payload = []byte(strings.Replace(string(payload), licensing.HashFingerprint("serial-42"), licensing.HashFingerprint("serial-43"), 1))
	f["payload"] = base64.StdEncoding.EncodeToString(payload)
	tampered, _ := json.Marshal(f)
	if _, err := licensing.VerifyMachineLicence(tampered, keys, "serial-43", now); !errors.Is(err, licensing.ErrLicenceTampered) {
		t.Fatalf("tampered machine licence: %v", err)
	}
	// The account's own licence is not a machine licence.
	account, err := s.IssueLicence(ctx, globex, store.LicenceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := licensing.VerifyMachineLicence(account, keys, "serial-42", now); !errors.Is(err, licensing.ErrLicenceWrongMachine) {
		t.Fatalf("an unbound licence as a machine licence: %v", err)
	}
	if err := s.DeactivateMachine(ctx, store.SystemActor("test"), globex, m.PublicID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.MachineLicence(ctx, globex, m.PublicID, "", store.LicenceOptions{}); !errors.Is(err, store.ErrMachineDeactivated) {
		t.Fatalf("licence for a deactivated machine: %v", err)
	}
}

func TestMembersDeactivateOnlyTheirOwnMachines(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	ctx := context.Background()
	alice, bob, admin := storetest.Principal(t, s, "alice@globex.test"), storetest.Principal(t, s, "bob@globex.test"), storetest.Principal(t, s, "admin@globex.test")
	act := func(fp, user string) store.Machine {
		m, _, err := s.ActivateMachine(ctx, store.SystemActor("t"), alice.AccountID, store.MachineRequest{Fingerprint: fp, Name: fp, User: user})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a1, a2, b1 := act("a1", alice.Email), act("a2", alice.Email), act("b1", bob.Email)
	if err := s.DeactivateMachineAs(ctx, alice, b1.PublicID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("alice deactivates bob's machine: %v", err)
	}
	if err := s.DeactivateMachineAs(ctx, alice, a1.PublicID); err != nil {
		t.Fatalf("alice deactivates her own: %v", err)
	}
	if err := s.DeactivateMachineAs(ctx, admin, a2.PublicID); err != nil {
		t.Fatalf("an admin deactivates alice's: %v", err)
	}
	var actor string
	if err := s.DB().Get(&actor, `SELECT actor_label FROM audit_entry WHERE action = 'machine.deactivate' AND target_id = $1`, a2.PublicID); err != nil || actor != admin.Email {
		t.Fatalf("audited as %q (%v)", actor, err)
	}
}
