//go:build linux

package sock

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAcceptBothWays accepts a client that is already queued (the poll
// says so, plain accept4) and one that connects while the acceptor sleeps
// (accept4 through sleepSyscall, the address asked afterwards), and checks
// that both report the client's address.
func TestAcceptBothWays(t *testing.T) {
	lfd, bound, err := ListenBlocking("127.0.0.1:0", 8)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseListener(lfd)

	type accepted struct {
		c      *Conn
		remote netip.AddrPort
		err    error
	}
	accept := func() <-chan accepted {
		ch := make(chan accepted, 1)
		go func() {
			c, remote, err := Accept(lfd)
			ch <- accepted{c, remote, err}
		}()
		return ch
	}
	check := func(name string, a accepted, client net.Conn) {
		t.Helper()
		if a.err != nil {
			t.Fatalf("%s: %v", name, a.err)
		}
		defer a.c.Close()
		want := client.LocalAddr().(*net.TCPAddr).AddrPort()
		if a.remote != want {
			t.Errorf("%s: remote %v, want %v", name, a.remote, want)
		}
	}

	queued, err := net.Dial("tcp", bound.String())
	if err != nil {
		t.Fatal(err)
	}
	defer queued.Close()
	check("a queued client", <-accept(), queued)

	ch := accept() // nothing queued: it sleeps, or will
	late, err := net.Dial("tcp", bound.String())
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	check("a client that came later", <-ch, late)

	// Shutting the listener down wakes an acceptor that sleeps.
	ch = accept()
	StopAccept(lfd)
	if a := <-ch; !errors.Is(a.err, unix.EINVAL) {
		t.Errorf("accept after StopAccept: %v, want EINVAL", a.err)
	}
}

// TestReadWakes reads on a connection with nothing to read yet, so that the
// read sleeps (or is about to) when the client writes, and checks that
// what the client wrote, and then its close, come through.
func TestReadWakes(t *testing.T) {
	c, client := pair(t)
	type read struct {
		b   []byte
		err error
	}
	ch := make(chan read, 1)
	go func() {
		buf := make([]byte, 16)
		n, err := c.Read(buf)
		ch <- read{buf[:max(n, 0)], err}
	}()
	if _, err := client.Write([]byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	if r := <-ch; r.err != nil || string(r.b) != "hi\n" {
		t.Fatalf("read %q, %v; want %q", r.b, r.err, "hi\n")
	}
	go func() {
		_, err := c.Read(make([]byte, 16))
		ch <- read{nil, err}
	}()
	_ = client.Close()
	if r := <-ch; r.err != io.EOF {
		t.Fatalf("read after the client closed: %v, want EOF", r.err)
	}
}

// TestAcceptNonblocking checks the event loops' accept: nothing queued
// gives EAGAIN, and a queued client comes with its address, IPv4 and
// IPv6 alike, without allocating.
func TestAcceptNonblocking(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		lfd, bound, err := ListenNonblocking(addr, 8)
		if err != nil {
			t.Skipf("%s: %v", addr, err)
		}
		if _, _, err := AcceptNonblocking(lfd); !errors.Is(err, unix.EAGAIN) {
			t.Errorf("%s: nothing queued: %v, want EAGAIN", addr, err)
		}
		// testing.AllocsPerRun calls once to warm up, then once more:
		// two clients, each accepted by one call.
		var clients []net.Conn
		for range 2 {
			c, err := net.Dial("tcp", bound.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			clients = append(clients, c)
		}
		var remotes []netip.AddrPort
		allocs := testing.AllocsPerRun(1, func() {
			fds := []unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}
			_, _ = unix.Poll(fds, 5000) // the client's handshake is done: at once
			fd, remote, err := AcceptNonblocking(lfd)
			if err == nil {
				unix.Close(fd)
				remotes = append(remotes, remote)
			}
		})
		unix.Close(lfd)
		if len(remotes) != 2 {
			t.Fatalf("%s: accepted %d of 2 clients", addr, len(remotes))
		}
		for i, c := range clients {
			if want := c.LocalAddr().(*net.TCPAddr).AddrPort(); remotes[i] != want {
				t.Errorf("%s: remote %v, want %v", addr, remotes[i], want)
			}
		}
		if allocs > 1 { // the append to remotes, at most
			t.Errorf("%s: %v allocations per accept, want none", addr, allocs)
		}
	}
}
