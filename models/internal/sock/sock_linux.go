//go:build linux

package sock

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ListenNonblocking opens a non-blocking TCP socket listening on addr, as
// event loops need: accept(2) on it fails with EAGAIN instead of waiting.
// The goroutine model uses it too, and hands it to Go's netpoller. backlog
// is listen(2)'s (0: the system maximum, read from
// /proc/sys/net/core/somaxconn). An empty host listens on every interface,
// IPv6 and IPv4 at once, as Go's net package does. The socket is
// close-on-exec.
func ListenNonblocking(addr string, backlog int) (fd int, bound netip.AddrPort, err error) {
	return listen(addr, backlog, unix.SOCK_NONBLOCK, false)
}

// ListenReusePort is ListenNonblocking with SO_REUSEPORT set before bind:
// several sockets may then listen on the same address, each with its own
// accept queue, and the kernel spreads new connections over them by a
// hash of the addresses and ports. Open the first on addr (port 0 picks
// one), the others on the address it bound.
func ListenReusePort(addr string, backlog int) (fd int, bound netip.AddrPort, err error) {
	return listen(addr, backlog, unix.SOCK_NONBLOCK, true)
}

// ListenBlocking opens a TCP socket listening on addr, like
// ListenNonblocking, but left blocking: accept(2) on it puts the calling
// thread to sleep until a client connects, as in the tutorial's servers.
func ListenBlocking(addr string, backlog int) (fd int, bound netip.AddrPort, err error) {
	return listen(addr, backlog, 0, false)
}

// listen opens, binds and listens; flags is added to socket(2)'s type,
// and reuseport sets SO_REUSEPORT.
func listen(addr string, backlog, flags int, reuseport bool) (fd int, bound netip.AddrPort, err error) {
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return -1, bound, fmt.Errorf("sock: resolve %q: %w", addr, err)
	}
	if backlog == 0 {
		backlog = MaxBacklog()
	}
	flags |= unix.SOCK_STREAM | unix.SOCK_CLOEXEC

	var sa unix.Sockaddr
	ip := tcp.AddrPort().Addr().Unmap()
	switch {
	case !tcp.AddrPort().Addr().IsValid() || ip.IsUnspecified() && ip.Is6():
		// Every interface. Try a dual-stack IPv6 socket first and fall back
		// to IPv4 where IPv6 is disabled.
		fd, err = unix.Socket(unix.AF_INET6, flags, 0)
		if err == nil {
			if err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
				unix.Close(fd)
				return -1, bound, os.NewSyscallError("setsockopt IPV6_V6ONLY", err)
			}
			sa = &unix.SockaddrInet6{Port: tcp.Port}
			break
		}
		fd, err = unix.Socket(unix.AF_INET, flags, 0)
		sa = &unix.SockaddrInet4{Port: tcp.Port}
	case ip.Is4():
		fd, err = unix.Socket(unix.AF_INET, flags, 0)
		sa = &unix.SockaddrInet4{Port: tcp.Port, Addr: ip.As4()}
	default:
		fd, err = unix.Socket(unix.AF_INET6, flags, 0)
		sa = &unix.SockaddrInet6{Port: tcp.Port, Addr: ip.As16()}
	}
	if err != nil {
		return -1, bound, os.NewSyscallError("socket", err)
	}
	// SO_REUSEADDR lets a restarted server bind while old connections of
	// the previous one linger in TIME_WAIT.
	if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		unix.Close(fd)
		return -1, bound, os.NewSyscallError("setsockopt SO_REUSEADDR", err)
	}
	if reuseport {
		if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			unix.Close(fd)
			return -1, bound, os.NewSyscallError("setsockopt SO_REUSEPORT", err)
		}
	}
	if err = unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, bound, fmt.Errorf("sock: bind %s: %w", addr, os.NewSyscallError("bind", err))
	}
	if err = unix.Listen(fd, backlog); err != nil {
		unix.Close(fd)
		return -1, bound, os.NewSyscallError("listen", err)
	}
	local, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, bound, os.NewSyscallError("getsockname", err)
	}
	return fd, AddrPort(local), nil
}

// SetBacklog changes the backlog of a socket that is already listening.
// Linux allows listen(2) again on a listening socket and only updates its
// accept-queue limit; gnet's model uses this, since gnet always asks for the
// maximum.
func SetBacklog(fd, backlog int) error {
	if backlog == 0 {
		backlog = MaxBacklog()
	}
	return os.NewSyscallError("listen", unix.Listen(fd, backlog))
}

// MaxBacklog returns net.core.somaxconn, the largest backlog the kernel
// grants, or 4096 (the kernel default since 5.4) if it cannot be read.
func MaxBacklog() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return 4096
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return 4096
	}
	return n
}

// Gone reports whether the client on fd has already reset or fully
// closed the connection (poll(2) says POLLERR or POLLHUP): there is no one
// left to serve. A client that sent its lines and then only its FIN is not
// gone: it still waits for its answers.
func Gone(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0 && fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0
}

// Peer returns the address of the client connected on fd: a fork child
// asks, since it inherits the connection without the address accept
// returned.
func Peer(fd int) (netip.AddrPort, error) {
	sa, err := unix.Getpeername(fd)
	if err != nil {
		return netip.AddrPort{}, os.NewSyscallError("getpeername", err)
	}
	return AddrPort(sa), nil
}

// Tid returns the calling OS thread's id, as ps -L and /proc/PID/task show it.
func Tid() int { return unix.Gettid() }

// Accept blocks in accept4(2) until a client connects (telling the Go
// runtime first that the thread will sleep: acceptOrSleep, in
// sleep_linux.go). It retries EINTR
// (a signal arrived) and ECONNABORTED (the client gave up while it waited in
// the accept queue: not the server's problem, so try the next one). Any
// other error, EMFILE among them, goes back to the caller, which pauses.
func Accept(lfd int) (*Conn, netip.AddrPort, error) {
	for {
		fd, sa, err := acceptOrSleep(lfd)
		switch err {
		case nil:
			// Answers are small; send them at once rather than wait to
			// coalesce them (Nagle), as Go's net package and gnet do.
			_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
			return &Conn{Fd: fd}, AddrPort(sa), nil
		case unix.EINTR, unix.ECONNABORTED:
			continue
		}
		return nil, netip.AddrPort{}, os.NewSyscallError("accept4", err)
	}
}

// StopAccept wakes a thread parked in Accept on lfd: after shutdown(2), a
// listening socket's accept(2) fails with EINVAL. The caller closes lfd
// once the accepting thread has returned.
func StopAccept(lfd int) { _ = unix.Shutdown(lfd, unix.SHUT_RDWR) }

// CloseListener closes a listening socket.
func CloseListener(lfd int) error { return os.NewSyscallError("close", unix.Close(lfd)) }

// AcceptNonblocking accepts a connection on the non-blocking listener lfd,
// non-blocking and close-on-exec itself, and returns it with the client's
// address. It is accept4(2) as unix.Accept4 calls it, but the address is
// read on the stack: unix.Accept4 allocates it, and an interface to it,
// for each connection, garbage that an event loop accepting 10,000
// clients would leave to the collector by the megabyte.
func AcceptNonblocking(lfd int) (int, netip.AddrPort, error) {
	var rsa unix.RawSockaddrAny
	n := uint32(unix.SizeofSockaddrAny)
	fd, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&rsa)),
		uintptr(unsafe.Pointer(&n)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if errno != 0 {
		return -1, netip.AddrPort{}, errno
	}
	var addr netip.AddrPort
	switch rsa.Addr.Family {
	case unix.AF_INET:
		in := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		p := (*[2]byte)(unsafe.Pointer(&in.Port))
		addr = netip.AddrPortFrom(netip.AddrFrom4(in.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		in := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		p := (*[2]byte)(unsafe.Pointer(&in.Port))
		addr = netip.AddrPortFrom(netip.AddrFrom16(in.Addr).Unmap(), uint16(p[0])<<8|uint16(p[1]))
	}
	return int(fd), addr, nil
}
