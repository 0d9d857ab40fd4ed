//go:build linux

package ring

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// newTestRing sets up a small ring, or skips where io_uring is refused.
func newTestRing(t *testing.T, entries uint32) *Ring {
	t.Helper()
	r, err := Setup(entries, 2*entries)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) {
		t.Skip(err) // refused here: see models/uring's Available
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// TestNopRoundTrip submits NOPs through the SQ and reaps them from the CQ,
// for five times the ring's size, so that both rings' indexes wrap.
func TestNopRoundTrip(t *testing.T) {
	r := newTestRing(t, 8)
	var next uint64
	for round := range 5 {
		for range 8 {
			e := r.GetSQE()
			if e == nil {
				t.Fatalf("round %d: SQ full after %d entries", round, next%8)
			}
			e.Opcode, e.UserData = OpNop, next
			next++
		}
		if r.GetSQE() != nil {
			t.Fatal("getSQE: got an entry past the ring's size, want nil")
		}
		var got []CQE
		for len(got) < 8 {
			if err := r.Enter(!r.Ready()); err != nil {
				t.Fatal(err)
			}
			got = r.Reap(got)
		}
		for i, c := range got {
			if want := next - 8 + uint64(i); c.UserData != want || c.Res != 0 {
				t.Errorf("round %d: cqe %d: user_data %d res %d, want %d and 0", round, i, c.UserData, c.Res, want)
			}
		}
	}
}

// TestProbe checks that the probe answers, and logs what this kernel
// offers.
func TestProbe(t *testing.T) {
	r := newTestRing(t, 2)
	ops, err := r.Probe()
	if err != nil {
		t.Skipf("no probe (before Linux 5.6): %v", err)
	}
	for _, op := range []uint8{OpNop, OpTimeout, OpAccept, OpAsyncCancel, OpRead, OpSend, OpRecv} {
		if !ops[op] {
			t.Errorf("probe: opcode %d not supported, though the probe itself came with it", op)
		}
	}
	t.Logf("multishot accept (IORING_OP_SOCKET, 5.19): %v; multishot recv (IORING_OP_SEND_ZC, 6.0): %v; features %#x",
		ops[OpSocket], ops[OpSendZC], r.Features)
}

// TestBufRingRecv receives twice through one multishot receive into
// provided buffers, over a socketpair, and checks the data and the
// buffer ids, then that a cancel ends the receive.
func TestBufRingRecv(t *testing.T) {
	r := newTestRing(t, 8)
	if ops, err := r.Probe(); err != nil || !ops[OpSendZC] {
		t.Skip("no multishot receive here")
	}
	b, err := SetupBufRing(r, 4, 16, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Unmap()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])

	e := r.GetSQE()
	e.Opcode, e.Fd, e.UserData = OpRecv, int32(fds[0]), 1
	e.Ioprio, e.Flags, e.BufGroup = RecvMultishot, SQEBufferSelect, b.Group
	var pending []CQE
	wait := func() CQE {
		t.Helper()
		for len(pending) == 0 {
			if err := r.Enter(!r.Ready()); err != nil {
				t.Fatal(err)
			}
			pending = r.Reap(pending)
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
		if c.Res != int32(len(msg)) || c.Flags&CQEFBuffer == 0 || c.Flags&CQEFMore == 0 {
			t.Fatalf("recv %q: res %d flags %#x, want %d with F_BUFFER and F_MORE", msg, c.Res, c.Flags, len(msg))
		}
		id := uint16(c.Flags >> CQEBufferShift)
		if got := string(b.Bytes(id, int(c.Res))); got != msg {
			t.Errorf("buffer %d: got %q, want %q", id, got, msg)
		}
		b.Recycle(id)
	}
	e = r.GetSQE()
	e.Opcode, e.UserData, e.Addr = OpAsyncCancel, 2, 1
	seen := map[uint64]int32{}
	for len(seen) < 2 {
		c := wait()
		seen[c.UserData] = c.Res
	}
	if seen[1] != -int32(unix.ECANCELED) || seen[2] != 0 {
		t.Errorf("cancel: recv res %d, cancel res %d; want -ECANCELED and 0", seen[1], seen[2])
	}
}
