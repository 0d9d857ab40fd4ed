package goroutine

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"iolab/models"
	"iolab/models/internal/leakcheck"
	"iolab/models/internal/sock"
)

// patience bounds every wait on the server; nothing waits this long unless
// the model is broken.
const patience = 10 * time.Second

// TestListenFallback runs the model as it runs where a listening socket's
// backlog cannot be set again (macOS): setBacklog fails with
// sock.ErrUnsupported, so the model must warn that the backlog is the
// system's, and serve both protocols byte for byte.
func TestListenFallback(t *testing.T) {
	saved := setBacklog
	setBacklog = func(int, int) error { return sock.ErrUnsupported }
	t.Cleanup(func() { setBacklog = saved })
	before := leakcheck.Take(t)

	t.Run("greeting", func(t *testing.T) {
		var log bytes.Buffer
		addr, stop := serve(t, models.Greeting, &log)
		c := dial(t, addr)
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("read until close: %v (got %q)", err, got)
		}
		if want := models.DefaultGreeting; string(got) != want {
			t.Errorf("greeting: got %q, want %q", got, want)
		}
		stop()
		checkWarning(t, log.String())
	})
	t.Run("echo", func(t *testing.T) {
		var log bytes.Buffer
		addr, stop := serve(t, models.Echo, &log)
		c := dial(t, addr)
		const line = "over net.Listen\n"
		if _, err := c.Write([]byte(line)); err != nil {
			t.Fatalf("write: %v", err)
		}
		got := make([]byte, len(line))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("read %d bytes: %v (got %q)", len(line), err, got)
		}
		if string(got) != line {
			t.Errorf("echo: got %q, want %q", got, line)
		}
		c.Close()
		stop()
		checkWarning(t, log.String())
	})

	before.Check(t)
}

// checkWarning looks in the server's log for the warning that the backlog
// is the system's.
func checkWarning(t *testing.T, log string) {
	t.Helper()
	for line := range strings.Lines(log) {
		var ev models.Event
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Event != models.EventListenFallback {
			continue
		}
		if ev.Level != "warn" || ev.BacklogSource != "system" || ev.Error == "" {
			t.Errorf("fallback warning: got %s; want level warn, backlog_source system and the error", line)
		}
		return
	}
	t.Errorf("no %s event in the log:\n%s", models.EventListenFallback, log)
}

// serve starts the model on an ephemeral port of 127.0.0.1, logging to
// log, and returns its address and a function that stops it and waits.
func serve(t *testing.T, proto models.Proto, log *bytes.Buffer) (string, func()) {
	t.Helper()
	cfg := models.DefaultConfig()
	cfg.Addr, cfg.Proto = "127.0.0.1:0", proto
	// Connection goroutines log too: serialise their writes.
	cfg.Log = zerolog.New(zerolog.SyncWriter(log)).Level(zerolog.DebugLevel)
	srv, err := models.New("goroutine", cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan string, 1)
	go func() { done <- srv.Serve(ctx, func(a net.Addr) { ready <- a.String() }) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("Serve returned before it was ready: %v", err)
	case <-time.After(patience):
		cancel()
		t.Fatalf("not ready after %v", patience)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(patience):
			t.Fatalf("Serve did not return within %v of cancel", patience)
		}
	}
	t.Cleanup(stop)
	return addr, stop
}

// dial connects with a deadline on everything.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	_ = c.SetDeadline(time.Now().Add(patience))
	t.Cleanup(func() { c.Close() })
	return c
}
