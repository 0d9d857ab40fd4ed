// Package servetest runs a model's server in the test process, on an
// ephemeral port of 127.0.0.1: it starts Serve, waits until the server is
// ready, and stops it when the test asks or ends. Only tests import it:
// the models' own, and those of the measuring tools (loadgen, iolab), which
// is why it lives under models and not under an internal directory.
package servetest

import (
	"context"
	"net"
	"testing"
	"time"

	"iolab/models"
)

// Running is a server serving in the test process.
type Running struct {
	// Addr is the address the server listens on.
	Addr string

	cancel   context.CancelFunc // ends the Serve call
	done     chan error         // what Serve returned; nil once Stop has seen it
	patience time.Duration      // the longest wait on the server
}

// Serve runs srv.Serve until Stop or the end of the test, and returns once
// the server is ready. It fails the test if Serve returns first, or if the
// server is not ready within patience.
func Serve(t testing.TB, srv models.Server, patience time.Duration) *Running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{cancel: cancel, done: make(chan error, 1), patience: patience}
	ready := make(chan string, 1)
	go func() { r.done <- srv.Serve(ctx, func(a net.Addr) { ready <- a.String() }) }()
	select {
	case r.Addr = <-ready:
	case err := <-r.done:
		cancel()
		t.Fatalf("Serve returned before it was ready: %v", err)
	case <-time.After(patience):
		cancel()
		t.Fatalf("not ready after %v", patience)
	}
	t.Cleanup(func() { r.Stop(t) })
	return r
}

// Patience is how long Start waits for a server to be ready, and to
// return once stopped: a guard against a hang, not a speed bound.
const Patience = 20 * time.Second

// Start serves the model called name until stop is called or the test
// ends, and returns its address. tweak, if set, adjusts the configuration
// (echo instead of greeting, a logger, ...). stop waits for Serve to
// return and fails the test if it returned an error.
func Start(t testing.TB, name string, tweak func(*models.Config)) (addr string, stop func()) {
	t.Helper()
	cfg := models.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := models.New(name, cfg)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	r := Serve(t, srv, Patience)
	return r.Addr, func() { r.Stop(t) }
}

// Cancel asks the server to stop, as a signal would, and returns at once;
// Stop then waits for it.
func (r *Running) Cancel() { r.cancel() }

// Stop cancels the server and waits for Serve to return nil. Once it has,
// Stop does nothing.
func (r *Running) Stop(t testing.TB) {
	t.Helper()
	if r.done == nil {
		return
	}
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(r.patience):
		t.Fatalf("Serve did not return within %v of cancel", r.patience)
	}
	r.done = nil
}
