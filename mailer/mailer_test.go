package mailer_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"strconv"
	"strings"
	"testing"
	"time"

	smtpmock "github.com/mocktools/go-smtp-mock/v2"

	"github.com/entitle-dev/entitle/licensing"
	"github.com/entitle-dev/entitle/mailer"
	"github.com/entitle-dev/entitle/store"
	"github.com/entitle-dev/entitle/store/storetest"
)

// invite makes one invitation mail in the demo's Globex outbox.
func invite(t *testing.T, s *store.Store, to string) {
	t.Helper()
	var p store.Principal
	if err := s.DB().QueryRow(`SELECT m.account_id, m.id, u.id, u.email FROM membership m JOIN app_user u ON u.id = m.user_id
		WHERE u.email = 'owner@globex.test'`).Scan(&p.AccountID, &p.MembershipID, &p.UserID, &p.Email); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Invite(context.Background(), p, store.InviteRequest{Addresses: to, Role: licensing.Member, BaseURL: "http://portal.test"}); err != nil {
		t.Fatal(err)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestWorkerSendsTheOutboxThroughSMTP(t *testing.T) {
	t.Parallel()
	server := smtpmock.New(smtpmock.ConfigurationAttr{HostAddress: "127.0.0.1"})
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Stop() })

	s := storetest.NewDemo(t, nil)
	invite(t, s, "newcomer@globex.test")
	sender, err := mailer.NewSMTP("smtp://127.0.0.1:"+itoa(server.PortNumber()), "Entitle <no-reply@entitle.test>")
	if err != nil {
		t.Fatal(err)
	}
	w := &mailer.Worker{Store: s, Sender: sender, Logger: quiet()}
	sent, failed, err := w.DeliverOnce(context.Background())
	if err != nil || sent != 1 || failed != 0 {
		t.Fatalf("deliver: sent %d failed %d err %v", sent, failed, err)
	}
	msgs, err := server.WaitForMessages(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if !strings.Contains(m.MailfromRequest(), "no-reply@entitle.test") || !strings.Contains(m.RcpttoRequestResponse()[0][0], "newcomer@globex.test") {
		t.Fatalf("envelope: %q %q", m.MailfromRequest(), m.RcpttoRequestResponse())
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(strings.NewReader(m.MsgRequest())))
	if !bytes.Contains(body, []byte("http://portal.test/invitations/")) || !strings.Contains(m.MsgRequest(), "Subject: owner@globex.test invited you to Globex") {
		t.Fatalf("message:\n%s", m.MsgRequest())
	}
	out, _ := s.Outbox(context.Background(), 10)
	if len(out) != 1 || !out[0].SentAt.Valid || out[0].Transport != "smtp" {
		t.Fatalf("outbox row = %+v", out)
	}
	// Nothing is due any more: a second pass sends nothing.
	if sent, _, _ := w.DeliverOnce(context.Background()); sent != 0 {
		t.Fatalf("sent again: %d", sent)
	}
}

func TestUnreachableSMTPIsRetriedLater(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	invite(t, s, "newcomer@globex.test")
	sender, err := mailer.NewSMTP("smtp://127.0.0.1:1", "no-reply@entitle.test")
	if err != nil {
		t.Fatal(err)
	}
	w := &mailer.Worker{Store: s, Sender: sender, Logger: quiet()}
	if sent, failed, err := w.DeliverOnce(context.Background()); err != nil || sent != 0 || failed != 1 {
		t.Fatalf("sent %d failed %d err %v", sent, failed, err)
	}
	out, _ := s.Outbox(context.Background(), 10)
	if out[0].SentAt.Valid || out[0].Attempts != 1 || out[0].LastError == "" {
		t.Fatalf("failed row = %+v", out[0])
	}
	// Backoff: not due again at once.
	if _, failed, _ := w.DeliverOnce(context.Background()); failed != 0 {
		t.Fatal("retried without waiting")
	}
}

func TestWithoutSMTPMailGoesToTheLog(t *testing.T) {
	t.Parallel()
	s := storetest.NewDemo(t, nil)
	invite(t, s, "newcomer@globex.test")
	var logs bytes.Buffer
	w := &mailer.Worker{Store: s, Sender: mailer.Log{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, Logger: quiet()}
	if sent, _, err := w.DeliverOnce(context.Background()); err != nil || sent != 1 {
		t.Fatalf("sent %d, %v", sent, err)
	}
	if !strings.Contains(logs.String(), "http://portal.test/invitations/") || !strings.Contains(logs.String(), "newcomer@globex.test") {
		t.Fatalf("log: %s", logs.String())
	}
	out, _ := s.Outbox(context.Background(), 10)
	if out[0].Transport != "log" || !out[0].SentAt.Valid {
		t.Fatalf("row = %+v", out[0])
	}
}

func TestSMTPURL(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"http://mail.test", "smtp://", "smtp://host:25"} {
		from := "no-reply@x.test"
		if bad == "smtp://host:25" {
			from = "not an address"
		}
		if _, err := mailer.NewSMTP(bad, from); err == nil {
			t.Errorf("NewSMTP(%q, %q) accepted", bad, from)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
