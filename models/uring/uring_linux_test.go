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

// newTestRing sets up a small ring, or skips where io_uring is refused.
func newTestRing(t *testing.T, entries uint32) *ring {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
	r, err := setupRing(entries, 2*entries)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	return r
}

// TestNopRoundTrip submits NOPs through the SQ and reaps them from the CQ,
// for five times the ring's size, so that both rings' indexes wrap.
func TestNopRoundTrip(t *testing.T) {
	r := newTestRing(t, 8)
	var next uint64
	for round := range 5 {
		for range 8 {
			e := r.getSQE()
			if e == nil {
				t.Fatalf("round %d: SQ full after %d entries", round, next%8)
			}
			e.opcode, e.userData = opNop, next
			next++
		}
		if r.getSQE() != nil {
			t.Fatal("getSQE: got an entry past the ring's size, want nil")
		}
		var got []cqe
		for len(got) < 8 {
			if err := r.enter(!r.ready()); err != nil {
				t.Fatal(err)
			}
			got = r.reap(got)
		}
		for i, c := range got {
			if want := next - 8 + uint64(i); c.userData != want || c.res != 0 {
				t.Errorf("round %d: cqe %d: user_data %d res %d, want %d and 0", round, i, c.userData, c.res, want)
			}
		}
	}
}

// TestProbe checks that the probe answers, and logs what this kernel
// offers the model.
func TestProbe(t *testing.T) {
	r := newTestRing(t, 2)
	ops, err := r.probe()
	if err != nil {
		t.Skipf("no probe (before Linux 5.6): %v", err)
	}
	for _, op := range []uint8{opNop, opTimeout, opAccept, opAsyncCancel, opRead, opSend, opRecv} {
		if !ops[op] {
			t.Errorf("probe: opcode %d not supported, though the probe itself came with it", op)
		}
	}
	t.Logf("multishot accept (IORING_OP_SOCKET, 5.19): %v; multishot recv (IORING_OP_SEND_ZC, 6.0): %v; features %#x",
		ops[opSocket], ops[opSendZC], r.features)
}

// TestBufRingRecv receives twice through one multishot receive into
// provided buffers, over a socketpair, and checks the data and the
// buffer ids, then that a cancel ends the receive.
func TestBufRingRecv(t *testing.T) {
	r := newTestRing(t, 8)
	if ops, err := r.probe(); err != nil || !ops[opSendZC] {
		t.Skip("no multishot receive here")
	}
	b, err := setupBufRing(r, 4, 16, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer b.unmap()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])

	e := r.getSQE()
	e.opcode, e.fd, e.userData = opRecv, int32(fds[0]), 1
	e.ioprio, e.flags, e.bufGroup = recvMultishot, sqeBufferSelect, b.group
	var pending []cqe
	wait := func() cqe {
		t.Helper()
		for len(pending) == 0 {
			if err := r.enter(!r.ready()); err != nil {
				t.Fatal(err)
			}
			pending = r.reap(pending)
		}
		c := pending[0]
		pending = pending[1:]
		return c
	}
	for _, msg := range []string{"first", "second"} {
		if _, err := unix.Write(fds[1], []byte(msg)); err != nil {
			t.Fatal(err)
		}
		c := wait()
		if c.res != int32(len(msg)) || c.flags&cqeFBuffer == 0 || c.flags&cqeFMore == 0 {
			t.Fatalf("recv %q: res %d flags %#x, want %d with F_BUFFER and F_MORE", msg, c.res, c.flags, len(msg))
		}
		id := uint16(c.flags >> cqeBufferShift)
		if got := string(b.bytes(id, int(c.res))); got != msg {
			t.Errorf("buffer %d: got %q, want %q", id, got, msg)
		}
		b.recycle(id)
	}
	e = r.getSQE()
	e.opcode, e.userData, e.addr = opAsyncCancel, 2, 1
	seen := map[uint64]int32{}
	for len(seen) < 2 {
		c := wait()
		seen[c.userData] = c.res
	}
	if seen[1] != -int32(unix.ECANCELED) || seen[2] != 0 {
		t.Errorf("cancel: recv res %d, cancel res %d; want -ECANCELED and 0", seen[1], seen[2])
	}
}

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
