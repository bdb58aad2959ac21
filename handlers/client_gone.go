package handlers

import (
	"context"
	"errors"
	"log/slog"

	"github.com/labstack/echo/v4"
)

// StatusClientGone is the status a request is counted and logged with
// when its client stopped waiting before the answer: the status proxies
// (nginx) log for it. Nothing is sent: nobody is there to read it.
const StatusClientGone = 499

// ClientGone reports whether err is the request's own cancellation: its
// client closed the tab or the connection, typed over a search, or a proxy
// stopped waiting, and every query the request had under way failed with
// "context canceled". That is the client leaving, not the server failing.
func ClientGone(c echo.Context, err error) bool {
	return errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil
}

// goneClientHandler writes, at debug, the lines whose "err" is the
// request's own cancellation; every other line keeps its level.
type goneClientHandler struct {
	slog.Handler
	c echo.Context
}

func (g goneClientHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level > slog.LevelDebug && g.cancelled(r) {
		if !g.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return g.Handler.Handle(ctx, r)
}

func (g goneClientHandler) cancelled(r slog.Record) bool {
	gone := false
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == "err" {
			gone = ClientGone(g.c, err)
		}
		return !gone
	})
	return gone
}

func (g goneClientHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return goneClientHandler{g.Handler.WithAttrs(attrs), g.c}
}

func (g goneClientHandler) WithGroup(name string) slog.Handler {
	return goneClientHandler{g.Handler.WithGroup(name), g.c}
}
