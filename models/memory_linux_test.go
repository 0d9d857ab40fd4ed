//go:build linux

package models_test

import (
	"net/netip"
	"runtime"
	"testing"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/internal/leakcheck"
	"iolab/models/servetest"
)

// TestIdleConnMemory measures what an idle connection costs an event
// loop on the Go heap (live bytes, after a collection): connections opened and
// never used, then the same connections after one echo each. An idle
// connection gives its input buffer back to the loop's pool
// (exchange.Conn.Rest), so one echo must not leave 4 KiB behind on each.
// The figures are logged (go test -v -run TestIdleConnMemory); the RSS per
// connection, which adds the runtime's own overhead, is in iolab bench
// -scenario c100k.
func TestIdleConnMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2,000 connections a model")
	}
	for _, name := range []string{"epoll", "uring", "workers", "reuseport"} {
		t.Run(name, func(t *testing.T) { idleConnMemory(t, name) })
	}
}

// idleConnMemory is TestIdleConnMemory for one model.
func idleConnMemory(t *testing.T, name string) {
	const n = 2000
	const budget = 512 // bytes of live heap per idle connection, at most
	m, err := models.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	skipUnusable(t, m)
	before := leakcheck.Take(t)
	t.Cleanup(func() { before.Check(t) })
	cfg := models.DefaultConfig()
	cfg.Addr, cfg.Proto, cfg.ShutdownTimeout = "127.0.0.1:0", models.Echo, patience
	cfg.Log = zerolog.Nop()
	srv, err := models.New(name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := servetest.Serve(t, srv, patience)
	addr := netip.MustParseAddrPort(r.Addr)
	sa := &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}

	fds := make([]int, 0, n)
	line := []byte("0123456789abcdef\n")
	reply := make([]byte, len(line))
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	// echo sends one line on fd and reads it back, blocking (SO_RCVTIMEO
	// bounds the wait). A signal (the Go runtime's SIGURG, to preempt)
	// interrupts a read that has a timeout with EINTR even under
	// SA_RESTART (signal(7)): it is retried, as any blocking call must be.
	echo := func(fd int) {
		for {
			_, err := unix.Write(fd, line)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		for got := 0; got < len(reply); {
			m, err := unix.Read(fd, reply[got:])
			if err == unix.EINTR {
				continue
			}
			if err != nil || m == 0 {
				t.Fatalf("echo: read %d, %v", m, err)
			}
			got += m
		}
	}

	base := liveHeap()
	acceptMallocs := allocations()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for range n {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
		tv := unix.NsecToTimeval(int64(patience))
		_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		if err := unix.Connect(fd, sa); err != nil {
			t.Fatal(err)
		}
	}
	// The accept queue is first in, first out: once the last connection
	// is answered, the loop has accepted every one.
	echo(fds[n-1])
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	t.Logf("accepting: %.2f heap allocations, %.0f bytes allocated per connection", float64(allocations()-acceptMallocs)/n, float64(ms1.TotalAlloc-ms0.TotalAlloc)/n)
	idle := float64(liveHeap()-base) / n
	mallocs := allocations()
	for _, fd := range fds {
		echo(fd)
	}
	perEcho := float64(allocations()-mallocs) / n
	used := float64(liveHeap()-base) / n
	t.Logf("heap allocations per echo, first one on each connection: %.2f", perEcho)
	mallocs = allocations()
	for _, fd := range fds {
		echo(fd)
	}
	t.Logf("heap allocations per echo, second one: %.2f", float64(allocations()-mallocs)/n)
	t.Logf("live heap per connection: %.0f bytes never used, %.0f bytes after one echo each", idle, used)
	if used > budget {
		t.Errorf("an idle connection holds %.0f bytes of heap after one echo; want at most %d", used, budget)
	}
}

// liveHeap returns the bytes of live objects on the heap, after a full
// collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// allocations returns how many heap objects the process has allocated.
func allocations() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}
