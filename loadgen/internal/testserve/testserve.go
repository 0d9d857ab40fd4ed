// Package testserve runs a server model in the test process, on an
// ephemeral port of 127.0.0.1, for the tests of the measuring tools.
package testserve

import (
	"context"
	"net"
	"sync"
	"testing"

	"iolab/models"
	_ "iolab/models/all" // every model, registered
)

// Start serves the model called name until stop is called or the test
// ends, and returns its address. tweak, if set, adjusts the configuration
// (echo instead of greeting, a logger, ...). stop waits for Serve to
// return and fails the test if it returned an error.
func Start(t testing.TB, name string, tweak func(*models.Config)) (addr string, stop func()) {
	t.Helper()
	m, err := models.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	cfg := models.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := m.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, func(a net.Addr) { ready <- a.String() }) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s: Serve: %v", name, err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("%s: Serve: %v", name, err)
	}
	return addr, stop
}
