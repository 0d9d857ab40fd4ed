//go:build linux

package models_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"slices"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"iolab/loadgen/check"
	"iolab/models"
	"iolab/models/proc"
)

// TestKilledParentLeavesNoChild kills the parent of each model with child
// processes outright (SIGKILL: no drain, no goodbye) while its children
// serve or wait, and checks that every child dies too, by its
// parent-death signal, and can be reaped: no orphan lives on. This test
// process makes itself the children's subreaper for the while
// (PR_SET_CHILD_SUBREAPER), as systemd or an init would be, so that it
// can reap them and see how they ended; on this machine PID 1 does not
// reap, and an orphan's zombie would stay.
func TestKilledParentLeavesNoChild(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("cannot become a subreaper: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)

	for _, m := range check.Models() {
		if !m.Processes && m.Name != "reuseport -procs" {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			c, err := check.StartModel(helperServer(), check.Spec{Model: m.Name, Workers: 3})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Kill)
			// A client being served, so that the fork model has a child.
			conn, err := net.DialTimeout("tcp", c.Addr(), patience)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(patience))
			if _, err := conn.Write([]byte("hello\n")); err != nil {
				t.Fatal(err)
			}
			if got, err := bufio.NewReader(conn).ReadString('\n'); err != nil || got != "hello\n" {
				t.Fatalf("echo: %q, %v", got, err)
			}

			kids, err := proc.Descendants(c.PID())
			if err != nil {
				t.Fatal(err)
			}
			if len(kids) == 0 {
				t.Fatalf("the %s server has no child process while it serves a client", m.Name)
			}
			// SIGKILL first, alone: c.Kill would also close the child's
			// stdin, which asks it to stop gracefully, and a worker told
			// to stop exits 0 before the parent's death could kill it.
			if err := syscall.Kill(c.PID(), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			c.Kill() // waits for it: reaped by its own parent, this test

			for _, pid := range kids {
				if err := reapKilled(pid, patience); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// reapKilled waits, at most d, for the orphan pid to end, reaps it, and
// checks that its parent-death signal, SIGKILL, ended it.
func reapKilled(pid int, d time.Duration) error {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond) // another process: nothing to wait on but wait4
	defer tick.Stop()
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		switch {
		case errors.Is(err, syscall.ECHILD):
			return fmt.Errorf("child %d was reaped by someone else, or never became ours", pid)
		case err != nil:
			return fmt.Errorf("wait4 %d: %w", pid, err)
		case got == pid && ws.Signaled() && ws.Signal() == syscall.SIGKILL:
			return nil
		case got == pid:
			return fmt.Errorf("child %d ended with %v, not the parent-death SIGKILL", pid, ws)
		case time.Now().After(deadline):
			return fmt.Errorf("child %d still running %v after its parent was killed: an orphan", pid, d)
		}
		<-tick.C
	}
}

// TestPreforkReplacesADeadWorker kills one of prefork's workers and checks
// that the parent logs its exit, starts another, and serves on.
func TestPreforkReplacesADeadWorker(t *testing.T) {
	c, err := check.StartModel(helperServer(), check.Spec{Model: "prefork", Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Kill()
	before, err := proc.Descendants(c.PID())
	if err != nil || len(before) != 2 {
		t.Fatalf("workers before: %v, %v; want 2", before, err)
	}
	victim := before[0]
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !c.AwaitChildExit(patience) {
		t.Fatalf("no %s event after worker %d was killed", models.EventChildExit, victim)
	}
	deadline := time.Now().Add(patience)
	tick := time.NewTicker(10 * time.Millisecond) // another process's children: nothing to wait on
	defer tick.Stop()
	for {
		now, err := proc.Descendants(c.PID())
		if err != nil {
			t.Fatal(err)
		}
		if len(now) == 2 && !slices.Contains(now, victim) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("workers %v %v after worker %d was killed; want 2 others", now, patience, victim)
		}
		<-tick.C
	}
	conn, err := net.DialTimeout("tcp", c.Addr(), patience)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(patience))
	if _, err := conn.Write([]byte("again\n")); err != nil {
		t.Fatal(err)
	}
	if got, err := bufio.NewReader(conn).ReadString('\n'); err != nil || got != "again\n" {
		t.Fatalf("echo after the replacement: %q, %v", got, err)
	}
}
