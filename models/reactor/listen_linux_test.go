//go:build linux

package reactor

import (
	"context"
	"net"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"iolab/models/internal/sock"
)

// TestListenersOnFindsEveryLoopsListener opens two listeners on one port,
// as gnet's loops do with SO_REUSEPORT, and one elsewhere: listenersOn
// finds the two, and listen(2) again on each sets its backlog, which
// TCP_INFO reports for a listening socket (tcpi_sacked).
func TestListenersOnFindsEveryLoopsListener(t *testing.T) {
	addr, placeholder, err := reservePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(placeholder)
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		_ = rc.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) })
		return err
	}}
	var bound net.Addr
	for range 2 {
		ln, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		bound = ln.Addr()
	}
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	fds := listenersOn(bound.(*net.TCPAddr).AddrPort())
	if len(fds) != 2 {
		t.Fatalf("found %d listeners on %v, want 2", len(fds), bound)
	}
	for _, fd := range fds {
		if err := sock.SetBacklog(fd, 3); err != nil {
			t.Fatal(err)
		}
		info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			t.Fatal(err)
		}
		if info.Sacked != 3 {
			t.Errorf("backlog %d after listen(3)", info.Sacked)
		}
		unix.Close(fd)
	}
}

// TestReservePortRefusesAPortInUse: gnet's listeners would share a port
// with any SO_REUSEPORT listener of the same user; reservePort fails
// instead, as binding does for the other models.
func TestReservePortRefusesAPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, _, err := reservePort(ln.Addr().String()); err == nil {
		t.Errorf("reservePort(%v) on a port in use: no error", ln.Addr())
	}
}
