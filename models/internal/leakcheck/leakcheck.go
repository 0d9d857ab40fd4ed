// Package leakcheck is what the model tests check after a model has run:
// no goroutine left running, no file descriptor left open, and no child
// process left behind, running or a zombie (fork, prefork). Take a
// Snapshot before, and Check it after.
package leakcheck

import (
	"errors"
	"net"
	"os"
	"testing"

	"go.uber.org/goleak"

	"iolab/models/proc"
)

// Snapshot is the goroutines and the count of open descriptors at one
// moment.
type Snapshot struct {
	// goroutines ignores every goroutine alive at the snapshot: they are
	// not the model's (gnet's dependency ants starts a process-wide
	// worker pool from init, for one).
	goroutines goleak.Option
	// fds is how many descriptors were open; countable is false where
	// /proc/self/fd does not exist (macOS), and then fds is not checked.
	fds       int
	countable bool
	// procs is how many processes this one's tree held, itself
	// included, zombies too (proc.ReadTree); 0 where /proc cannot say.
	procs int
}

// Take warms the runtime up and records what is running and open now.
func Take(t testing.TB) Snapshot {
	t.Helper()
	warmUp(t)
	fds, countable := openFDs(t)
	return Snapshot{goroutines: goleak.IgnoreCurrent(), fds: fds, countable: countable, procs: processes()}
}

// Check fails t if a goroutine started since s is still running, or if
// the number of open descriptors differs from s's. goleak retries for a
// while, so goroutines that are finishing have time to return.
func (s Snapshot) Check(t testing.TB) {
	t.Helper()
	goleak.VerifyNone(t, s.goroutines)
	if got, _ := openFDs(t); s.countable && got != s.fds {
		t.Errorf("open file descriptors: %d now, %d before", got, s.fds)
	}
	if got := processes(); s.procs > 0 && got != s.procs {
		t.Errorf("processes in this test's tree (children, zombies included): %d now, %d before", got, s.procs)
	}
}

// processes counts this process and its descendants, or returns 0 where
// /proc cannot say.
func processes() int {
	s, err := proc.ReadTree(os.Getpid())
	if err != nil {
		return 0
	}
	return s.Procs
}

// warmUp makes the runtime open what it keeps open for good (the
// netpoller's epoll and eventfd descriptors), so that they do not count
// as the first model's leak.
func warmUp(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	ln.Close()
}

// openFDs counts this process's open file descriptors, and reports false
// where /proc/self/fd does not exist.
func openFDs(t testing.TB) (int, bool) {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if errors.Is(err, os.ErrNotExist) {
		return 0, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(entries) - 1, true // ReadDir's own descriptor
}
