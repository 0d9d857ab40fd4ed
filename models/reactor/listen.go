package reactor

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"iolab/models/internal/sock"
)

// Each loop has a listener of its own (gnet.WithReusePort), and gnet opens
// them from the address string it was given: the first in gnet.Run, the
// others after OnBoot (engine_unix.go:87-96, in runEventLoops). Three
// consequences, handled here:
//   - with port 0, each listener would get a port of its own, and clients
//     would reach only the first loop. reservePort picks the port first.
//   - SO_REUSEPORT lets another process of the same user bind the port
//     too: a second gnet server started on a port in use would quietly
//     share its clients instead of failing. reservePort first binds the
//     port without SO_REUSEPORT, which fails if anything listens on it.
//   - OnBoot can set the backlog of the first listener only. setBacklogs
//     finds the others among the process's descriptors, by their address,
//     once OnTick shows that they exist.

// reservePort returns addr with port 0 replaced by a free port, and a
// descriptor that holds that port until gnet's first listener does (-1 if
// addr names its port). The placeholder is bound with SO_REUSEPORT, as
// gnet's listeners are, so they may share the port, and never listens, so
// no connection reaches it. A port addr names is checked instead: binding
// it without SO_REUSEPORT fails if a server listens on it.
func reservePort(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", -1, fmt.Errorf("address %q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return addr, -1, nil // a service name: gnet says what it makes of it
	}
	fd, bound, err := bindPort(addr, p == 0)
	if err != nil {
		return "", -1, err
	}
	if p != 0 {
		_ = unix.Close(fd)
		return addr, -1, nil
	}
	return net.JoinHostPort(host, strconv.Itoa(int(bound.Port()))), fd, nil
}

// bindPort binds a TCP socket to addr, as gnet's listener will be, with
// SO_REUSEPORT or not, and returns it with the address it got.
func bindPort(addr string, reusePort bool) (int, netip.AddrPort, error) {
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return -1, netip.AddrPort{}, fmt.Errorf("resolve %q: %w", addr, err)
	}
	// The family gnet will use (its socket.GetTCPSockAddr): IPv4 for an
	// IPv4 address, else IPv6, dual-stack when no address is given.
	var (
		family = unix.AF_INET6
		sa     unix.Sockaddr
	)
	switch ip4 := tcp.IP.To4(); {
	case ip4 != nil:
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Port: tcp.Port, Addr: [4]byte(ip4)}
	case tcp.IP != nil:
		sa = &unix.SockaddrInet6{Port: tcp.Port, Addr: [16]byte(tcp.IP.To16())}
	default:
		sa = &unix.SockaddrInet6{Port: tcp.Port}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, netip.AddrPort{}, os.NewSyscallError("socket", err)
	}
	unix.CloseOnExec(fd)
	fail := func(call string, err error) (int, netip.AddrPort, error) {
		_ = unix.Close(fd)
		return -1, netip.AddrPort{}, fmt.Errorf("bind %s: %w", addr, os.NewSyscallError(call, err))
	}
	if family == unix.AF_INET6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, boolInt(tcp.IP != nil)); err != nil {
			return fail("setsockopt IPV6_V6ONLY", err)
		}
	}
	opts := []int{unix.SO_REUSEADDR} // as gnet's listeners: TIME_WAIT does not hold the port
	if reusePort {
		opts = append(opts, unix.SO_REUSEPORT)
	}
	for _, opt := range opts {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, 1); err != nil {
			return fail("setsockopt", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	local, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	return fd, sock.AddrPort(local), nil
}

// closePlaceholder lets go of the port reservePort held, once gnet's
// first listener holds it.
func (h *handler) closePlaceholder() {
	if h.placeholder >= 0 {
		_ = unix.Close(h.placeholder)
		h.placeholder = -1
	}
}

// setBacklogs gives every loop's listener the configured backlog, as OnBoot
// gave the first: listen(2) again, on a duplicate of each. It runs once,
// from OnTick, which gnet starts after all the listeners are open.
func (h *handler) setBacklogs() {
	h.backlogSet.Store(true)
	if h.cfg.Backlog == 0 {
		return
	}
	for _, fd := range listenersOn(h.bound) {
		if err := sock.SetBacklog(fd, h.cfg.Backlog); err != nil {
			h.cfg.Log.Warn().Err(err).Int("backlog", h.cfg.Backlog).Msg("a loop's listener keeps gnet's backlog")
		}
		_ = unix.Close(fd)
	}
}

// listenersOn returns duplicates of the process's listening sockets bound
// to ap; the caller closes them. Duplicates, so that a descriptor closed
// meanwhile cannot become another file under our feet.
func listenersOn(ap netip.AddrPort) []int {
	dir := "/proc/self/fd"
	if _, err := os.Stat(dir); err != nil {
		dir = "/dev/fd" // macOS
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var fds []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fd, err := unix.FcntlInt(uintptr(n), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			continue
		}
		if on, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err == nil && on == 1 {
			if sa, err := unix.Getsockname(fd); err == nil && sock.AddrPort(sa) == ap {
				fds = append(fds, fd)
				continue
			}
		}
		_ = unix.Close(fd)
	}
	return fds
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
