package views

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var (
	// Action: "seat.assign" (and Action: "catalog.plan_" + what)
	auditActionField = regexp.MustCompile(`Action:\s*"([a-z_.]+)"(\s*\+)?`)
	// action := "seat.pin" / query, action := addSQL, "plan.pilot_add"
	auditActionVar = regexp.MustCompile(`\baction\b[\w\s,]*:?=\s*(?:\w+,\s*)*"([a-z_]+(?:\.[a-z_]+)+)"(\s*\+)?`)
	// billing's requests, audited through the store:
	// RecordBillingRequest(ctx, actor, accountID, "billing.invoice_pay", …)
	auditBillingRequest = regexp.MustCompile(`RecordBillingRequest\([^"]*"([a-z_]+(?:\.[a-z_]+)+)"()`)
)

// auditFamilies are the actions the code makes by joining a prefix to a
// value; each lists every value the code can join.
var auditFamilies = map[string][]string{
	"catalog.plan_":           {"created", "updated", "versioned"},
	"subscription.migration_": {"moved", "skipped", "sent_to_provider"},
	// Stripe's customer.subscription.* events the webhook applies, and
	// its invoice events.
	"subscription.": {"created", "updated", "deleted"},
	"invoice.":      {"paid", "payment_failed", "payment_action_required"},
}

// writtenActions reads the store's source for every audit action it
// writes, and billing's for the actions it asks the store to write.
func writtenActions(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../store/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("store sources: %v", err)
	}
	billingFiles, err := filepath.Glob("../billing/*.go")
	if err != nil || len(billingFiles) == 0 {
		t.Fatalf("billing sources: %v", err)
	}
	files = append(files, billingFiles...)
	actions := map[string]bool{}
	prefixes := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range []*regexp.Regexp{auditActionField, auditActionVar, auditBillingRequest} {
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				if m[2] != "" {
					prefixes[m[1]] = true
				} else {
					actions[m[1]] = true
				}
			}
		}
	}
	// The Stripe families are joined from the event's type.
	prefixes["invoice."] = true
	for p := range prefixes {
		values, ok := auditFamilies[p]
		if !ok {
			t.Errorf("the store makes actions %q + something: list what it joins in auditFamilies", p)
		}
		for _, v := range values {
			actions[p+v] = true
		}
	}
	if len(actions) < 60 {
		t.Fatalf("found only %d audit actions in the store: the search is broken", len(actions))
	}
	return actions
}

func TestEveryAuditActionHasWords(t *testing.T) {
	actions := writtenActions(t)
	names := make([]string, 0, len(actions))
	for a := range actions {
		names = append(names, a)
	}
	sort.Strings(names)
	for _, a := range names {
		words, ok := AuditWords(AuditFacts{Action: a, TargetType: "membership", TargetID: "7",
			After: []byte(`{"email":"carol@globex.test"}`)})
		if !ok {
			t.Errorf("audit action %q has no words in auditWords", a)
			continue
		}
		if strings.Contains(words, a) || strings.TrimSpace(words) == "" {
			t.Errorf("%s reads %q", a, words)
		}
	}
}

func TestAuditSentences(t *testing.T) {
	for _, c := range []struct {
		name string
		f    AuditFacts
		want string
	}{
		{"seat", AuditFacts{Action: "seat.assign", ActorType: "user", ActorLabel: "owner@globex.test", TargetType: "membership", TargetID: "4",
			After: []byte(`{"email":"carol@globex.test","subscription":3}`)}, "Seat assigned to carol@globex.test by owner@globex.test"},
		{"stripe", AuditFacts{Action: "invoice.paid", ActorType: "stripe", ActorID: "invoice.paid", ActorLabel: "evt_1", TargetType: "invoice", TargetID: "in_1",
			Before: []byte(`{"status":"past_due"}`), After: []byte(`{"status":"active"}`)}, "Stripe — invoice.paid: Invoice paid"},
		{"role", AuditFacts{Action: "member.role", ActorType: "user", ActorLabel: "owner@globex.test",
			Before: []byte(`{"email":"bob@globex.test","role":"member"}`), After: []byte(`{"email":"bob@globex.test","role":"admin"}`)}, "Role of bob@globex.test changed to Admin by owner@globex.test"},
		{"resend", AuditFacts{Action: "member.invite", ActorType: "user", ActorLabel: "owner@globex.test",
			After: []byte(`{"email":"nina@globex.test","role":"member","resent":true}`)}, "Invitation sent again to nina@globex.test by owner@globex.test"},
		{"unknown", AuditFacts{Action: "thing.happened", ActorType: "system"}, "thing.happened"},
	} {
		if got := AuditSentence(c.f); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestAuditChangesShowBeforeAndAfterOfWhatChanged(t *testing.T) {
	got := AuditChanges(AuditFacts{Before: []byte(`{"email":"bob@globex.test","role":"member","status":"past_due"}`),
		After: []byte(`{"email":"bob@globex.test","role":"admin","status":"active","seats_freed":2}`)})
	want := []AuditChange{{"role", "member", "admin"}, {"seats freed", "", "2"}, {"status", "Past due", "Active"}}
	if len(got) != len(want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// An invoice's amount reads as money in its currency, not in cents, and a
// recorded time as a date.
func TestAuditChangesShowMoneyAndDatesAsPeopleReadThem(t *testing.T) {
	got := AuditChanges(AuditFacts{Before: []byte(`{"expires_at":"2026-12-05T09:13:00.123Z"}`),
		After: []byte(`{"status":"paid","amount_due":1600,"currency":"usd","expires_at":"2027-01-05T09:13:00Z"}`)})
	want := []AuditChange{{"amount due", "", "$16.00"}, {"currency", "", "usd"},
		{"expires at", "5 Dec 2026 09:13 UTC", "5 Jan 2027 09:13 UTC"}, {"status", "", "paid"}}
	if len(got) != len(want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// A field recorded empty on both sides (an account made without an
// external id) is no change; one emptied keeps what it was.
func TestAuditChangesLeaveOutAFieldEmptyOnBothSides(t *testing.T) {
	for _, c := range []struct {
		name          string
		before, after string
		want          []AuditChange
	}{
		{"made without", ``, `{"external_id":"","name":"Wayne"}`, []AuditChange{{"name", "", "Wayne"}}},
		{"renamed, still without", `{"external_id":"","name":"Wayne"}`, `{"external_id":"","name":"Wayne Ent"}`, []AuditChange{{"name", "Wayne", "Wayne Ent"}}},
		{"emptied", `{"external_id":"crm-1"}`, `{"external_id":""}`, []AuditChange{{"external id", "crm-1", ""}}},
	} {
		got := AuditChanges(AuditFacts{Before: []byte(c.before), After: []byte(c.after)})
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
