//go:build linux

package reactor_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"iolab/models"
	_ "iolab/models/reactor" // the gnet model, registered
)

// The child of TestFloodUnderFewFDs: a gnet server that may open only
// fewFDs files, serving until its stdin closes.
const (
	fewFDsEnv = "IOLAB_TEST_GNET_FEW_FDS"
	fewFDs    = 64
)

// TestFloodUnderFewFDs runs the model in a child process that may open 64
// files, with the default connection limit (48 there: the limit less a
// quarter), and connects 200 clients at once. gnet ends its engine when
// accept(2) fails (EMFILE), so the model must refuse the clients past the
// limit before the process runs out of descriptors: exactly 48 are
// served, the others closed, the child lives on, and a fresh client is
// served once the flood is over.
func TestFloodUnderFewFDs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	const flood = 200
	served := fewFDs - fewFDs/4 // models.DefaultMaxConns under this limit

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperGnetWithFewFDs$")
	// Two loops, whatever the machine: each costs descriptors (listener,
	// epoll, eventfd) out of the reserve the default limit leaves.
	cmd.Env = append(os.Environ(), fewFDsEnv+"=1", "GOMAXPROCS=2")
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
	// The child's log, line by line; left is closed when a slot frees
	// after the limit was reached.
	var (
		logMu    sync.Mutex
		log      strings.Builder
		left     = make(chan struct{})
		leftOnce sync.Once
		exited   = make(chan struct{}) // closed once the child has exited
		exitErr  error                 // cmd.Wait's, once exited is closed
	)
	childLog := func() string {
		logMu.Lock()
		defer logMu.Unlock()
		return log.String()
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			log.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if strings.Contains(sc.Text(), `"event":"`+models.EventLimitLeft+`"`) {
				leftOnce.Do(func() { close(left) })
			}
		}
		exitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(patience):
			cmd.Process.Kill()
			<-exited
		}
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("child address: %v", err)
	}
	addr = strings.TrimSpace(addr)

	// All at once, each holding its connection: an echo back means
	// served, a close means refused.
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		conns           []net.Conn
		echoed, refused int
	)
	for i := range flood {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, patience)
			if err != nil {
				t.Errorf("dial %d: %v", i, err)
				return
			}
			_ = c.SetDeadline(time.Now().Add(patience))
			line := fmt.Sprintf("client %d\n", i)
			_, err = c.Write([]byte(line))
			got := make([]byte, len(line))
			if err == nil {
				_, err = io.ReadFull(c, got)
			}
			mu.Lock()
			defer mu.Unlock()
			conns = append(conns, c)
			switch {
			case err == nil && string(got) == line:
				echoed++
			case err != nil:
				refused++
			default:
				t.Errorf("client %d: got %q, want %q", i, got, line)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d clients served, %d refused", echoed, refused)
	if echoed != served || refused != flood-served {
		t.Errorf("%d clients served, %d refused; want %d and %d", echoed, refused, served, flood-served)
	}
	select {
	case <-exited:
		t.Fatalf("the child exited during the flood (%v):\n%s", exitErr, childLog())
	default:
	}

	// The flood is over: its clients leave, and once a slot is free a
	// fresh client is served.
	for _, c := range conns {
		c.Close()
	}
	select {
	case <-left:
	case <-time.After(patience):
		t.Fatalf("no %s event after the flood left:\n%s", models.EventLimitLeft, childLog())
	}
	fresh, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		t.Fatalf("dial after the flood: %v", err)
	}
	defer fresh.Close()
	_ = fresh.SetDeadline(time.Now().Add(patience))
	got := make([]byte, 6)
	if _, err := fresh.Write([]byte("fresh\n")); err != nil {
		t.Fatalf("fresh client: %v", err)
	}
	if _, err := io.ReadFull(fresh, got); err != nil || string(got) != "fresh\n" {
		t.Fatalf("fresh client: got %q, %v; want %q", got, err, "fresh\n")
	}

	stdin.Close()
	select {
	case <-exited:
		if exitErr != nil {
			t.Errorf("child: %v\n%s", exitErr, childLog())
		}
		for _, bad := range []string{models.EventAcceptError, "too many open files", "engine stopped"} {
			if strings.Contains(childLog(), bad) {
				t.Errorf("the child's log mentions %q:\n%s", bad, childLog())
			}
		}
		if !strings.Contains(childLog(), `"event":"`+models.EventLimitReached+`"`) {
			t.Errorf("the child's log has no %s event:\n%s", models.EventLimitReached, childLog())
		}
	case <-time.After(patience):
		t.Fatalf("the child did not stop")
	}
}

// TestHelperGnetWithFewFDs is the child of TestFloodUnderFewFDs; it does
// nothing in a normal test run.
func TestHelperGnetWithFewFDs(t *testing.T) {
	if os.Getenv(fewFDsEnv) == "" {
		t.Skip("child process helper")
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: fewFDs, Max: fewFDs}); err != nil {
		t.Fatal(err)
	}
	cfg := models.DefaultConfig()
	cfg.Addr, cfg.Proto = "127.0.0.1:0", models.Echo
	cfg.Log = zerolog.New(os.Stderr).Level(zerolog.InfoLevel) // the limit events, not every connection
	srv, err := models.New("gnet", cfg)
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
