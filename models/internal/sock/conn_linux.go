//go:build linux

package sock

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Conn is a connected socket used with blocking system calls: Read and
// Write park the calling OS thread in the kernel until data moves. It
// satisfies models.BlockingConn. Read, Write and the deadlines belong to
// the one thread that serves the connection; Wake may be called from any.
//
// Its deadlines are absolute, as net.Conn's are, but the kernel only knows
// relative timeouts, SO_RCVTIMEO and SO_SNDTIMEO, that restart with every
// read(2) or write(2). Conn turns one into the other (see deadline.arm),
// with a setsockopt(2) only when the timeout in force would let a call
// sleep past its deadline, so that a conversation of whole lines, the
// steady state, costs no system call beyond its read and write.
type Conn struct {
	// Fd is the socket's descriptor.
	Fd int
	// rcv and snd are the read and the write deadline, each with the
	// socket option that enforces it.
	rcv, snd deadline
}

// deadline is one direction's deadline and the kernel timeout that
// enforces it.
type deadline struct {
	// at is when a call fails with a timeout; zero means never.
	at time.Time
	// inForce is the socket option's value now: how long one call may
	// sleep. 0 is the kernel's own "no timeout", as on a new socket.
	inForce time.Duration
}

// timeoutSlack is how far past its deadline a call may sleep before the
// socket option is set again. Without it, every call would set the option,
// since the time left shrinks by the microseconds between two calls; and
// the kernel counts the timeout in jiffies (1 to 10 ms) anyway.
const timeoutSlack = 5 * time.Millisecond

// errTimeout is what Read and Write return once their deadline has passed,
// the error a net.Conn returns, so that one test (models.IsTimeout) serves
// every model.
var errTimeout = os.ErrDeadlineExceeded

// SetReadDeadline sets when Read fails with a timeout; zero means never.
// It makes no system call: the next Read does, if the timeout in force
// must change.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rcv.at = t
	return nil
}

// SetWriteDeadline sets when Write fails with a timeout, however much of
// its buffer the client has taken by then: one deadline for the whole
// call, not one for each write(2) it makes. Zero means never.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.snd.at = t
	return nil
}

// arm sets the socket option opt so that a call made now returns by d.at
// (give or take timeoutSlack), and reports errTimeout if d.at has passed.
//
// A timeout in force that is too long must be lowered before the call, or
// the call would sleep past its deadline: a slowloris's line whose
// request deadline draws near, or a write that resumes after a partial
// one. A timeout that is too short is harmless, the call just returns
// early with EAGAIN; so it is raised only then (early true), and a thread
// that served one slowloris does not pay a setsockopt per call afterwards.
func (d *deadline) arm(fd, opt int, early bool) error {
	if d.at.IsZero() {
		if d.inForce == 0 {
			return nil
		}
		return d.set(fd, opt, 0)
	}
	left := time.Until(d.at)
	if left < time.Microsecond {
		// A timeval counts microseconds, and a zero one means no timeout
		// at all: whatever is left is too little to wait for.
		return errTimeout
	}
	if !mustRearm(d.inForce, left, early) {
		return nil
	}
	return d.set(fd, opt, left)
}

// mustRearm reports whether a timeout of inForce must be set to left, the
// time to the deadline, before a call; early is true if the last call
// returned early, its timeout expired before the deadline.
func mustRearm(inForce, left time.Duration, early bool) bool {
	switch {
	case inForce == 0 || inForce > left+timeoutSlack:
		return true // the call would sleep past the deadline
	case early && inForce < left-timeoutSlack:
		return true // the call would wake early again
	}
	return false
}

// set sets the socket option opt to timeout.
func (d *deadline) set(fd, opt int, timeout time.Duration) error {
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv); err != nil {
		name := "SO_RCVTIMEO"
		if opt == unix.SO_SNDTIMEO {
			name = "SO_SNDTIMEO"
		}
		return os.NewSyscallError("setsockopt "+name, err)
	}
	d.inForce = timeout
	return nil
}

// Read blocks in read(2) until at least one byte arrives, the client
// closes (io.EOF), or the read deadline passes (errTimeout). What has
// arrived already is taken without sleeping; for a read that must wait,
// the Go runtime is told first that the thread will sleep (readOrSleep, in
// sleep_linux.go).
//
// The kernel ends a read that waited for SO_RCVTIMEO with EAGAIN, and one
// that a signal interrupted with EINTR: a socket with a timeout is not
// restarted after a signal (signal(7)), and the Go runtime signals its
// threads. Both are retried, with the timeout re-armed from the absolute
// deadline, so neither restarts it.
func (c *Conn) Read(p []byte) (int, error) {
	early := false
	for {
		if err := c.rcv.arm(c.Fd, unix.SO_RCVTIMEO, early); err != nil {
			return 0, opError("read", err)
		}
		n, err := readOrSleep(c.Fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			// SO_RCVTIMEO expired: either the deadline has passed, and
			// arm says so, or the timeout in force was shorter than it.
			early = true
			continue
		case err != nil:
			return 0, os.NewSyscallError("read", err)
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write blocks in write(2) until all of p is in the kernel's send buffer,
// or fails once the write deadline has passed, with the count of bytes
// the client took meanwhile. As in Read, a write that must wait for the
// client to read tells the runtime first (writeOrSleep, in
// sleep_linux.go).
//
// A blocking write(2) returns short only when SO_SNDTIMEO or a signal cuts
// it off after some progress, so Write loops. Each write(2) would restart
// SO_SNDTIMEO, and a client that reads a trickle would then hold the
// thread for as long as it keeps reading; so after a short write the
// option is set again to what is left of the deadline. That setsockopt
// is on the slow path only: a write that fits in the send buffer returns
// whole at once.
func (c *Conn) Write(p []byte) (int, error) {
	written := 0
	early := false
	for written < len(p) {
		if err := c.snd.arm(c.Fd, unix.SO_SNDTIMEO, early); err != nil {
			return written, opError("write", err)
		}
		n, err := writeOrSleep(c.Fd, p[written:])
		if n > 0 {
			written += n
		}
		switch {
		case err == unix.EINTR || err == unix.EAGAIN:
			early = true
			continue
		case err != nil:
			return written, os.NewSyscallError("write", err)
		}
		early = true // short: the timeout or a signal cut it off
	}
	return written, nil
}

// opError names the call that failed, keeping err for errors.Is.
func opError(op string, err error) error {
	if err == errTimeout {
		return fmt.Errorf("sock: %s: %w", op, err)
	}
	return err
}

// Wake unblocks a thread parked in Read (force false) or also in Write
// (force true), from another thread. shutdown(2) is the safe way: the
// descriptor stays open, so its number cannot be reused under the parked
// thread, and the parked read returns 0 at once.
func (c *Conn) Wake(force bool) {
	how := unix.SHUT_RD
	if force {
		how = unix.SHUT_RDWR
	}
	_ = unix.Shutdown(c.Fd, how)
}

// Close closes the descriptor.
func (c *Conn) Close() error { return os.NewSyscallError("close", unix.Close(c.Fd)) }
