package reactor_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"iolab/models"
	"iolab/models/internal/leakcheck"
	_ "iolab/models/reactor" // the gnet model, registered
	"iolab/models/servetest"
)

// patience bounds every wait on the server. Nothing waits this long
// unless the model is broken; then the test fails instead of hanging.
const patience = 20 * time.Second

// server is the gnet model serving in the test process, with its log.
type server struct {
	addr  string             // where it listens
	log   *logSink           // its log, decoded
	run   *servetest.Running // the Serve call
	leaks leakcheck.Snapshot // goroutines and descriptors before it started
}

// start serves echo on an ephemeral port of 127.0.0.1, tweaked by tweak,
// and waits until it is ready. stop (or the test's end) stops it and
// checks for leaks.
func start(t *testing.T, tweak func(*models.Config)) *server {
	t.Helper()
	s := &server{log: newLogSink(), leaks: leakcheck.Take(t)}
	cfg := models.DefaultConfig()
	cfg.Addr, cfg.Proto = "127.0.0.1:0", models.Echo
	cfg.ShutdownTimeout = patience
	cfg.Log = zerolog.New(s.log).Level(zerolog.DebugLevel)
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := models.New("gnet", cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	// Registered before Serve's own cleanup and any client's, so it runs
	// after the server has stopped and the clients are closed.
	t.Cleanup(func() { s.leaks.Check(t) })
	s.run = servetest.Serve(t, srv, patience)
	s.addr = s.run.Addr
	return s
}

// stop cancels the server and waits for Serve to return nil. The test's
// end checks that it left no goroutine or descriptor behind.
func (s *server) stop(t *testing.T) { s.run.Stop(t) }

// dial connects to the server, with a deadline on everything; the test's
// end closes the connection.
func (s *server) dial(t *testing.T) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.addr, patience)
	if err != nil {
		t.Fatalf("dial %s: %v", s.addr, err)
	}
	_ = c.SetDeadline(time.Now().Add(patience))
	t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

// kernelHolds measures how much a loopback TCP connection with the
// system's default buffers takes from a writer while its reader does not
// read: what the kernel holds between the model and a client that does
// not read, before the model's own buffers start to fill.
func kernelHolds(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	reader, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	writer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	took, chunk := 0, make([]byte, 64<<10)
	for {
		// A write that takes nothing for this long has met a full socket.
		_ = writer.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := writer.Write(chunk)
		took += n
		if err != nil {
			t.Logf("the kernel holds %.1f MiB for a client that does not read", float64(took)/(1<<20))
			return took
		}
	}
}

// echo sends line and expects it back.
func echo(t *testing.T, c net.Conn, line string) {
	t.Helper()
	if _, err := c.Write([]byte(line)); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, len(line))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != line {
		t.Fatalf("echo: got %q, %v; want %q", got, err, line)
	}
}

// firstDiff returns the index of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// logSink keeps the server's log lines, decoded, and wakes waiters when
// one arrives.
type logSink struct {
	mu     sync.Mutex
	events []models.Event
	taken  map[int]bool  // events waitFor has returned
	more   chan struct{} // closed and replaced when an event arrives
}

func newLogSink() *logSink { return &logSink{taken: map[int]bool{}, more: make(chan struct{})} }

// Write decodes one line of zerolog output.
func (l *logSink) Write(p []byte) (int, error) {
	var e models.Event
	if err := json.Unmarshal(p, &e); err != nil {
		return 0, fmt.Errorf("log line %q: %w", p, err)
	}
	l.mu.Lock()
	l.events = append(l.events, e)
	close(l.more)
	l.more = make(chan struct{})
	l.mu.Unlock()
	return len(p), nil
}

// waitFor returns the first event matching ok that it has not returned
// before, waiting for it if need be.
func (l *logSink) waitFor(t *testing.T, ok func(models.Event) bool) models.Event {
	t.Helper()
	deadline := time.After(patience)
	for {
		l.mu.Lock()
		for i, e := range l.events {
			if !l.taken[i] && ok(e) {
				l.taken[i] = true
				l.mu.Unlock()
				return e
			}
		}
		more := l.more
		l.mu.Unlock()
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("no such event in the log after %v", patience)
		}
	}
}

// count returns how many events named name were logged.
func (l *logSink) count(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e.Event == name {
			n++
		}
	}
	return n
}
