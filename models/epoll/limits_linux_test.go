//go:build linux

package epoll_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"iolab/models"
	_ "iolab/models/epoll" // the epoll model, registered
	"iolab/models/internal/leakcheck"
	"iolab/models/servetest"
)

// patience bounds every wait on the server. Nothing waits this long
// unless the model is broken; then the test fails instead of hanging.
const patience = 10 * time.Second

// TestMaxConns: at the limit the loop stops accepting, a third client
// waits in the accept queue, and is accepted once one of the first two
// closes; the log says when the limit is reached and left.
func TestMaxConns(t *testing.T) {
	s := serve(t, func(c *models.Config) { c.MaxConns = 2 })
	a := s.dial(t)
	a.echo(t, "a\n")
	b := s.dial(t)
	b.echo(t, "b\n")
	reached := s.log.waitFor(t, models.EventLimitReached, is(models.EventLimitReached))
	if reached.Open != 2 || reached.MaxConns != 2 {
		t.Errorf("max_conns_reached: open %d, max_conns %d; want 2, 2", reached.Open, reached.MaxConns)
	}

	c := s.dial(t) // the handshake completes in the kernel: c waits in the accept queue
	c.send(t, "c\n")
	// A window to look through, not synchronisation: while a and b are
	// open, c must not be answered.
	_ = c.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := c.conn.Read(make([]byte, 2)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("third client at a limit of 2: read %d bytes, %v; want no answer", n, err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(patience))

	a.conn.Close()
	left := s.log.waitFor(t, models.EventLimitLeft, is(models.EventLimitLeft))
	if left.Open != 1 || left.MaxConns != 2 {
		t.Errorf("max_conns_left: open %d, max_conns %d; want 1, 2", left.Open, left.MaxConns)
	}
	c.expect(t, "c\n")
	b.echo(t, "b again\n")
	s.log.waitForNth(t, "a second max_conns_reached", 2, is(models.EventLimitReached))
	s.stop(t)

	// In the log: c (conn 3) was accepted after a (conn 1) closed, and the
	// limit was reached, left, and reached again.
	var limits []string
	closed1, opened3 := -1, -1
	for i, l := range s.log.all() {
		switch e := l.Event; {
		case e.Event == models.EventLimitReached || e.Event == models.EventLimitLeft:
			limits = append(limits, fmt.Sprintf("%s(%d/%d)", e.Event, e.Open, e.MaxConns))
		case e.Event == models.EventConnClose && e.Conn == 1:
			closed1 = i
		case e.Event == models.EventConnOpen && e.Conn == 3:
			opened3 = i
		}
	}
	if closed1 < 0 || opened3 < closed1 {
		t.Errorf("conn 1 closed at log line %d, conn 3 opened at %d; want the close first", closed1, opened3)
	}
	want := "max_conns_reached(2/2) max_conns_left(1/2) max_conns_reached(2/2)"
	if got := strings.Join(limits, " "); got != want {
		t.Errorf("limit events: got %s, want %s", got, want)
	}
}

// TestSlowloris: a client that sends a byte every 50 ms and never a
// newline is closed as request_timeout, although each byte keeps it from
// being idle, while another client is served throughout.
func TestSlowloris(t *testing.T) {
	const requestTimeout = 300 * time.Millisecond
	s := serve(t, func(c *models.Config) { c.RequestTimeout = requestTimeout })
	normal := s.dial(t)
	normal.echo(t, "before\n")
	slow := s.dial(t)
	start := time.Now()

	stop := make(chan struct{})
	wrote := make(chan struct{})
	go func() { // one byte every 50 ms, until the server closes or the test ends
		defer close(wrote)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := slow.conn.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	closedAt := make(chan time.Time, 1)
	go func() {
		_, _ = io.Copy(io.Discard, slow.conn) // until EOF or a reset
		closedAt <- time.Now()
	}()

	served := 0
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var closed time.Time
	for closed.IsZero() {
		select {
		case closed = <-closedAt:
		case <-tick.C:
			normal.echo(t, fmt.Sprintf("line %d\n", served))
			served++
		}
	}
	close(stop)
	<-wrote
	normal.echo(t, "after\n")

	ev := s.log.waitFor(t, "the slow client's close", closeOf(2))
	if ev.Reason != models.ReasonRequestTimeout.String() {
		t.Errorf("slow client closed as %q, want %q", ev.Reason, models.ReasonRequestTimeout)
	}
	if ev.BytesIn < 2 {
		t.Errorf("slow client: the server read %d bytes, want several", ev.BytesIn)
	}
	// The first byte left at start+50ms: never closed before the timeout.
	// The upper bound is loose, for a busy machine; the idle timeout (60 s)
	// is far beyond it.
	if took := closed.Sub(start); took < requestTimeout || took > 10*requestTimeout {
		t.Errorf("slow client closed %v after it connected, want between %v and %v", took, requestTimeout, 10*requestTimeout)
	}
	if served == 0 {
		t.Error("the normal client was not served while the slow one was open")
	}
	t.Logf("slow client closed after %v; normal client served %d lines meanwhile", closed.Sub(start), served)
}

// TestRequestClockPerLine: the request timeout bounds each line, not the
// connection. A client whose every line takes 60 ms to arrive, in pieces
// that end mid-line, is served for longer than three request timeouts.
func TestRequestClockPerLine(t *testing.T) {
	const requestTimeout = 600 * time.Millisecond
	s := serve(t, func(c *models.Config) { c.RequestTimeout = requestTimeout })
	c := s.dial(t)
	var lines []string
	for i := range 32 {
		lines = append(lines, fmt.Sprintf("line %02d\n", i))
	}
	// Pieces: the end of one line and the start of the next.
	pieces := []string{lines[0][:4]}
	for i := 1; i < len(lines); i++ {
		pieces = append(pieces, lines[i-1][4:]+lines[i][:4])
	}
	pieces = append(pieces, lines[len(lines)-1][4:])
	tick := time.NewTicker(60 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for _, p := range pieces {
		<-tick.C // pacing the client, not synchronisation
		c.send(t, p)
	}
	c.expect(t, strings.Join(lines, ""))
	c.echo(t, "still open\n")
	if took := time.Since(start); took < 3*requestTimeout {
		t.Fatalf("the client took %v, not longer than 3 request timeouts: the test proves nothing", took)
	}
}

// TestTrickleReaderWriteTimeout: a client that reads its 4 MB answer at
// some 800 KB/s takes it in pieces, and every piece is a partial write,
// yet the answer gets one deadline: IdleTimeout after it was offered.
func TestTrickleReaderWriteTimeout(t *testing.T) {
	const idle = time.Second
	s := serve(t, func(c *models.Config) { c.IdleTimeout, c.MaxLine = idle, 8<<20 })
	dialed := time.Now()
	c := s.dialWith(t, func(fd int) error {
		// An Ethernet-sized segment, as on a real network: loopback's
		// 64 KB one would let the kernel grow the server's send buffer to
		// 4 MB (tcp_wmem), which would take the whole answer off the
		// server's hands at once, in one write. And a fixed receive
		// buffer, which the kernel cannot grow either.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_MAXSEG, 1400); err != nil {
			return err
		}
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 64<<10)
	})
	line := append(bytes.Repeat([]byte("t"), 4<<20-1), '\n')
	sent := make(chan struct{})
	go func() { // two 4 MB lines; ends when the server or the test closes
		defer close(sent)
		for range 2 {
			if _, err := c.conn.Write(line); err != nil {
				return
			}
		}
	}()

	firstRead := make(chan time.Time, 1)
	stop := make(chan struct{})
	read := make(chan [2]int64, 1)
	go func() { // 32 KB every 40 ms
		var total, reads int64
		defer func() { read <- [2]int64{total, reads} }()
		buf := make([]byte, 32<<10)
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			n, err := c.conn.Read(buf)
			if total == 0 && n > 0 {
				firstRead <- time.Now()
			}
			if n > 0 {
				total, reads = total+int64(n), reads+1
			}
			if err != nil {
				return
			}
		}
	}()

	ev := s.log.waitFor(t, "the trickle reader's close", closeOf(1))
	close(stop)
	c.conn.Close()
	<-sent
	got := <-read
	if ev.Reason != models.ReasonWriteTimeout.String() {
		t.Fatalf("trickle reader closed as %q, want %q", ev.Reason, models.ReasonWriteTimeout)
	}
	// The answer was offered before its first byte was read, and at or
	// after the dial.
	var offeredBy time.Time
	select {
	case offeredBy = <-firstRead:
	default:
		t.Fatal("the trickle reader read nothing")
	}
	if took := ev.at.Sub(offeredBy); took >= idle*18/10 {
		t.Errorf("closed %v after the first byte of the answer was read, want under 1.8 x %v", took, idle)
	}
	if took := ev.at.Sub(dialed); took < idle {
		t.Errorf("closed %v after the dial, before the write timeout %v", took, idle)
	}
	t.Logf("closed %v after the first read, %v after the dial; the client had read %d bytes in %d reads",
		ev.at.Sub(offeredBy), ev.at.Sub(dialed), got[0], got[1])
}

// TestNeverReads: a client that pipelines lines and never reads its
// answers is closed as write_timeout, and the server has held no more of
// its input than one LineBuffer, within OutputCap.
func TestNeverReads(t *testing.T) {
	s := serve(t, func(c *models.Config) { c.IdleTimeout = 300 * time.Millisecond })
	c := s.dial(t)
	sent := make(chan struct{})
	go func() { // 1000-byte lines until the server or the test closes
		defer close(sent)
		chunk := bytes.Repeat(append(bytes.Repeat([]byte("n"), 999), '\n'), 64)
		for {
			if _, err := c.conn.Write(chunk); err != nil {
				return
			}
		}
	}()
	ev := s.log.waitFor(t, "the client's close", closeOf(1))
	c.conn.Close()
	<-sent
	if ev.Reason != models.ReasonWriteTimeout.String() {
		t.Errorf("closed as %q, want %q", ev.Reason, models.ReasonWriteTimeout)
	}
	held := ev.BytesIn - ev.BytesOut
	if limit := int64(s.cfg.MaxLine); held > limit || held > int64(s.cfg.OutputCap()) {
		t.Errorf("read %d bytes and wrote %d: %d held, want at most MaxLine %d (OutputCap %d)",
			ev.BytesIn, ev.BytesOut, held, limit, s.cfg.OutputCap())
	}
	t.Logf("read %d, wrote %d, held %d when closed", ev.BytesIn, ev.BytesOut, held)
}

// TestHalfClose: after the client's FIN, every line it sent is answered
// before the close, with megabytes in flight.
func TestHalfClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		work models.Work
		line int // bytes, newline included
	}{
		{"no work, 64-byte lines", models.Work{}, 64},
		{"sleep 1ms, 4 KB lines", models.Work{Kind: models.Sleep, D: time.Millisecond}, 4 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := serve(t, func(c *models.Config) { c.Work = tc.work })
			var in bytes.Buffer
			for i := 0; in.Len() < 4<<20; i++ {
				fmt.Fprintf(&in, "%08d ", i)
				in.Write(bytes.Repeat([]byte{'a' + byte(i%26)}, tc.line-10))
				in.WriteByte('\n')
			}
			c := s.dial(t)
			_ = c.conn.SetDeadline(time.Now().Add(6 * patience)) // 1024 sleeps on a busy machine
			wrote := make(chan error, 1)
			go func() {
				_, err := c.conn.Write(in.Bytes())
				if err == nil {
					err = c.conn.CloseWrite()
				}
				wrote <- err
			}()
			got, err := io.ReadAll(c.conn)
			if werr := <-wrote; werr != nil {
				t.Fatalf("write, then shutdown(SHUT_WR): %v", werr)
			}
			if err != nil {
				t.Fatalf("read after %d bytes: %v", len(got), err)
			}
			if gotLines, wantLines := bytes.Count(got, []byte("\n")), bytes.Count(in.Bytes(), []byte("\n")); gotLines != wantLines || !bytes.Equal(got, in.Bytes()) {
				t.Fatalf("got %d bytes, %d lines, want %d bytes, %d lines, the same", len(got), gotLines, in.Len(), wantLines)
			}
			ev := s.log.waitFor(t, "the close", closeOf(1))
			if ev.Reason != models.ReasonEOF.String() || ev.BytesOut != int64(in.Len()) {
				t.Errorf("close: %s with %d bytes out, want eof with %d", ev.Reason, ev.BytesOut, in.Len())
			}
		})
	}
}

// TestFewFDs runs the model in a child process that may open only 64
// files, and connects more clients than that. With the default limit (the
// open-file limit less a reserve, 48 here) the loop stops accepting before
// accept(2) can fail: the clients past it wait in the accept queue. With a
// limit above what the process can open, accept fails with EMFILE, and
// the loop pauses instead of spinning. Either way the last client is
// served once others leave.
func TestFewFDs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	t.Run("default limit", func(t *testing.T) {
		log := fewFDs(t, 0, func(log *eventLog) {
			ev := log.waitFor(t, models.EventLimitReached, is(models.EventLimitReached))
			if want := childFDLimit - childFDLimit/4; ev.Open != want || ev.MaxConns != want {
				t.Errorf("max_conns_reached: open %d, max_conns %d; want %d, %d", ev.Open, ev.MaxConns, want, want)
			}
		})
		log.waitFor(t, models.EventLimitLeft, is(models.EventLimitLeft))
		if n := log.count(is(models.EventAcceptError)); n > 0 {
			t.Errorf("%d accept errors under the limit, want none", n)
		}
	})
	t.Run("limit past the open files", func(t *testing.T) {
		log := fewFDs(t, 1000, func(log *eventLog) {
			log.waitFor(t, models.EventAcceptError, is(models.EventAcceptError))
		})
		if n := log.count(is(models.EventLimitReached)); n > 0 {
			t.Errorf("%d max_conns_reached with a limit of 1000, want none", n)
		}
	})
}

// The child side of TestFewFDs.
const (
	childEnv      = "IOLAB_TEST_EPOLL_MAX_CONNS"
	childFDLimit  = 64
	childClients  = childFDLimit + 16
	childReleases = 32
)

// fewFDs starts the child with the given MaxConns, connects childClients
// clients, calls waiting once they are connected, checks that the child
// does not spin, releases childReleases of them, and checks that the last
// is served. It returns the child's log.
func fewFDs(t *testing.T, maxConns int, waiting func(*eventLog)) *eventLog {
	before := leakcheck.Take(t)
	t.Cleanup(func() { before.Check(t) })
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServeWithFewFDs$")
	cmd.Env = append(os.Environ(), childEnv+"="+strconv.Itoa(maxConns))
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
	log := newEventLog()
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			_, _ = log.Write(sc.Bytes())
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("child: %v\n%s", err, log)
			}
		case <-time.After(patience):
			cmd.Process.Kill()
			<-exited
			t.Errorf("child did not stop when its stdin closed")
		}
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("child address: %v", err)
	}
	s := &server{addr: strings.TrimSpace(addr), log: log}

	var clients []*client
	for range childClients {
		clients = append(clients, s.dial(t))
	}
	clients[0].echo(t, "first\n")
	waiting(log)

	// Not spinning: over half a second of wall time the child may use a
	// little CPU, not the whole half second.
	before0 := cpuTicks(t, cmd.Process.Pid)
	time.Sleep(500 * time.Millisecond) // a measuring window, not synchronisation
	if used := cpuTicks(t, cmd.Process.Pid) - before0; used > 15 {
		t.Errorf("child used %d clock ticks of CPU in 0.5 s while its clients waited: spinning", used)
	}

	for _, c := range clients[:childReleases] {
		c.conn.Close()
	}
	clients[len(clients)-1].echo(t, "late\n")
	return log
}

// TestHelperServeWithFewFDs is the child of TestFewFDs; it does nothing in
// a normal test run.
func TestHelperServeWithFewFDs(t *testing.T) {
	env := os.Getenv(childEnv)
	if env == "" {
		t.Skip("child process helper")
	}
	maxConns, err := strconv.Atoi(env)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: childFDLimit, Max: childFDLimit}); err != nil {
		t.Fatal(err)
	}
	cfg := models.DefaultConfig()
	cfg.Addr, cfg.Proto, cfg.MaxConns = "127.0.0.1:0", models.Echo, maxConns
	cfg.Log = zerolog.New(os.Stderr).Level(zerolog.InfoLevel)
	srv, err := models.New("epoll", cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
		cancel()
	}()
	if err := srv.Serve(ctx, func(a net.Addr) { fmt.Println(a.String()) }); err != nil {
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
	// After the command name, in parentheses: state is field 3, utime 14,
	// stime 15.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.Atoi(fields[11])
	stime, _ := strconv.Atoi(fields[12])
	return utime + stime
}

// server is the epoll model serving in the test process, logging at debug
// level into log.
type server struct {
	addr string             // where it listens
	cfg  models.Config      // what it was told
	log  *eventLog          // its log, decoded
	run  *servetest.Running // the Serve call
}

// serve starts the model on an ephemeral port of 127.0.0.1, speaking echo,
// with tweak applied to its config. It checks for leaks when the test
// ends, after every other cleanup.
func serve(t *testing.T, tweak func(*models.Config)) *server {
	t.Helper()
	before := leakcheck.Take(t)
	t.Cleanup(func() { before.Check(t) })
	cfg := models.DefaultConfig()
	cfg.Addr, cfg.Proto, cfg.ShutdownTimeout = "127.0.0.1:0", models.Echo, patience
	log := newEventLog()
	cfg.Log = zerolog.New(log).Level(zerolog.DebugLevel)
	tweak(&cfg)
	srv, err := models.New("epoll", cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := servetest.Serve(t, srv, patience)
	return &server{addr: r.Addr, cfg: cfg, log: log, run: r}
}

// stop cancels the server and waits for Serve to return nil.
func (s *server) stop(t *testing.T) { s.run.Stop(t) }

// client is a test connection with a deadline on everything.
type client struct {
	conn *net.TCPConn
	r    *bufio.Reader
}

func (s *server) dial(t *testing.T) *client { return s.dialWith(t, nil) }

// dialWith connects, calling control (if not nil) on the socket before
// connect(2).
func (s *server) dialWith(t *testing.T, control func(fd int) error) *client {
	t.Helper()
	d := net.Dialer{Timeout: patience}
	if control != nil {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var cerr error
			if err := rc.Control(func(fd uintptr) { cerr = control(int(fd)) }); err != nil {
				return err
			}
			return cerr
		}
	}
	conn, err := d.Dial("tcp", s.addr)
	if err != nil {
		t.Fatalf("dial %s: %v", s.addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(patience))
	c := &client{conn: conn.(*net.TCPConn), r: bufio.NewReader(conn)}
	t.Cleanup(func() { c.conn.Close() })
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
	got := make([]byte, len(want))
	if n, err := io.ReadFull(c.r, got); err != nil {
		t.Fatalf("read %d bytes: %v after %d", len(want), err, n)
	}
	if string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// echo sends line and expects it back.
func (c *client) echo(t *testing.T, line string) {
	t.Helper()
	c.send(t, line)
	c.expect(t, line)
}

// eventLog is a zerolog writer that decodes each line it is given into a
// models.Event, and lets a test wait for one.
type eventLog struct {
	mu      sync.Mutex
	events  []logged
	changed chan struct{} // closed, and replaced, when an event is added
}

// logged is an event and when it was written.
type logged struct {
	models.Event
	at time.Time
}

func newEventLog() *eventLog { return &eventLog{changed: make(chan struct{})} }

// Write decodes one log line; zerolog writes each event in one call.
func (l *eventLog) Write(p []byte) (int, error) {
	var e models.Event
	if err := json.Unmarshal(p, &e); err != nil {
		return 0, fmt.Errorf("log line %q: %w", p, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, logged{Event: e, at: time.Now()})
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// waitFor returns the first event logged for which match is true,
// waiting up to patience for it.
func (l *eventLog) waitFor(t *testing.T, what string, match func(models.Event) bool) logged {
	t.Helper()
	return l.waitForNth(t, what, 1, match)
}

// waitForNth returns the nth event logged for which match is true,
// waiting up to patience for it.
func (l *eventLog) waitForNth(t *testing.T, what string, n int, match func(models.Event) bool) logged {
	t.Helper()
	deadline := time.After(patience)
	for {
		l.mu.Lock()
		seen := 0
		for _, e := range l.events {
			if match(e.Event) {
				if seen++; seen == n {
					l.mu.Unlock()
					return e
				}
			}
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no %s in the log after %v:\n%s", what, patience, l)
		}
	}
}

// count returns how many events logged match.
func (l *eventLog) count(match func(models.Event) bool) int {
	n := 0
	for _, e := range l.all() {
		if match(e.Event) {
			n++
		}
	}
	return n
}

// all returns a copy of the events logged so far.
func (l *eventLog) all() []logged {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]logged(nil), l.events...)
}

// String lists the events, for failure messages.
func (l *eventLog) String() string {
	var b strings.Builder
	for _, e := range l.all() {
		fmt.Fprintf(&b, "%s conn=%d open=%d max=%d reason=%q error=%q\n", e.Event.Event, e.Conn, e.Open, e.MaxConns, e.Reason, e.Error)
	}
	return b.String()
}

// is matches the events called name.
func is(name string) func(models.Event) bool {
	return func(e models.Event) bool { return e.Event == name }
}

// closeOf matches the close of connection id.
func closeOf(id uint64) func(models.Event) bool {
	return func(e models.Event) bool { return e.Event == models.EventConnClose && e.Conn == id }
}
