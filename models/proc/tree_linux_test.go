//go:build linux

package proc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadTreeLive samples a real process tree: sh and two sleeping
// children. The sum over the tree must be what Read says of each process.
func TestReadTreeLive(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// On SIGTERM sh kills its children and waits for them, so that every
	// process of the tree is reaped by its own parent and none is left to
	// init. If sh does not exit within 10 s, it is killed.
	cmd := exec.CommandContext(ctx, "sh", "-c",
		`trap 'kill $a $b; wait; exit 0' TERM; sleep 60 & a=$!; sleep 60 & b=$!; wait`)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sh: %v", err)
	}
	waited := false
	stop := func() error {
		cancel()
		if waited {
			return nil
		}
		waited = true
		return cmd.Wait()
	}
	t.Cleanup(func() { _ = stop() })
	pid := cmd.Process.Pid

	// The children appear when sh forks them, and settle once each has
	// become sleep and is asleep: poll /proc, another process's state,
	// until the tree and its processes one by one agree.
	var tree, sum Sample
	var kids []int
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		var err error
		kids = sleepingChildren(pid)
		tree, err = ReadTree(pid)
		if err == nil && len(kids) == 2 {
			sum, err = readEach(append([]int{pid}, kids...))
			if err == nil && tree == sum {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: sh %d, sleeping children %v; tree %+v (%v), one by one %+v", pid, kids, tree, err, sum)
		}
		<-tick.C
	}
	if tree.Procs != 3 || tree.Threads < 3 || tree.FDs < 3 {
		t.Errorf("tree of sh and two sleeps: %+v; want 3 processes, at least 3 threads and 3 descriptors", tree)
	}
	if one, err := Read(pid); err != nil || one.Procs != 1 || one.RSS >= tree.RSS {
		t.Errorf("Read(sh): %+v, %v; want 1 process with less RSS than the tree's %d", one, err, tree.RSS)
	}
	if kid, err := ReadTree(kids[0]); err != nil || kid.Procs != 1 {
		t.Errorf("ReadTree(a sleep): %+v, %v; want 1 process", kid, err)
	}

	// Wait says the context was cancelled; exit status 0 says the trap ran.
	if err := stop(); !cmd.ProcessState.Success() {
		t.Errorf("sh on SIGTERM: %v, %v; want exit status 0 from its trap", cmd.ProcessState, err)
	}
	for _, k := range kids {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(k))); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("sleep %d is still there after sh exited: %v", k, err)
		}
	}
}

// sleepingChildren returns the children of pid that run sleep.
func sleepingChildren(pid int) []int {
	_, children, err := scan("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, c := range children[pid] {
		comm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(c), "comm"))
		if err == nil && strings.TrimSpace(string(comm)) == "sleep" {
			out = append(out, c)
		}
	}
	return out
}

// readEach sums Read over pids.
func readEach(pids []int) (Sample, error) {
	var sum Sample
	for _, p := range pids {
		s, err := Read(p)
		if err != nil {
			return sum, err
		}
		sum.Procs += s.Procs
		sum.Threads += s.Threads
		sum.RSS += s.RSS
		sum.RSSAnon += s.RSSAnon
		sum.UserTicks += s.UserTicks
		sum.SysTicks += s.SysTicks
		sum.FDs += s.FDs
	}
	return sum, nil
}

// TestWaitCountsReapedDescendants checks on this kernel what iolab bench
// relies on to count a server's children: a process's RUSAGE_CHILDREN
// includes a grandchild that its child waited for (getrusage(2)), and
// wait4(2)'s rusage of a child includes the children it waited for.
// Here sh waits for an inner sh that burns CPU, and reports with times
// what its children used; this test waits for the outer sh.
func TestWaitCountsReapedDescendants(t *testing.T) {
	before, err := ChildrenUsage()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `sh -c 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done'; times`)
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("sh: %v", err)
	}
	after, err := ChildrenUsage()
	if err != nil {
		t.Fatal(err)
	}
	// times prints the shell's own user and system time, then its
	// children's, as 0m0.120000s 0m0.000000s.
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var um, sm int
	var us, ss float64
	if len(lines) != 2 {
		t.Fatalf("times printed %q", out)
	}
	if _, err := fmt.Sscanf(lines[1], "%dm%fs %dm%fs", &um, &us, &sm, &ss); err != nil {
		t.Fatalf("times printed %q: %v", out, err)
	}
	inner := time.Duration((float64(um*60)+us+float64(sm*60)+ss)*1e6) * time.Microsecond
	if inner < 20*time.Millisecond {
		t.Fatalf("the inner sh used %v of CPU; the test needs more to tell", inner)
	}

	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatalf("no rusage from wait4: %T", cmd.ProcessState.SysUsage())
	}
	waited := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if waited < inner {
		t.Errorf("wait4 says the outer sh used %v of CPU, less than its child's %v: it does not count reaped descendants", waited, inner)
	}
	children := after.User + after.System - before.User - before.System
	if children < inner {
		t.Errorf("RUSAGE_CHILDREN grew by %v, less than the grandchild's %v", children, inner)
	}
	// The outer sh is the only child reaped in between: RUSAGE_CHILDREN
	// grew by exactly its wait4 rusage (each rounded to the microsecond).
	if d := children - waited; d < -2*time.Microsecond || d > 2*time.Microsecond {
		t.Errorf("RUSAGE_CHILDREN grew by %v, wait4 says %v", children, waited)
	}
	if sw := after.Voluntary + after.Involuntary - before.Voluntary - before.Involuntary; sw != ru.Nvcsw+ru.Nivcsw {
		t.Errorf("RUSAGE_CHILDREN's context switches grew by %d, wait4 says %d", sw, ru.Nvcsw+ru.Nivcsw)
	}
}
