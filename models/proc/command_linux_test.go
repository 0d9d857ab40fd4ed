package proc_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"iolab/models/proc"
)

// helperEnv tells the test binary, started again, to be a child that
// Command and Stop stop: "obey" exits with status 3 on SIGTERM or SIGINT,
// "ignore" ignores both.
const helperEnv = "IOLAB_PROC_HELPER"

// TestHelperChild is the child process of the tests below; it does
// nothing in a normal test run.
func TestHelperChild(t *testing.T) {
	how := os.Getenv(helperEnv)
	if how == "" {
		t.Skip("child process helper")
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	_, _ = os.Stdout.WriteString("ready\n") // its signals are caught from here on
	for range sigs {
		if how == "obey" {
			os.Exit(3)
		}
	}
}

// startHelper starts the helper as proc.Command would, with how it
// answers a signal, and waits until it has caught its signals. The
// returned channel is closed once it has been reaped.
func startHelper(t *testing.T, ctx context.Context, how string, stop syscall.Signal, grace time.Duration) (*exec.Cmd, <-chan struct{}, <-chan error) {
	t.Helper()
	cmd := proc.Command(ctx, stop, grace, os.Args[0], "-test.run=^TestHelperChild$")
	cmd.Env = append(os.Environ(), helperEnv+"="+how)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !bufio.NewScanner(out).Scan() {
		t.Fatal("the helper wrote nothing")
	}
	exited := make(chan struct{})
	waited := make(chan error, 1)
	go func() {
		waited <- cmd.Wait()
		close(exited)
	}()
	return cmd, exited, waited
}

func exitStatus(t *testing.T, err error) syscall.WaitStatus {
	t.Helper()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("got %v, want an exit error", err)
	}
	return exit.Sys().(syscall.WaitStatus)
}

func TestCommandOutlivesNoParent(t *testing.T) {
	cmd := proc.Command(context.Background(), syscall.SIGTERM, time.Second, "true")
	if got := cmd.SysProcAttr; got == nil || got.Pdeathsig != syscall.SIGTERM {
		t.Fatalf("SysProcAttr: got %+v, want Pdeathsig SIGTERM", got)
	}
}

func TestCommandAsksOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	// A grace longer than any test: the helper must stop because it was
	// asked, not because it was killed.
	_, _, waited := startHelper(t, ctx, "obey", syscall.SIGINT, time.Hour)
	cancel()
	if ws := exitStatus(t, <-waited); ws.ExitStatus() != 3 {
		t.Errorf("got %v, want exit status 3 (stopped by SIGINT, as asked)", ws)
	}
}

func TestCommandKillsAfterGrace(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	_, _, waited := startHelper(t, ctx, "ignore", syscall.SIGTERM, 10*time.Millisecond)
	cancel()
	if ws := exitStatus(t, <-waited); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("got %v, want killed by SIGKILL", ws)
	}
}

func TestStopAsksFirst(t *testing.T) {
	cmd, exited, waited := startHelper(t, context.Background(), "obey", syscall.SIGTERM, time.Hour)
	proc.Stop(func(sig syscall.Signal) { _ = cmd.Process.Signal(sig) }, syscall.SIGTERM, time.Hour, exited)
	if ws := exitStatus(t, <-waited); ws.ExitStatus() != 3 {
		t.Errorf("got %v, want exit status 3 (stopped by SIGTERM, as asked)", ws)
	}
}

func TestStopKillsAfterGrace(t *testing.T) {
	cmd, exited, waited := startHelper(t, context.Background(), "ignore", syscall.SIGTERM, time.Hour)
	var sent []syscall.Signal // Stop calls signal from its own goroutine only
	proc.Stop(func(sig syscall.Signal) {
		sent = append(sent, sig)
		_ = cmd.Process.Signal(sig)
	}, syscall.SIGTERM, 10*time.Millisecond, exited)
	if ws := exitStatus(t, <-waited); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("got %v, want killed by SIGKILL", ws)
	}
	if len(sent) != 2 || sent[0] != syscall.SIGTERM || sent[1] != syscall.SIGKILL {
		t.Errorf("signals sent: got %v, want [SIGTERM SIGKILL]", sent)
	}
}
