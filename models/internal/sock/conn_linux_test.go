//go:build linux

package sock

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

func TestMustRearm(t *testing.T) {
	const s = timeoutSlack
	for _, tc := range []struct {
		name          string
		inForce, left time.Duration
		early, want   bool
	}{
		{"no timeout yet", 0, time.Minute, false, true},
		{"the same timeout again", time.Minute, time.Minute, false, false},
		{"a few microseconds less left", time.Minute, time.Minute - 50*time.Microsecond, false, false},
		{"past the deadline by more than the slack", time.Minute, time.Minute - 2*s, false, true},
		{"shorter than needed: lowered only", time.Second, time.Minute, false, false},
		{"shorter than needed, after an early return", time.Second, time.Minute, true, true},
		{"about right after an early return", time.Minute, time.Minute + s/2, true, false},
	} {
		if got := mustRearm(tc.inForce, tc.left, tc.early); got != tc.want {
			t.Errorf("%s: mustRearm(%v, %v, %v) = %v, want %v", tc.name, tc.inForce, tc.left, tc.early, got, tc.want)
		}
	}
}

// pair returns a connected pair over loopback TCP: the server side as a
// blocking Conn, the client side as a net.Conn.
func pair(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	lfd, bound, err := ListenBlocking("127.0.0.1:0", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseListener(lfd)
	client, err := net.Dial("tcp", bound.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, _, err := Accept(lfd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, client
}

// TestReadDeadline checks that the deadline is absolute whatever timeout
// is in force: a shorter one is raised after an early return, a longer
// one lowered before the call.
func TestReadDeadline(t *testing.T) {
	c, _ := pair(t)
	buf := make([]byte, 1)
	// The wrong behaviours: no timeout at all, one too early, or a
	// socket that keeps the previous deadline's length (the third read
	// would then wait 2 s, not 100 ms). The bound above leaves a busy
	// machine a second of delay and still tells 100 ms from 2 s.
	for _, d := range []time.Duration{100 * time.Millisecond, 2 * time.Second, 100 * time.Millisecond} {
		start := time.Now()
		_ = c.SetReadDeadline(start.Add(d))
		_, err := c.Read(buf)
		took := time.Since(start)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read with a deadline of %v: %v, want a timeout", d, err)
		}
		if took < d || took > d+time.Second {
			t.Errorf("read with a deadline of %v timed out after %v", d, took)
		}
	}
}

// TestSteadyStateKeepsTimeout checks that whole requests answered at once,
// each with a fresh deadline of the same length, never set the socket
// options again after the first: inForce would change with every set,
// since the time left is never the same twice to the nanosecond.
func TestSteadyStateKeepsTimeout(t *testing.T) {
	c, client := pair(t)
	const idle = 10 * time.Second
	buf := make([]byte, 64)
	var rcv, snd time.Duration
	for i := range 100 {
		if _, err := client.Write([]byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(idle))
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
		_ = c.SetWriteDeadline(time.Now().Add(idle))
		if _, err := c.Write([]byte("pong\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Read(buf); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			rcv, snd = c.rcv.inForce, c.snd.inForce
			continue
		}
		if c.rcv.inForce != rcv || c.snd.inForce != snd {
			t.Fatalf("request %d set the timeouts again: SO_RCVTIMEO %v then %v, SO_SNDTIMEO %v then %v",
				i, rcv, c.rcv.inForce, snd, c.snd.inForce)
		}
	}
}

// TestWriteDeadlineDoesNotRestart writes far more than the socket buffers
// hold to a client that reads a little now and then. Each read lets a
// write(2) make progress, which used to restart SO_SNDTIMEO; the write
// must fail at its one deadline all the same.
func TestWriteDeadlineDoesNotRestart(t *testing.T) {
	c, client := pair(t)
	done := make(chan struct{})
	defer close(done)
	go func() {
		buf := make([]byte, 64<<10)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if _, err := client.Read(buf); err != nil {
					return
				}
			}
		}
	}()
	const d = 500 * time.Millisecond
	start := time.Now()
	_ = c.SetWriteDeadline(start.Add(d))
	n, err := c.Write(make([]byte, 256<<20))
	took := time.Since(start)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write of 256 MB to a trickle reader: %d bytes, %v; want a timeout", n, err)
	}
	if took < d || took > d*18/10 {
		t.Errorf("write with a deadline of %v failed after %v", d, took)
	}
	t.Logf("%d bytes written in %v", n, took)
}
