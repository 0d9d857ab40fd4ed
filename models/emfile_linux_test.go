//go:build linux

package models_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"iolab/models"
)

// The child side of TestAcceptErrorPauses: a server with a limit of
// childFDLimit open files, serving until its stdin closes.
const (
	childEnv     = "IOLAB_TEST_EMFILE_MODEL"
	childFDLimit = 64
)

// TestAcceptErrorPauses runs each concurrent model in a child process that
// may open only 64 files, connects more clients than that, and checks that
// the model neither dies nor spins on EMFILE, and that it serves the
// clients that waited once descriptors are free again.
//
// The serial model is left out: it holds one connection at a time, so it
// never runs out of descriptors.
func TestAcceptErrorPauses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, m := range models.All() {
		if m.Serial || m.Processes { // one connection per process: accept cannot meet EMFILE
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			skipUnusable(t, m)
			acceptErrorPauses(t, m)
		})
	}
}

// fewFDs is a server in a child process that may open only childFDLimit
// files (TestHelperServeWithFewFDs).
type fewFDs struct {
	addr      string
	cmd       *exec.Cmd
	stdin     io.Closer   // closing it stops the server
	acceptErr chan string // the first accept_error or spawn_error line of its log: it ran out
	logTail   chan string // its whole log, once it has exited
	exited    chan error  // its exit status, once logTail has been sent
}

// startFewFDs starts the model named name in a fewFDs child, and stops it
// when the test ends.
func startFewFDs(t *testing.T, name string) *fewFDs {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServeWithFewFDs$")
	cmd.Env = append(os.Environ(), childEnv+"="+name)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f := &fewFDs{cmd: cmd, stdin: stdin, acceptErr: make(chan string, 1), logTail: make(chan string, 1), exited: make(chan error, 1)}
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-f.exited:
		case <-time.After(patience):
			cmd.Process.Kill()
		}
	})

	// The child prints its address on stdout and its log on stderr.
	go func() {
		var all strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), `"event":"`+models.EventAcceptError+`"`) ||
				strings.Contains(sc.Text(), `"event":"`+models.EventSpawnError+`"`) {
				select {
				case f.acceptErr <- sc.Text():
				default:
				}
			}
		}
		f.logTail <- all.String()
		f.exited <- cmd.Wait()
	}()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("child address: %v", err)
	}
	f.addr = strings.TrimSpace(addr)
	return f
}

// stop closes the child's stdin, waits for it to exit and returns its log.
// It fails the test if the child does not exit 0.
func (f *fewFDs) stop(t *testing.T) string {
	t.Helper()
	f.stdin.Close()
	select {
	case err := <-f.exited:
		log := <-f.logTail
		if err != nil {
			t.Errorf("child: %v\n%s", err, log)
		}
		f.exited <- err
		return log
	case <-time.After(patience):
		t.Fatalf("child did not stop")
		return ""
	}
}

func acceptErrorPauses(t *testing.T, m models.Model) {
	f := startFewFDs(t, m.Name)
	addr, cmd, exited, logTail, acceptErr := f.addr, f.cmd, f.exited, f.logTail, f.acceptErr

	// More clients than the child has descriptors. The kernel completes
	// every handshake into the accept queue; accept(2) then fails in the
	// child with EMFILE.
	var conns []net.Conn
	for range childFDLimit + 16 {
		c, err := net.DialTimeout("tcp", addr, patience)
		if err != nil && m.Name == "gnet" {
			break // its engine has already stopped; see below
		}
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conns = append(conns, c)
		defer c.Close()
	}

	if m.Name == "gnet" {
		// gnet v2 ends its engine when accept fails (see package reactor):
		// a documented exception. Check that the model says so and exits
		// with an error, rather than hang or exit 0.
		select {
		case err := <-exited:
			if err == nil {
				t.Errorf("gnet child exited 0 after an accept error; want the documented failure")
			}
			if log := <-logTail; !strings.Contains(log, "the gnet engine stopped by itself") {
				t.Errorf("gnet child did not say why it stopped:\n%s", log)
			}
			exited <- err
		case <-time.After(patience):
			t.Fatalf("gnet child neither served nor exited after an accept error")
		}
		return
	}
	select {
	case line := <-acceptErr:
		t.Logf("child logged: %s", line)
	case <-time.After(patience):
		t.Fatalf("child never logged an accept error")
	}

	// Not spinning: over half a second of wall time the child may use a
	// little CPU for its paced retries, not the whole half second.
	before := cpuTicks(t, cmd.Process.Pid)
	time.Sleep(500 * time.Millisecond) // a measuring window, not synchronisation
	if used := cpuTicks(t, cmd.Process.Pid) - before; used > 15 {
		t.Errorf("child used %d clock ticks of CPU in 0.5 s while out of descriptors: spinning on accept", used)
	}

	// Free descriptors: the clients that waited in the accept queue are
	// served once the child retries.
	for _, c := range conns[:32] {
		c.Close()
	}
	last := conns[len(conns)-1]
	_ = last.SetDeadline(time.Now().Add(patience))
	if _, err := last.Write([]byte("late\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(last, got); err != nil || string(got) != "late\n" {
		t.Fatalf("the last client after descriptors were freed: got %q, %v; want %q", got, err, "late\n")
	}

	f.stop(t)
}

// TestForkWaitsForDescriptors runs the fork model with a limit of 64 open
// files and -max-conns far above what they allow, and connects more
// clients at once than the parent has descriptors for. Each child costs
// the parent descriptors (a pipe, a pidfd), so the parent runs out, at
// accept(2) or while it starts a child; either way it must keep the
// client and serve it once a child exits, as every other model lets
// clients wait at its limit: every client is answered in the end, and
// none is closed unserved.
func TestForkWaitsForDescriptors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	m, err := models.Lookup("fork")
	if err != nil {
		t.Fatal(err)
	}
	skipUnusable(t, m)
	f := startFewFDs(t, m.Name)
	const clients = childFDLimit + 16
	// Each client, once answered, keeps its connection, and so its child
	// and the parent's descriptors for it, until the parent has run out.
	errs := make(chan error, clients)
	release := make(chan struct{})
	for i := range clients {
		go func() { errs <- echoOnce(f.addr, fmt.Sprintf("client %d\n", i), release) }()
	}
	select {
	case line := <-f.acceptErr:
		t.Logf("the parent ran out: %s", line)
	case err := <-errs:
		t.Fatalf("a client ended before the parent ran out of descriptors: %v", err)
	case <-time.After(6 * patience):
		t.Fatalf("the parent never ran out of descriptors")
	}
	close(release)
	// The bound is a hang guard, not a speed test: a child start under
	// the race detector on a busy machine can take a second, and the
	// clients are served about as many at a time as the parent has
	// descriptors for.
	var failed []string
	for range clients {
		if err := <-errs; err != nil {
			failed = append(failed, err.Error())
		}
	}
	log := f.stop(t)
	if len(failed) > 0 {
		t.Errorf("%d of %d clients not served; the first: %s", len(failed), clients, failed[0])
	}
	if strings.Contains(log, "the connection is closed") {
		t.Errorf("the parent closed a client it had accepted:\n%s", log)
	}
	t.Logf("%d clients served; the parent ran out %d times at accept, %d times starting a child",
		clients, strings.Count(log, `"event":"`+models.EventAcceptError+`"`), strings.Count(log, `"event":"`+models.EventSpawnError+`"`))
}

// echoOnce connects to addr, sends line, expects it back, and closes once
// release is closed. Its bounds are generous: it is for tests where the
// server may make a client wait its turn for a long while.
func echoOnce(addr, line string, release <-chan struct{}) error {
	c, err := net.DialTimeout("tcp", addr, 6*patience)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(6 * patience))
	if _, err := io.WriteString(c, line); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	got := make([]byte, len(line))
	if n, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("got %q back, then %w", got[:n], err)
	}
	if string(got) != line {
		return fmt.Errorf("got %q, want %q", got, line)
	}
	<-release
	return nil
}

// TestHelperServeWithFewFDs is the child of TestAcceptErrorPauses; it does
// nothing in a normal test run.
func TestHelperServeWithFewFDs(t *testing.T) {
	name := os.Getenv(childEnv)
	if name == "" {
		t.Skip("child process helper")
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: childFDLimit, Max: childFDLimit}); err != nil {
		t.Fatal(err)
	}
	m, err := models.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	cfg := models.DefaultConfig()
	cfg.Addr, cfg.Proto = "127.0.0.1:0", models.Echo
	// The default connection limit (the file limit less a reserve) would
	// stop accepting before accept(2) can fail; this test is about what a
	// model does when it fails all the same (descriptors used elsewhere, a
	// limit set too high), so it sets the limit above the file limit.
	cfg.MaxConns = 1000
	cfg.Log = zerolog.New(os.Stderr).Level(zerolog.WarnLevel)
	srv, err := m.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
		cancel()
	}()
	err = srv.Serve(ctx, func(a net.Addr) { fmt.Println(a.String()) })
	if err != nil {
		cfg.Log.Error().Err(err).Msg("serve failed")
		os.Exit(1)
	}
}

// cpuTicks returns the user plus system CPU time of a process, in clock
// ticks, from /proc/PID/stat.
func cpuTicks(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.Atoi(fields[11])
	stime, _ := strconv.Atoi(fields[12])
	return utime + stime
}
