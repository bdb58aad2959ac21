// Package mailer delivers Entitle's outbox. Store methods write each mail to
// the outbox table in the transaction that causes it (an invitation and its
// mail commit together); the Worker here takes due rows (SKIP LOCKED, so any
// number of instances share them) and hands each to a Sender: SMTP when
// SMTP_URL is set, otherwise the log, so that a demo works offline and the
// vendor console still shows every mail.
package mailer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/entitle-dev/entitle/store"
)

// Sender delivers one mail. Transport names it in the outbox (smtp, log).
type Sender interface {
	Send(ctx context.Context, m store.OutboxMail) error
	Transport() string
}

// Worker delivers due outbox mail every Interval until its context ends.
type Worker struct {
	Store    *store.Store
	Sender   Sender
	Logger   *slog.Logger
	Interval time.Duration
}

// Run delivers until ctx ends. Failures are logged and retried with backoff
// (recorded on the row, where the console shows them).
func (w *Worker) Run(ctx context.Context) {
	interval := w.Interval
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, _, err := w.DeliverOnce(ctx); err != nil && ctx.Err() == nil {
			w.Logger.Error("deliver mail", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DeliverOnce sends the mail that is due now, up to a batch.
func (w *Worker) DeliverOnce(ctx context.Context) (sent, failed int, err error) {
	return w.Store.DeliverMail(ctx, 20, func(m store.OutboxMail) (string, error) {
		if err := w.Sender.Send(ctx, m); err != nil {
			w.Logger.Warn("mail not sent; will retry", "outbox_id", m.ID, "to", m.To, "attempt", m.Attempts+1, "err", err)
			return "", err
		}
		return w.Sender.Transport(), nil
	})
}

// Log "sends" a mail by writing it to the log: the offline default, so that
// `make run` shows invitation links.
type Log struct{ Logger *slog.Logger }

// Transport is "log".
func (Log) Transport() string { return "log" }

// Send logs the mail with its body, and its first link on its own so that
// an invitation can be opened straight from the log.
func (l Log) Send(_ context.Context, m store.OutboxMail) error {
	l.Logger.Info("mail (SMTP_URL is not set, so it is logged instead of sent)", "outbox_id", m.ID, "to", m.To,
		"subject", m.Subject, "link", firstLink.FindString(m.Body), "body", m.Body)
	return nil
}

var firstLink = regexp.MustCompile(`https?://\S+`)

// SMTP sends through an SMTP server with net/smtp: smtp://[user:pass@]host[:587]
// uses STARTTLS when the server offers it (and requires it to authenticate
// anywhere but on loopback, as net/smtp does); smtps://host[:465] speaks TLS
// from the start.
type SMTP struct {
	addr     string // host:port
	host     string
	implicit bool // smtps
	user     string
	pass     string
	from     *mail.Address
	timeout  time.Duration
}

// NewSMTP parses SMTP_URL and MAIL_FROM.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("SMTP_URL: %w", err)
	}
	s := &SMTP{host: u.Hostname(), timeout: 20 * time.Second}
	port := u.Port()
	switch u.Scheme {
	case "smtp":
		if port == "" {
			port = "587"
		}
	case "smtps":
		s.implicit = true
		if port == "" {
			port = "465"
		}
	default:
		return nil, fmt.Errorf("SMTP_URL: scheme %q, want smtp or smtps", u.Scheme)
	}
	if s.host == "" {
		return nil, errors.New("SMTP_URL names no host")
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	if s.from, err = mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("MAIL_FROM: %w", err)
	}
	return s, nil
}

// Transport is "smtp".
func (*SMTP) Transport() string { return "smtp" }

// Send delivers one mail in its own connection.
func (s *SMTP) Send(ctx context.Context, m store.OutboxMail) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	d := net.Dialer{}
	var conn net.Conn
	var err error
	if s.implicit {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: s.host}}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok && !s.implicit {
		if err := c.StartTLS(&tls.Config{ServerName: s.host}); err != nil {
			return err
		}
	}
	if s.user != "" {
		if err := c.Auth(smtp.PlainAuth("", s.user, s.pass, s.host)); err != nil {
			return err
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(m.To); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(s.message(m)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// message renders a plain-text mail with its headers; the body is
// quoted-printable so that any line length and character survive.
func (s *SMTP) message(m store.OutboxMail) []byte {
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", s.from.String())
	fmt.Fprintf(&b, "To: %s\r\n", m.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", m.CreatedAt.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s.%d@%s>\r\n", hex.EncodeToString(id), m.ID, s.fromDomain())
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")))
	_ = qp.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}

func (s *SMTP) fromDomain() string {
	if at := strings.LastIndexByte(s.from.Address, '@'); at >= 0 {
		return s.from.Address[at+1:]
	}
	return "localhost"
}
