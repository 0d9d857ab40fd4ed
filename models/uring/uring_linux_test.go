//go:build linux

package uring

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/internal/leakcheck"
	"iolab/models/servetest"
)

const patience = 10 * time.Second

// TestDiagnose checks that each reason io_uring_setup(2) is refused comes
// back as ErrUnavailable naming its cause and its fix, with the sysctls
// faked.
func TestDiagnose(t *testing.T) {
	cases := []struct {
		err     error
		sysctls map[string]string
		want    []string
	}{
		{unix.ENOSYS, nil, []string{"no io_uring", "-model epoll"}},
		{unix.EPERM, map[string]string{"kernel.io_uring_disabled": "2"}, []string{"kernel.io_uring_disabled is 2", "sysctl -w kernel.io_uring_disabled=0"}},
		{unix.EPERM, map[string]string{"kernel.io_uring_disabled": "1", "kernel.io_uring_group": "1234"},
			[]string{"kernel.io_uring_disabled is 1", "group 1234", "member of that group"}},
		{unix.EPERM, map[string]string{"kernel.io_uring_disabled": "0"}, []string{"seccomp", "--security-opt seccomp="}},
		{unix.EPERM, nil, []string{"seccomp", "Docker"}},
		{unix.ENOMEM, nil, []string{"RLIMIT_MEMLOCK", "ulimit -l"}},
	}
	for _, tc := range cases {
		sysctl := func(key string) (string, error) {
			if v, ok := tc.sysctls[key]; ok {
				return v, nil
			}
			return "", errors.New("no such sysctl")
		}
		err := diagnose(fmt.Errorf("io_uring_setup: %w", tc.err), sysctl)
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%v %v: got %v, want ErrUnavailable", tc.err, tc.sysctls, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v %v: %q does not say %q", tc.err, tc.sysctls, err, w)
			}
		}
	}
}

// serve starts the model in this process with cfg changed by with. Its
// log goes to log, which the test may read once the server has stopped.
func serve(t *testing.T, log io.Writer, with func(*models.Config)) *servetest.Running {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
	cfg := models.DefaultConfig()
	cfg.Addr, cfg.Proto = "127.0.0.1:0", models.Echo
	cfg.Log = zerolog.New(log)
	if with != nil {
		with(&cfg)
	}
	srv, err := models.New("uring", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return servetest.Serve(t, srv, patience)
}

// roundTrip dials addr, sends lines and checks they come back.
func roundTrip(t *testing.T, addr, lines string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(patience))
	go func() { _, _ = io.WriteString(c, lines) }()
	got := make([]byte, len(lines))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != lines {
		t.Fatalf("echo: got %d bytes (%v), want the %d sent back", len(got), err, len(lines))
	}
	return c
}

// TestSingleShot runs the single-shot paths (accept and recv), as on a
// kernel before 5.19, where multishot is used otherwise: pipelined lines
// in order, and the connection limit, where a second client waits for the
// first to leave.
func TestSingleShot(t *testing.T) {
	before := leakcheck.Take(t)
	singleShotOnly = true
	t.Cleanup(func() { singleShotOnly = false })
	t.Run("pipelined", func(t *testing.T) {
		addr := serve(t, io.Discard, nil).Addr
		var b strings.Builder
		for i := range 5000 {
			fmt.Fprintf(&b, "single %05d\n", i)
		}
		roundTrip(t, addr, b.String()).Close()
	})
	t.Run("max conns", func(t *testing.T) { maxConnsWait(t) })
	before.Check(t)
}

// TestMultishotNearTheLimit serves with a limit below the listen backlog,
// where the loop accepts single-shot although the kernel has multishot.
func TestMultishotNearTheLimit(t *testing.T) {
	before := leakcheck.Take(t)
	t.Run("max conns", maxConnsWait)
	before.Check(t)
}

// maxConnsWait serves with MaxConns 1: a second client is served only once
// the first has left.
func maxConnsWait(t *testing.T) {
	addr := serve(t, io.Discard, func(c *models.Config) { c.MaxConns = 1 }).Addr
	first := roundTrip(t, addr, "first\n")
	second, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if _, err := io.WriteString(second, "second\n"); err != nil {
		t.Fatal(err)
	}
	// The first client is still served while the second waits.
	if _, err := io.WriteString(first, "again\n"); err != nil {
		t.Fatal(err)
	}
	if got, err := bufio.NewReader(first).ReadString('\n'); got != "again\n" {
		t.Fatalf("first client: got %q (%v), want %q", got, err, "again\n")
	}
	first.Close()
	_ = second.SetDeadline(time.Now().Add(patience))
	if got, err := bufio.NewReader(second).ReadString('\n'); got != "second\n" {
		t.Fatalf("second client, after the first left: got %q (%v), want %q", got, err, "second\n")
	}
}

// TestStartSaysFeatures checks that the start event says how the model
// accepts and receives.
func TestStartSaysFeatures(t *testing.T) {
	var log bytes.Buffer
	r := serve(t, &log, nil)
	roundTrip(t, r.Addr, "hi\n").Close()
	r.Stop(t)
	var start models.Event
	if err := json.NewDecoder(&log).Decode(&start); err != nil {
		t.Fatal(err)
	}
	if start.Event != models.EventStart || start.Accept == "" || start.Recv == "" || start.Ring == "" {
		t.Errorf("first event: %+v; want start, with accept and recv", start)
	}
	t.Logf("accept %s, recv %s, ring %s", start.Accept, start.Recv, start.Ring)
}
