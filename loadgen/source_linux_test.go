//go:build linux

package loadgen_test

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"iolab/loadgen"
	"iolab/models"
)

// TestSourceAddresses checks that -source spreads the clients over the
// local addresses given, each client keeping its own: the server sees
// connections from each of them.
func TestSourceAddresses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			seen[c.RemoteAddr().(*net.TCPAddr).IP.String()]++
			mu.Unlock()
			_, _ = c.Write([]byte("hi\n"))
			c.Close()
		}
	}()
	cfg := loadgen.DefaultConfig()
	cfg.Addr, cfg.Proto, cfg.Clients = ln.Addr().String(), models.Greeting, []int{3}
	cfg.Duration, cfg.Warmup, cfg.Timeout = 200*time.Millisecond, 0, time.Second
	cfg.Sources = []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3"), netip.MustParseAddr("127.0.0.4")}
	res, err := loadgen.Run(context.Background(), cfg)
	ln.Close()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if l := res.Levels[0]; l.Requests == 0 || l.ErrorsTotal != 0 {
		t.Fatalf("level: %d requests, %d errors", l.Requests, l.ErrorsTotal)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		if seen[want] == 0 {
			t.Errorf("no connection from %s: %v", want, seen)
		}
	}
	// One more, from 127.0.0.1: the check that the server answers at all,
	// made once before the levels (preflight), from no source in particular.
	delete(seen, "127.0.0.1")
	if len(seen) != 3 {
		t.Errorf("connections from %v, want the three sources only", seen)
	}
}
