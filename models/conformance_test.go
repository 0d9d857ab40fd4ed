package models_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"iolab/loadgen/check"
	"iolab/models"
	_ "iolab/models/all"
	"iolab/models/internal/leakcheck"
	"iolab/models/servetest"
)

// patience bounds every wait on a server in these tests. Nothing waits this
// long unless a model is broken; then the test fails instead of hanging.
const patience = 10 * time.Second

// crowdPatience bounds each client's wait when 100 arrive at once. The
// fork model starts a process for each, one after the other, and under
// the race detector on a busy 2-core machine a start can take a tenth of
// a second or more: the last client's turn comes late, and that is not a
// fault. Only a server that never answers takes this long.
const crowdPatience = 6 * patience

// conformance is the table every model must pass, each case against a
// model serving in this process with a Config of its own. What a client
// can check of any server (a line, lines pipelined, a line a byte at a
// time, clients at once, resets, idle timeouts) is iolab check's
// (loadgen/check), which TestReliability runs over every model.
var conformance = []struct {
	name string
	cfg  func(*models.Config)
	run  func(t *testing.T, m models.Model, s *server)
}{
	{"greeting is byte-exact", nil, func(t *testing.T, _ models.Model, s *server) {
		if got, want := s.greet(t), models.DefaultGreeting; got != want {
			t.Errorf("greeting: got %q, want %q", got, want)
		}
	}},
	{"greeting text can be changed", func(c *models.Config) { c.Greeting = []byte("oi\n") }, func(t *testing.T, _ models.Model, s *server) {
		if got, want := s.greet(t), "oi\n"; got != want {
			t.Errorf("greeting: got %q, want %q", got, want)
		}
	}},
	{"10,000 pipelined lines, more than one read holds", echo, func(t *testing.T, _ models.Model, s *server) {
		// 170 KB: every model reads it in pieces that end mid-line, and
		// must keep the start of each line for the next read. The client
		// writes from a goroutine and reads at once, or a blocking server
		// and the client would both wait to write.
		var b strings.Builder
		for i := range 10000 {
			fmt.Fprintf(&b, "pipelined %06d\n", i)
		}
		c := s.dial(t)
		wrote := make(chan error, 1)
		go func() {
			_, err := c.conn.Write([]byte(b.String()))
			wrote <- err
		}()
		c.expect(t, b.String())
		if err := <-wrote; err != nil {
			t.Fatalf("write: %v", err)
		}
	}},
	{"a 100 KB line, longer than one read", func(c *models.Config) { echo(c); c.MaxLine = 256 << 10 }, func(t *testing.T, _ models.Model, s *server) {
		// No read of it holds a newline (gnet reads 64 KB at a time), so
		// the server must keep what it has until the line is complete.
		line := strings.Repeat("0123456789", 10<<10) + "\n"
		c := s.dial(t)
		wrote := make(chan error, 1)
		go func() {
			_, err := c.conn.Write([]byte(line))
			wrote <- err
		}()
		c.expect(t, line)
		if err := <-wrote; err != nil {
			t.Fatalf("write: %v", err)
		}
	}},
	{"a line over the limit gets the error and a close", func(c *models.Config) { echo(c); c.MaxLine = 64 }, func(t *testing.T, _ models.Model, s *server) {
		long := s.dial(t)
		// Exactly MaxLine bytes and no newline: the line can no longer fit.
		// Sending no more than that means the server reads everything we
		// sent, so its close is a clean FIN, not a reset.
		long.send(t, strings.Repeat("x", 64))
		if got := long.readAll(t); got != models.ErrLineReply {
			t.Errorf("reply to a long line: got %q, want %q and EOF", got, models.ErrLineReply)
		}
		other := s.dial(t)
		other.send(t, "still serving\n")
		other.expect(t, "still serving\n")
	}},
	{"a line of exactly the limit is served", func(c *models.Config) { echo(c); c.MaxLine = 64 }, func(t *testing.T, _ models.Model, s *server) {
		c := s.dial(t)
		line := strings.Repeat("y", 63) + "\n"
		c.send(t, line)
		c.expect(t, line)
	}},
	{"100 concurrent greeting clients", nil, func(t *testing.T, _ models.Model, s *server) {
		s.concurrently(t, 100, func(t *testing.T, _ int) {
			if got := s.dialFor(t, crowdPatience).readAll(t); got != models.DefaultGreeting {
				t.Errorf("greeting: got %q", got)
			}
		})
	}},
	{"cpu work answers", func(c *models.Config) { echo(c); c.Work = models.Work{Kind: models.CPU, D: 5 * time.Millisecond} }, func(t *testing.T, _ models.Model, s *server) {
		c := s.dial(t)
		c.send(t, "a\nb\n")
		c.expect(t, "a\nb\n")
	}},
	{"sleep work answers pipelined lines in order", func(c *models.Config) { echo(c); c.Work = models.Work{Kind: models.Sleep, D: 5 * time.Millisecond} }, func(t *testing.T, _ models.Model, s *server) {
		c := s.dial(t)
		c.send(t, "1\n2\n3\n")
		c.expect(t, "1\n2\n3\n")
	}},
	{"greeting with sleep work", func(c *models.Config) { c.Work = models.Work{Kind: models.Sleep, D: 5 * time.Millisecond} }, func(t *testing.T, _ models.Model, s *server) {
		if got := s.greet(t); got != models.DefaultGreeting {
			t.Errorf("greeting: got %q", got)
		}
	}},
}

// echo selects the echo protocol.
func echo(c *models.Config) { c.Proto = models.Echo }

func TestConformance(t *testing.T) {
	if runtime.GOOS != "linux" {
		// Only goroutine serves elsewhere; the others say they need Linux.
		t.Skip("the models need Linux")
	}
	for _, m := range check.Models() {
		t.Run(m.Name, func(t *testing.T) {
			skipUnusable(t, m)
			before := leakcheck.Take(t)
			for _, tc := range conformance {
				t.Run(tc.name, func(t *testing.T) {
					s := start(t, m, tc.cfg)
					tc.run(t, m, s)
					s.stop(t)
				})
			}
			t.Run("sleep work does not block the server", func(t *testing.T) {
				sleepsOverlap(t, m)
			})
			t.Run("graceful shutdown finishes the request in flight", func(t *testing.T) {
				shutdownInFlight(t, m)
			})
			before.Check(t)
		})
	}
}

// sleepsOverlap checks that a request's sleep does not hold up the server:
// by the order of events, not by the clock, so that a busy machine cannot
// fail it. Client a's request begins its sleep (Config.OnWork); then
// client b sends one. A server that serves others while a request sleeps
// begins b's work before a's answer comes back; a serial one never does.
// Should a's sleep end first anyway (b's request took a whole sleep to
// reach its work: a fork child slow to start on a busy machine), the pair
// is tried again, with a fresh pair of clients, up to tries times. A
// serial model is checked the other way: its sleeps follow one another,
// so n of them take at least n sleeps, on any machine.
func sleepsOverlap(t *testing.T, m models.Model) {
	const sleep = 500 * time.Millisecond
	working := make(chan struct{}, 16)
	s := start(t, m, func(c *models.Config) {
		echo(c)
		c.Work = models.Work{Kind: models.Sleep, D: sleep}
		c.OnWork = func() { working <- struct{}{} }
	})
	defer s.stop(t)
	began := func(what string) {
		t.Helper()
		select {
		case <-working:
		case <-time.After(patience):
			t.Fatalf("%s never reached its work", what)
		}
	}
	if m.Serial {
		const n = 3
		start := time.Now()
		s.concurrently(t, n, func(t *testing.T, i int) {
			c := s.dial(t)
			c.send(t, "zz\n")
			c.expect(t, "zz\n")
			c.close()
		})
		for range n {
			began("a request")
		}
		// A lower bound, true on any machine: one at a time.
		if elapsed := time.Since(start); elapsed < n*sleep {
			t.Errorf("serial model served %d sleeps of %v in %v, faster than one at a time", n, sleep, elapsed)
		}
		return
	}
	const tries = 3
	for try := 1; ; try++ {
		a := s.dial(t)
		a.send(t, "a\n")
		began("a's request")
		b := s.dial(t)
		b.send(t, "b\n")
		answered := make(chan error, 1)
		go func() { answered <- a.expectErr("a\n") }()
		select {
		case <-working: // b's work began while a slept
			if err := <-answered; err != nil {
				t.Fatalf("a: %v", err)
			}
			b.expect(t, "b\n")
			return
		case err := <-answered:
			if err != nil {
				t.Fatalf("a: %v", err)
			}
			began("b's request")
			b.expect(t, "b\n")
			if try == tries {
				t.Fatalf("%d times, b's request began its work only after a's answer came back: the sleeps do not overlap", tries)
			}
			t.Logf("try %d: a's sleep of %v ended before b's request reached its work; again", try, sleep)
		}
		a.close()
		b.close()
	}
}

// shutdownInFlight cancels the server while a request sleeps, and checks
// that its answer still arrives, followed by a close.
func shutdownInFlight(t *testing.T, m models.Model) {
	working := make(chan struct{}, 1)
	s := start(t, m, func(c *models.Config) {
		echo(c)
		c.Work = models.Work{Kind: models.Sleep, D: 300 * time.Millisecond}
		c.OnWork = func() { working <- struct{}{} }
	})
	c := s.dial(t)
	c.send(t, "in flight\n")
	var idle *client // connected, no request: closed at once
	if !m.Serial {   // a serial model would never get to it
		idle = s.dial(t)
	}
	select {
	case <-working:
	case <-time.After(patience):
		t.Fatal("the request never reached its work")
	}
	s.run.Cancel()
	if got := c.readAll(t); got != "in flight\n" {
		t.Errorf("answer in flight at shutdown: got %q, want %q and a close", got, "in flight\n")
	}
	if idle != nil {
		// Closed, with FIN if the server had accepted it, with RST if it
		// was still in the accept queue when the listener closed.
		b, err := io.ReadAll(idle.r)
		if len(b) > 0 || err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("idle connection at shutdown: got %q, %v; want a close", b, err)
		}
	}
	s.stop(t)
}

// server is one model serving in the test process.
type server struct {
	addr string             // where it listens
	run  *servetest.Running // the Serve call
}

// start serves m on an ephemeral port of 127.0.0.1 and waits until it is
// ready.
func start(t *testing.T, m models.Model, tweak func(*models.Config)) *server {
	t.Helper()
	cfg := models.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.ShutdownTimeout = patience
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := m.New(cfg)
	if err != nil {
		t.Fatalf("%s: New: %v", m.Name, err)
	}
	r := servetest.Serve(t, srv, patience)
	return &server{addr: r.Addr, run: r}
}

// stop cancels the server and waits for Serve to return nil.
func (s *server) stop(t *testing.T) { s.run.Stop(t) }

// greet connects and reads the whole greeting.
func (s *server) greet(t *testing.T) string {
	t.Helper()
	return s.dial(t).readAll(t)
}

// concurrently runs n clients at once and waits for them all.
func (s *server) concurrently(t *testing.T, n int, client func(t *testing.T, i int)) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client(t, i)
		}()
	}
	wg.Wait()
}

// client is a test connection with a deadline on everything.
type client struct {
	conn *net.TCPConn
	r    *bufio.Reader
}

func (s *server) dial(t *testing.T) *client {
	t.Helper()
	return s.dialFor(t, patience)
}

// dialFor connects with d as the bound on the connect and on the whole
// conversation.
func (s *server) dialFor(t *testing.T, d time.Duration) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.addr, d)
	if err != nil {
		t.Fatalf("dial %s: %v", s.addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(d))
	c := &client{conn: conn.(*net.TCPConn), r: bufio.NewReader(conn)}
	t.Cleanup(c.close)
	return c
}

func (c *client) send(t *testing.T, p string) {
	t.Helper()
	if _, err := c.conn.Write([]byte(p)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// expect reads exactly len(want) bytes and compares them with want.
func (c *client) expect(t *testing.T, want string) {
	t.Helper()
	if err := c.expectErr(want); err != nil {
		t.Fatal(err)
	}
}

// expectErr is expect for a goroutine other than the test's: it returns
// what went wrong.
func (c *client) expectErr(want string) error {
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c.r, got); err != nil {
		return fmt.Errorf("read %d bytes: %v (got %q)", len(want), err, abbrev(got))
	}
	if !bytes.Equal(got, []byte(want)) {
		return fmt.Errorf("got %q, want %q", abbrev(got), abbrev([]byte(want)))
	}
	return nil
}

// readAll reads until the server closes.
func (c *client) readAll(t *testing.T) string {
	t.Helper()
	b, err := io.ReadAll(c.r)
	if err != nil {
		t.Fatalf("read until close: %v (got %q)", err, b)
	}
	return string(b)
}

// reset closes with SO_LINGER 0, which sends RST instead of FIN.
func (c *client) reset(t *testing.T) {
	t.Helper()
	if err := c.conn.SetLinger(0); err != nil {
		t.Fatalf("SetLinger: %v", err)
	}
	c.close()
}

func (c *client) close() { _ = c.conn.Close() }

// isTimeout reports whether err is a deadline that passed.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func abbrev(b []byte) []byte {
	if len(b) > 80 {
		return append(append([]byte{}, b[:80]...), "..."...)
	}
	return b
}
