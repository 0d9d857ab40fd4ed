package threads

import (
	"context"
	"math"
	"net"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"iolab/models"
	"iolab/models/internal/leakcheck"
)

// TestThreadLimitFollowsMaxConns checks that serving raises the runtime's
// thread limit to the connection limit plus the runtime's own 10,000, and
// never lowers it.
func TestThreadLimitFollowsMaxConns(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the threads model needs Linux")
	}
	saved := debug.SetMaxThreads(10000)
	t.Cleanup(func() { debug.SetMaxThreads(saved) })
	before := leakcheck.Take(t)

	for _, tc := range []struct {
		maxConns, want int
	}{
		{20000, 30000},
		{5, 30000}, // already higher: left alone
	} {
		cfg := models.DefaultConfig()
		cfg.Addr, cfg.MaxConns = "127.0.0.1:0", tc.maxConns
		s, err := models.New("threads", cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan struct{})
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx, func(net.Addr) { close(ready) }) }()
		select {
		case <-ready: // the limit is raised before Serve listens
		case err := <-done:
			t.Fatalf("Serve: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("not ready")
		}
		// Reading the limit means setting one: set the highest, at once
		// put the old one back.
		got := debug.SetMaxThreads(math.MaxInt32)
		debug.SetMaxThreads(got)
		if got != tc.want {
			t.Errorf("MaxConns %d: thread limit %d, want %d", tc.maxConns, got, tc.want)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	before.Check(t)
}
