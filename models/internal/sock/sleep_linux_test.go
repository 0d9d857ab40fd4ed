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
