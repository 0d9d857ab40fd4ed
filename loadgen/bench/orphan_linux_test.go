//go:build linux

package bench

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"iolab/models/proc"
)

// TestKilledBenchLeavesNoProcess kills iolab bench outright (SIGKILL)
// while it measures a prefork server, whose worker processes are the
// bench's grandchildren, and checks that every one of those processes
// ends: the server by its parent-death signal (SIGTERM: it stops its
// workers and exits), the workers by the server's SIGTERM or, failing
// that, their own parent-death signal. This test makes itself the
// subreaper of what the bench leaves (PR_SET_CHILD_SUBREAPER), as an init
// would be, and reaps whatever comes to it; on this machine PID 1 does not
// reap, and an orphan's zombie would stay.
func TestKilledBenchLeavesNoProcess(t *testing.T) {
	const patience = 10 * time.Second
	if testing.Short() {
		t.Skip("builds iolab and runs a bench")
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("cannot become a subreaper: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)

	cmd := exec.Command(iolabBinary(t), "bench", "-scenario", "seed", "-models", "prefork", "-clients", "1",
		"-duration", "1m", "-warmup", "0s", "-no-pin", "-workers", "3", "-out", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// The bench's server and its three workers.
	var seen []int
	if !poll(patience, func() bool {
		seen, _ = proc.Descendants(cmd.Process.Pid)
		return len(seen) >= 4
	}) {
		t.Fatalf("the bench started %v, not a server with 3 workers, within %v", seen, patience)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	if !poll(patience, func() bool {
		alive := 0
		for _, pid := range seen {
			var ws unix.WaitStatus
			if got, _ := unix.Wait4(pid, &ws, unix.WNOHANG, nil); got == pid {
				continue // an orphan of ours, reaped
			}
			if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); !errors.Is(err, os.ErrNotExist) {
				alive++ // running, or a zombie its parent has yet to reap
			}
		}
		return alive == 0
	}) {
		left, _ := proc.Descendants(os.Getpid())
		t.Errorf("processes of the killed bench still there after %v: %v (this test's descendants: %v)", patience, seen, left)
	}
}

// poll calls done every 10 ms until it returns true, for at most d: the
// processes it watches are others', with nothing to wait on.
func poll(d time.Duration, done func() bool) bool {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !done() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}
