package proc

import (
	"context"
	"os/exec"
	"syscall"
	"time"
)

// Command returns the command that runs name with args as a child of this
// process. When ctx is done, the child is asked to stop with stop, as a
// user would ask it (SIGTERM for a server, SIGINT for a load process, which
// then still reports what it measured); if it has not exited grace later,
// Wait kills it and returns. Should this process die first, the kernel
// sends the child SIGTERM (OrphanSignal): no child outlives its iolab.
func Command(ctx context.Context, stop syscall.Signal, grace time.Duration, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(stop) }
	cmd.WaitDelay = grace
	cmd.SysProcAttr = OrphanSignal()
	return cmd
}

// Stop stops processes, first as a user would and then by force: signal
// sends its signal to every one of them, and exited is closed once all
// have exited and been reaped. Stop sends stop at once, waits for exited,
// and sends SIGKILL if exited is still open grace later: a process that
// finishes what it has in flight within its shutdown timeout is never
// killed, and one that hangs does not hang its parent.
func Stop(signal func(syscall.Signal), stop syscall.Signal, grace time.Duration, exited <-chan struct{}) {
	signal(stop)
	kill := time.NewTimer(grace)
	defer kill.Stop()
	select {
	case <-exited:
	case <-kill.C:
		signal(syscall.SIGKILL)
		<-exited
	}
}
