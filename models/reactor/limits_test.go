package reactor_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"iolab/models"
)

// TestHalfCloseAnswersEveryLine sends more echo lines than the kernel's
// buffers hold, shuts down its writing side, and only then reads: every
// answer must arrive, byte for byte, before the server's FIN, and the log
// must count them all. gnet alone would drop what it still buffered at the
// FIN (see takeover.go).
func TestHalfCloseAnswersEveryLine(t *testing.T) {
	// More than the kernel takes from the server while the client does
	// not read, so that answers wait in gnet and lines wait unanswered
	// when the FIN arrives; less than that plus what the model keeps for a
	// client (a cap of answers, 2 MiB of input), past which it would close
	// the client.
	cfg := models.DefaultConfig()
	size := kernelHolds(t) + cfg.OutputCap() + 1<<20
	for _, tc := range []struct {
		name  string
		lines int
		pause time.Duration // between the FIN and the first read: the client's shape, not a wait for the server
		work  models.Work
	}{
		{"MBs in flight", size / 64, 0, models.Work{}},
		// The same, reading only a while after the FIN: gnet's last
		// attempt to write meets a full socket, and the takeover must
		// write exactly what it left.
		{"MBs in flight, reading later", size / 64, 200 * time.Millisecond, models.Work{}},
		// Lines still waiting for their sleep when the FIN arrives: the
		// takeover sleeps and answers them.
		{"200 lines, 2 ms of sleep each", 200, 0, models.Work{Kind: models.Sleep, D: 2 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, func(c *models.Config) { c.Work = tc.work })
			var want bytes.Buffer
			for i := range tc.lines {
				fmt.Fprintf(&want, "%063d\n", i) // 64 bytes
			}
			c := s.dial(t)
			if _, err := c.Write(want.Bytes()); err != nil {
				t.Fatalf("write: %v", err)
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			time.Sleep(tc.pause)
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("read after %d bytes: %v", len(got), err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("got %d bytes back, want the %d sent; first difference at byte %d",
					len(got), want.Len(), firstDiff(got, want.Bytes()))
			}
			e := s.log.waitFor(t, func(e models.Event) bool { return e.Event == models.EventConnClose })
			if e.Reason != "eof" || e.BytesOut != int64(want.Len()) || e.Requests != int64(tc.lines) {
				t.Errorf("close event: reason %q, bytes_out %d, requests %d; want eof, %d, %d",
					e.Reason, e.BytesOut, e.Requests, want.Len(), tc.lines)
			}
			s.stop(t)
		})
	}
}

// TestShutdownEndsATakeover half-closes with answers still to come and
// never reads them, then stops the server: the takeover writing them ends
// when the shutdown timeout does, its close is logged as shutdown, and
// Serve returns, leaving nothing behind. The answers wait for sleep work
// (work), and the server is stopped once the second line's work has
// begun: by then the FIN, right behind the data, has reached the server,
// so the loop, which would have begun that work only after the first
// sleep, has handed the connection over.
func TestShutdownEndsATakeover(t *testing.T) {
	const (
		grace = 300 * time.Millisecond
		work  = 500 * time.Millisecond
	)
	for _, tc := range []struct {
		name    string
		lines   string
		maxLine int
	}{
		// The takeover is waiting for a sleep when the time is up.
		{"sleeping", strings.Repeat("zz\n", 100), models.DefaultMaxLine},
		// The takeover is writing an answer the kernel cannot hold.
		{"writing", "zz\n" + strings.Repeat("w", 6<<20) + "\n", 8 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			working := make(chan struct{}, 2)
			s := start(t, func(c *models.Config) {
				c.ShutdownTimeout, c.MaxLine = grace, tc.maxLine
				c.Work = models.Work{Kind: models.Sleep, D: work}
				c.OnWork = func() {
					select {
					case working <- struct{}{}:
					default:
					}
				}
			})
			c := s.dial(t)
			if _, err := c.Write([]byte(tc.lines)); err != nil {
				t.Fatalf("write: %v", err)
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			for range 2 {
				select {
				case <-working:
				case <-time.After(patience):
					t.Fatal("the work never began")
				}
			}
			began := time.Now()
			s.stop(t)
			if took := time.Since(began); took > grace+2*time.Second {
				t.Errorf("Serve returned %v after cancel; the shutdown timeout is %v", took, grace)
			}
			e := s.log.waitFor(t, func(e models.Event) bool { return e.Event == models.EventConnClose })
			if e.Reason != "shutdown" {
				t.Errorf("close reason %q, want shutdown", e.Reason)
			}
		})
	}
}

// TestNeverReadingClientIsClosed sends lines and never reads the answers:
// the server stops answering at the output cap, closes the client as
// write_timeout about one write timeout after the first answer it could
// not write, and holds at most its bounds meanwhile. A client that keeps
// sending is closed when the input kept for it passes its bound, long
// before it has sent what it wanted.
func TestNeverReadingClientIsClosed(t *testing.T) {
	const idle = time.Second
	t.Run("stops sending", func(t *testing.T) {
		s := start(t, func(c *models.Config) { c.IdleTimeout = idle })
		// Enough that answers back up in the server, little enough to
		// stay under the input bound.
		cfg := models.DefaultConfig()
		size := kernelHolds(t) + cfg.OutputCap() + 1<<20
		lines := bytes.Repeat([]byte(strings.Repeat("z", 1023)+"\n"), size>>10)
		c := s.dial(t)
		sent := time.Now()
		if _, err := c.Write(lines); err != nil {
			t.Fatalf("write: %v", err)
		}
		e := s.log.waitFor(t, func(e models.Event) bool { return e.Event == models.EventConnClose })
		open := time.Duration(e.DurationUs) * time.Microsecond
		if e.Reason != "write_timeout" {
			t.Fatalf("close reason %q after %v, want write_timeout", e.Reason, open)
		}
		// The deadline runs from the first answer gnet could not write,
		// after the write above began; the sweep looks every idle/10. The
		// upper margin is for a busy machine.
		if open < idle || time.Since(sent) > idle+idle/10+2*time.Second {
			t.Errorf("closed after %v (%v after the write); want about %v", open, time.Since(sent), idle)
		}
		s.stop(t)
	})
	t.Run("keeps sending", func(t *testing.T) {
		s := start(t, func(c *models.Config) { c.IdleTimeout = time.Minute })
		c := s.dial(t)
		chunk := bytes.Repeat([]byte(strings.Repeat("w", 1023)+"\n"), 1<<10) // 1 MiB
		sent := 0
		var err error
		for sent < 200<<20 && err == nil {
			var n int
			n, err = c.Write(chunk)
			sent += n
		}
		if err == nil {
			t.Fatalf("sent %d MiB without being closed", sent>>20)
		}
		e := s.log.waitFor(t, func(e models.Event) bool { return e.Event == models.EventConnClose })
		if e.Reason != "write_timeout" {
			t.Errorf("close reason %q, want write_timeout", e.Reason)
		}
		// Read and not written: the input gnet keeps reading, bounded by
		// the model (2 MiB; or one output cap, if more) plus one read of
		// gnet's (64 KiB), and the answers waiting in gnet, one cap plus
		// the line that crossed it.
		cfg := models.DefaultConfig()
		if held, most := e.BytesIn-e.BytesOut, int64(2<<20+64<<10+cfg.OutputCap()+cfg.MaxLine); held > most {
			t.Errorf("the server held %d bytes for the client, more than %d", held, most)
		}
		t.Logf("closed after the client sent %.1f MiB; the server read %.1f MiB and wrote %.1f MiB",
			float64(sent)/(1<<20), float64(e.BytesIn)/(1<<20), float64(e.BytesOut)/(1<<20))
		s.stop(t)
	})
}

// TestMaxConns serves two clients at most: a third is accepted and closed
// at once, with reason max_conns; the log says when the limit is reached
// and when it is left; and a client after that is served.
func TestMaxConns(t *testing.T) {
	s := start(t, func(c *models.Config) { c.MaxConns = 2 })
	first, second := s.dial(t), s.dial(t)
	echo(t, first, "first\n")
	echo(t, second, "second\n")

	third := s.dial(t)
	if b, err := io.ReadAll(third); len(b) > 0 || err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("third client: got %q, %v; want a close", b, err)
	}
	refused := s.log.waitFor(t, func(e models.Event) bool { return e.Event == models.EventConnClose })
	if refused.Reason != "max_conns" || refused.Conn != 3 {
		t.Errorf("close event: conn %d, reason %q; want conn 3, max_conns", refused.Conn, refused.Reason)
	}
	reached := s.log.waitFor(t, func(e models.Event) bool { return e.Event == models.EventLimitReached })
	if reached.MaxConns != 2 || reached.Open != 2 {
		t.Errorf("%s: open %d, max_conns %d; want 2, 2", reached.Event, reached.Open, reached.MaxConns)
	}

	first.Close()
	left := s.log.waitFor(t, func(e models.Event) bool { return e.Event == models.EventLimitLeft })
	if left.MaxConns != 2 || left.Open != 1 {
		t.Errorf("%s: open %d, max_conns %d; want 1, 2", left.Event, left.Open, left.MaxConns)
	}
	echo(t, s.dial(t), "fourth\n")
	echo(t, second, "second again\n")
	// Reached as the second took the last slot, and again as the fourth
	// did; the refusal between them is a close of its own.
	if n := s.log.count(models.EventLimitReached); n != 2 {
		t.Errorf("%d %s events, want 2", n, models.EventLimitReached)
	}
	s.stop(t)
}

// TestSlowloris sends a line a byte at a time, never its newline, beside
// a client that echoes normally: the slow one is closed as request_timeout
// about one request timeout after its first byte, though every byte
// resets the idle timer, and the other is served throughout.
func TestSlowloris(t *testing.T) {
	const request = 400 * time.Millisecond
	s := start(t, func(c *models.Config) { c.RequestTimeout = request; c.IdleTimeout = time.Minute })
	slow, normal := s.dial(t), s.dial(t)
	echo(t, normal, "before\n")

	began := time.Now()
	closed := make(chan error, 1)
	go func() { // the slow client, a byte every request/8, until closed
		tick := time.NewTicker(request / 8)
		defer tick.Stop()
		for {
			if _, err := slow.Write([]byte("s")); err != nil {
				closed <- err
				return
			}
			<-tick.C
		}
	}()
	for i := 0; ; i++ {
		echo(t, normal, fmt.Sprintf("line %d\n", i))
		select {
		case <-closed:
		case <-time.After(request / 10): // a pace for the normal client, not a wait for the server
			if time.Since(began) > patience {
				t.Fatal("the slow client was never closed")
			}
			continue
		}
		break
	}
	e := s.log.waitFor(t, func(e models.Event) bool { return e.Event == models.EventConnClose })
	open := time.Duration(e.DurationUs) * time.Microsecond
	if e.Reason != "request_timeout" {
		t.Fatalf("close reason %q, want request_timeout", e.Reason)
	}
	if open < request || open > request+request/10+2*time.Second {
		t.Errorf("closed after %v; want about %v", open, request)
	}
	echo(t, normal, "after\n")
	s.stop(t)
}
