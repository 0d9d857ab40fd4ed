//go:build linux

package sock

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// How the Go runtime learns that a thread sleeps in the kernel.
//
// Go code runs only on a thread that holds a P, one of GOMAXPROCS
// processors of the runtime's scheduler. A plain system call (unix.Read,
// unix.Accept4) keeps its P: most calls return in microseconds, and giving
// the P away and taking it back would cost more than the call. Only sysmon,
// the runtime's watchdog thread, takes the P from a thread that has stayed
// in a call for a while: it notices the call on one round and takes the P
// on the next, and its rounds come every 20 µs at best, every 10 ms when
// the process looks idle. Until then no other goroutine runs on that P.
//
// For the goroutine model this never matters: it waits in the netpoller,
// which parks the goroutine and frees the P at once. For the threads model
// it is the whole story, since each of its threads waits in read(2). With
// 10,000 echo clients on one core, every P went from one blocked thread
// to the next only when sysmon came by, some 1,000 times a second: the
// acceptor and the connections' new threads waited their turn in a queue
// of thousands, only some 3,100 threads ever started, and the load
// generator counted 27,065 timeouts in six seconds.
//
// So the blocking models first try each call without waiting (MSG_DONTWAIT,
// or poll(2) with a zero timeout), which is the common case under load,
// and costs nothing more than the call itself. When the call would block,
// they make it through sleepSyscall, which tells the runtime beforehand
// that the thread is going to sleep (runtime.entersyscallblock, what the
// runtime itself does before it parks a thread): the P goes at once to
// another thread, as the kernel would give the CPU to another thread in a
// C server. Measured on the same run: all 10,000 threads started, no
// timeout (see models/threads).
//
// entersyscallblock and exitsyscall are the runtime's own; the runtime
// keeps them reachable by //go:linkname for programs outside it that do
// exactly this (gVisor among them, go.dev/issue/67401), and promises not
// to change them.

//go:linkname entersyscallblock runtime.entersyscallblock
func entersyscallblock()

//go:linkname exitsyscall runtime.exitsyscall
func exitsyscall()

// sleepSyscall makes a system call that is expected to sleep, with the P
// handed over before it. Between entersyscallblock and exitsyscall the
// goroutine has no P and must not grow its stack, hence nosplit, and the
// raw call, which does not tell the runtime again.
//
//go:nosplit
//go:norace
func sleepSyscall(trap, a1, a2, a3, a4 uintptr) (uintptr, syscall.Errno) {
	entersyscallblock()
	r, _, errno := syscall.RawSyscall6(trap, a1, a2, a3, a4, 0, 0)
	exitsyscall()
	return r, errno
}

// readOrSleep reads what is there, or, when nothing is, sleeps in read(2)
// until something is (or SO_RCVTIMEO expires: EAGAIN).
func readOrSleep(fd int, p []byte) (int, error) {
	n, _, err := unix.Recvfrom(fd, p, unix.MSG_DONTWAIT)
	if err != unix.EAGAIN || len(p) == 0 {
		return n, err
	}
	r, errno := sleepSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// writeOrSleep writes what the send buffer takes, or, when it is full,
// sleeps in write(2) until the client has read some (or SO_SNDTIMEO
// expires: EAGAIN). Like write(2), it may write less than p.
func writeOrSleep(fd int, p []byte) (int, error) {
	n, err := unix.SendmsgN(fd, p, nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
	if err != unix.EAGAIN || len(p) == 0 {
		return n, err
	}
	r, errno := sleepSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// acceptOrSleep accepts the client that waits in lfd's accept queue, or,
// when none does, sleeps in accept4(2) until one connects. A zero-timeout
// poll(2) tells which, since a blocking socket's accept4 cannot be asked
// not to wait.
func acceptOrSleep(lfd int) (int, unix.Sockaddr, error) {
	fds := []unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}
	if n, err := unix.Poll(fds, 0); n > 0 || err != nil && err != unix.EINTR {
		return unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	}
	r, errno := sleepSyscall(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0, unix.SOCK_CLOEXEC)
	if errno != 0 {
		return -1, nil, errno
	}
	// accept4 was given no buffer for the address: ask for it now. A
	// client that has already gone leaves it unknown, and its first read
	// will tell.
	sa, _ := unix.Getpeername(int(r))
	return int(r), sa, nil
}
