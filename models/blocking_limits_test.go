package models_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"iolab/models"
	"iolab/models/internal/leakcheck"
)

// blockingModels are the models that park a thread or a goroutine per
// connection and hold the conversation in models.Converse.
var blockingModels = []string{"sequential", "threads", "goroutine"}

// blockingLimits is the table of the limits those models must hold. Each
// case starts its own server, logging to an eventLog.
var blockingLimits = []struct {
	name string
	run  func(t *testing.T, m models.Model)
}{
	{"max conns: clients past the limit wait in the accept queue", maxConnsWait},
	{"request timeout: a slowloris is closed, a whole line is served", requestTimeout},
	{"write timeout: a trickle reader is closed after one timeout", trickleReader},
	{"half-close: every answer is written before the close", halfClose},
}

func TestBlockingLimits(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("sequential and threads need Linux")
	}
	for _, name := range blockingModels {
		m, err := models.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			before := leakcheck.Take(t)
			for _, tc := range blockingLimits {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, m) })
			}
			before.Check(t)
		})
	}
}

// maxConnsWait serves with MaxConns 2 and checks that a third client is
// accepted only once one of the first two has closed, and that the log
// says max_conns_reached, then max_conns_left, in that order around the
// close. The sequential model serves one client at a time, so it never
// has two open: its second client waits instead, and it never reaches the
// limit.
func maxConnsWait(t *testing.T, m models.Model) {
	log := newEventLog()
	s := start(t, m, func(c *models.Config) {
		echo(c)
		c.MaxConns = 2
		c.Log = log.logger()
	})
	served := 2
	if m.Serial {
		served = 1
	}
	var open []*client
	for i := range served {
		c := s.dial(t)
		line := fmt.Sprintf("client %d\n", i+1)
		c.send(t, line)
		c.expect(t, line)
		open = append(open, c)
	}
	if !m.Serial {
		// The acceptor asks for a third slot as soon as it has handed the
		// second connection over, and finds none.
		e := log.wait(t, models.EventLimitReached, func(e models.Event) bool { return e.Event == models.EventLimitReached })
		if e.Open != 2 || e.MaxConns != 2 {
			t.Errorf("max_conns_reached: open %d, max_conns %d; want 2, 2", e.Open, e.MaxConns)
		}
	}
	late := s.dial(t) // completes its handshake into the accept queue
	late.send(t, "late\n")
	// A window to see that it is not served, not a synchronisation: the
	// acceptor is already waiting for a slot, or serving the first client.
	_ = late.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if b, err := late.r.ReadByte(); !isTimeout(err) {
		t.Fatalf("client past the limit: read %q, %v; want nothing until a slot frees", b, err)
	}
	_ = late.conn.SetReadDeadline(time.Now().Add(patience))
	open[0].close()
	late.expect(t, "late\n")

	log.wait(t, "the late client's conn_open", isOpen(late))
	events := log.all()
	closed := index(events, isClose(open[0]))
	opened := index(events, isOpen(late))
	if closed < 0 || opened < closed {
		t.Errorf("the late client opened at event %d, before the first client closed (event %d)", opened, closed)
	}
	reached := index(events, func(e models.Event) bool { return e.Event == models.EventLimitReached })
	left := index(events, func(e models.Event) bool { return e.Event == models.EventLimitLeft })
	if m.Serial {
		if reached >= 0 || left >= 0 {
			t.Errorf("a serial model logged a limit of 2 reached (event %d) or left (event %d); it never has two open", reached, left)
		}
		return
	}
	if !(reached < closed && closed < left && left < opened) {
		t.Errorf("events out of order: max_conns_reached %d, first conn_close %d, max_conns_left %d, late conn_open %d; want them in that order",
			reached, closed, left, opened)
	}
	if left >= 0 {
		if e := events[left]; e.Open != 1 || e.MaxConns != 2 {
			t.Errorf("max_conns_left: open %d, max_conns %d; want 1, 2", e.Open, e.MaxConns)
		}
	}
}

// requestTimeout sends a slowloris, a byte every 50 ms and never a
// newline, which the idle timeout alone would never close, beside a
// client that sends whole lines. The slowloris must be closed as
// request_timeout about RequestTimeout after its first byte; the other is
// served.
func requestTimeout(t *testing.T, m models.Model) {
	const requestTimeout = 300 * time.Millisecond
	log := newEventLog()
	s := start(t, m, func(c *models.Config) {
		echo(c)
		c.RequestTimeout = requestTimeout
		c.IdleTimeout = 5 * time.Second // longer than the test: only the request timeout can fire
		c.Log = log.logger()
	})

	slow := s.dial(t)
	began := time.Now()
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := slow.conn.Write([]byte("s")); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	defer func() { close(stop); <-sent }()

	// The other client; the sequential model serves it once the slowloris
	// is gone.
	good := s.dial(t)
	good.send(t, "whole line\n")
	good.expect(t, "whole line\n")

	e := log.wait(t, "the slowloris's conn_close", isClose(slow))
	took := time.Since(began)
	if e.Reason != models.ReasonRequestTimeout.String() {
		t.Errorf("slowloris closed as %q, want %q", e.Reason, models.ReasonRequestTimeout)
	}
	if took < requestTimeout || took > 5*time.Second {
		t.Errorf("slowloris closed %v after its first byte, want about %v", took, requestTimeout)
	}
	// It sees the close: EOF, or a reset if a byte of it was still unread.
	if b, err := io.ReadAll(slow.r); len(b) > 0 || err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("slowloris after the timeout: read %q, %v; want a close", b, err)
	}
	// And the good client is still served after it.
	good.send(t, "again\n")
	good.expect(t, "again\n")
}

// trickleReader sends one 8 MB line and then reads its echo a little at a
// time, far too slowly to take it within IdleTimeout. The write timeout is
// one deadline for the whole answer, so the server must close it about
// IdleTimeout after it began to write, not restart the timeout each time
// the client takes a few bytes.
func trickleReader(t *testing.T, m models.Model) {
	const (
		idle = 2 * time.Second
		size = 8 << 20
	)
	log := newEventLog()
	s := start(t, m, func(c *models.Config) {
		echo(c)
		c.MaxLine = size + 1
		c.IdleTimeout = idle
		c.Log = log.logger()
	})
	c := s.dial(t)
	line := bytes.Repeat([]byte("t"), size)
	line[size-1] = '\n'
	// The whole line is in by the time the write returns, give or take
	// what the server has not read yet, so the server starts its answer
	// after this: the elapsed time measured from here is an upper bound.
	wrote := make(chan time.Time, 1)
	go func() {
		_, err := c.conn.Write(line)
		if err != nil {
			t.Errorf("write: %v", err)
		}
		wrote <- time.Now()
	}()
	// Read 4 KB every 20 ms: 200 KB/s, 40 s for the whole answer. After
	// each read, look for the close in the log.
	buf := make([]byte, 4<<10)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	giveUp := time.After(patience)
	var began time.Time
	for {
		select {
		case began = <-wrote:
			continue
		case <-giveUp:
			t.Fatalf("trickle reader still open after %v", patience)
		case <-tick.C:
		}
		if _, err := c.conn.Read(buf); err != nil && began.IsZero() {
			t.Fatalf("trickle read: %v", err)
		}
		if _, found := log.find(isClose(c)); found && !began.IsZero() {
			break
		}
	}
	took := time.Since(began)
	e, _ := log.find(isClose(c))
	if e.Reason != models.ReasonWriteTimeout.String() {
		t.Errorf("trickle reader closed as %q, want %q", e.Reason, models.ReasonWriteTimeout)
	}
	// One deadline closes it at idle, two (a deadline restarted once) at
	// 2 idle or later, and one restarted at every read never. 1.9 idle
	// leaves a busy machine 0.9 idle (1.8 s) of delay, and still tells
	// one from two.
	if limit := idle * 19 / 10; took > limit {
		t.Errorf("trickle reader closed %v after its answer began, want under %v (IdleTimeout %v)", took, limit, idle)
	}
	if took < idle*9/10 {
		t.Errorf("trickle reader closed %v after its answer began, before the timeout %v", took, idle)
	}
	t.Logf("closed %v after the answer began; %d of %d bytes written", took, e.BytesOut, size)
}

// halfClose sends about 4 MB of lines, shuts down its write side at once,
// and only then finds every answer waiting: after the client's FIN the
// server must still write the answer to every whole line it received,
// then close. The client reads while it writes, as it must: a blocking
// server stops reading while its answers back up.
func halfClose(t *testing.T, m models.Model) {
	log := newEventLog()
	s := start(t, m, func(c *models.Config) {
		echo(c)
		c.Log = log.logger()
	})
	var want bytes.Buffer
	for i := 0; want.Len() < 4<<20; i++ {
		fmt.Fprintf(&want, "half-close line %07d %s\n", i, strings.Repeat("x", i%97))
	}
	c := s.dial(t)
	wrote := make(chan error, 1)
	go func() {
		_, err := c.conn.Write(want.Bytes())
		if err == nil {
			err = c.conn.CloseWrite()
		}
		wrote <- err
	}()
	got, err := io.ReadAll(c.r)
	if err != nil {
		t.Fatalf("read until close: %v (got %d bytes)", err, len(got))
	}
	if err := <-wrote; err != nil {
		t.Fatalf("write and shutdown: %v", err)
	}
	if len(got) != want.Len() {
		t.Errorf("got %d bytes back, sent %d", len(got), want.Len())
	}
	if !bytes.Equal(got, want.Bytes()) {
		i := 0
		for i < len(got) && i < want.Len() && got[i] == want.Bytes()[i] {
			i++
		}
		t.Errorf("answers differ from the lines from byte %d", i)
	}
	e := log.wait(t, "the close", isClose(c))
	if e.Reason != models.ReasonEOF.String() || e.BytesOut != int64(want.Len()) {
		t.Errorf("close event: reason %q, bytes_out %d; want %q, %d", e.Reason, e.BytesOut, models.ReasonEOF, want.Len())
	}
}

// eventLog is a model's log, decoded as it is written, that a test can
// wait on. zerolog writes each event with one Write.
type eventLog struct {
	mu     sync.Mutex
	events []models.Event
	added  chan struct{} // closed, and replaced, whenever an event arrives
}

func newEventLog() *eventLog { return &eventLog{added: make(chan struct{})} }

// logger returns a debug-level logger writing to l.
func (l *eventLog) logger() zerolog.Logger {
	return zerolog.New(l).Level(zerolog.DebugLevel).With().Timestamp().Logger()
}

func (l *eventLog) Write(p []byte) (int, error) {
	var e models.Event
	if err := json.Unmarshal(p, &e); err != nil {
		return 0, fmt.Errorf("log line %q: %w", p, err)
	}
	l.mu.Lock()
	l.events = append(l.events, e)
	close(l.added)
	l.added = make(chan struct{})
	l.mu.Unlock()
	return len(p), nil
}

// find returns the first event so far that matches, if any.
func (l *eventLog) find(match func(models.Event) bool) (models.Event, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if match(e) {
			return e, true
		}
	}
	return models.Event{}, false
}

// isOpen and isClose match the open and the close event of c's
// connection. They go by the client's address: the models number
// connections as they start serving them, on many threads at once, so
// the numbers need not follow the order of connect.
func isOpen(c *client) func(models.Event) bool  { return isEvent(models.EventConnOpen, c) }
func isClose(c *client) func(models.Event) bool { return isEvent(models.EventConnClose, c) }

func isEvent(name string, c *client) func(models.Event) bool {
	remote := c.conn.LocalAddr().String()
	return func(e models.Event) bool { return e.Event == name && e.Remote == remote }
}

// all returns the events so far, in the order they were written.
func (l *eventLog) all() []models.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]models.Event(nil), l.events...)
}

// wait returns the first event that matches, waiting up to patience for
// it; what names it in the failure.
func (l *eventLog) wait(t *testing.T, what string, match func(models.Event) bool) models.Event {
	t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	seen := 0
	for {
		l.mu.Lock()
		events, added := l.events[seen:], l.added
		seen = len(l.events)
		l.mu.Unlock()
		for _, e := range events {
			if match(e) {
				return e
			}
		}
		select {
		case <-added:
		case <-deadline.C:
			t.Fatalf("%s: not in the log after %v", what, patience)
		}
	}
}

// index returns the position of the first event that matches, or -1.
func index(events []models.Event, match func(models.Event) bool) int {
	for i, e := range events {
		if match(e) {
			return i
		}
	}
	return -1
}
