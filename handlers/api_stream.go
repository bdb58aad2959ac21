package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// APIStream answers GET /api/v1/accounts/:account/stream: server-sent
// events announcing that the account's state changed, so an SDK client
// fetches the new signed state at once instead of polling. Each `changed`
// event's id is the version of the state it announces (a digest of the
// evaluated state); a client reconnecting with Last-Event-ID gets an event
// at once when the state moved on meanwhile, and none when it did not, so
// no change is ever missed across a dropped connection.
func (h *Handler) APIStream(c echo.Context) error {
	key := APIKeyOf(c)
	ctx := c.Request().Context()
	wake, stop := h.Hub.Subscribe(key.AccountID)
	defer stop()
	version := func() (string, error) {
		state, err := h.Store.AccountState(ctx, key.AccountID)
		if err != nil {
			return "", err
		}
		b, err := json.Marshal(state)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:12]), nil
	}
	current, err := version()
	if err != nil {
		return err
	}
	w := c.Response()
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set(echo.HeaderCacheControl, "no-store")
	w.WriteHeader(http.StatusOK)
	sent := c.Request().Header.Get("Last-Event-ID")
	announce := func(v string) error {
		if v == sent {
			_, err := fmt.Fprint(w, ": up to date\n\n")
			return err
		}
		sent = v
		_, err := fmt.Fprintf(w, "id: %s\nevent: changed\ndata: {\"account\":%q,\"version\":%q}\n\n", v, key.AccountSlug, v)
		return err
	}
	if announce(current) != nil || rc.Flush() != nil {
		return nil
	}
	keepAlive := time.NewTicker(sseKeepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-keepAlive.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
		case <-wake:
			v, err := version()
			if err != nil {
				h.log(c).Warn("stream: reading the state", "err", err)
				return nil // the client reconnects with its Last-Event-ID
			}
			if v != sent {
				if announce(v) != nil || rc.Flush() != nil {
					return nil
				}
			}
		}
	}
}
