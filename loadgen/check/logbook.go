package check

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"iolab/models"
)

// logbook is what a server wrote on its standard output and error: for
// one of iolab's models its JSON events, decoded, with a running tally of
// them; for any other server, its lines, kept for what a failure quotes
// (a Python traceback, a Go runtime's fatal error).
type logbook struct {
	events bool // decode events: the server is one of iolab's models

	mu      sync.Mutex
	logged  []models.Event
	other   []string      // lines that are not events
	count   tally         // the running tally of events
	changed chan struct{} // closed, and replaced, when a line arrives
	closed  bool          // the server's stderr has ended
}

// tally counts a server's events as they arrive, so that waiting for a
// condition costs nothing per line.
type tally struct {
	start, stop   *models.Event
	opens, closes int
	reasons       map[string]int // closes by reason
	acceptErrors  int
	limitReached  int
	limitLeft     int
	usage         int
	childExits    int
}

func newLogbook(events bool) *logbook {
	return &logbook{events: events, changed: make(chan struct{}), count: tally{reasons: map[string]int{}}}
}

// maxOther bounds the lines kept that are not events: a server that
// prints a line per client would otherwise grow the checker's memory
// with every one. The last ones are kept, where a traceback ends.
const maxOther = 200

// read reads r to its end.
func (b *logbook) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		b.add(sc.Text())
	}
	b.mu.Lock()
	b.closed = true
	close(b.changed)
	b.mu.Unlock()
}

// add records one line.
func (b *logbook) add(line string) {
	var e models.Event
	isEvent := b.events && json.Unmarshal([]byte(line), &e) == nil && e.Event != ""
	b.mu.Lock()
	defer b.mu.Unlock()
	if isEvent {
		b.logged = append(b.logged, e)
		b.count.add(&b.logged[len(b.logged)-1])
	} else {
		b.addOtherLocked(line)
	}
	close(b.changed)
	b.changed = make(chan struct{})
}

// addOther records a line that is not an event.
func (b *logbook) addOther(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.addOtherLocked(line)
}

func (b *logbook) addOtherLocked(line string) {
	if len(b.other) == maxOther {
		b.other = slices.Delete(b.other, 0, maxOther/2)
	}
	b.other = append(b.other, line)
}

// add counts e.
func (l *tally) add(e *models.Event) {
	switch e.Event {
	case models.EventStart:
		l.start = e
	case models.EventStop:
		l.stop = e
	case models.EventConnOpen:
		l.opens++
	case models.EventConnClose:
		l.closes++
		l.reasons[e.Reason]++
	case models.EventAcceptError:
		l.acceptErrors++
	case models.EventLimitReached:
		l.limitReached++
	case models.EventLimitLeft:
		l.limitLeft++
	case models.EventUsage:
		l.usage++
	case models.EventChildExit:
		l.childExits++
	}
}

// tally returns a copy of the running tally.
func (b *logbook) tally() tally {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.count
	c.reasons = make(map[string]int, len(b.count.reasons))
	for k, v := range b.count.reasons {
		c.reasons[k] = v
	}
	return c
}

// since returns the events logged after the first n.
func (b *logbook) since(n int) []models.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]models.Event(nil), b.logged[min(n, len(b.logged)):]...)
}

// len returns how many events have been logged.
func (b *logbook) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.logged)
}

// await waits, at most d, until ok is true of the tally; ok runs with the
// logbook locked, so it must be quick. It returns false if d passes, or
// if the server's stderr ends, first.
func (b *logbook) await(d time.Duration, ok func(*tally) bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		b.mu.Lock()
		done, changed, closed := ok(&b.count), b.changed, b.closed
		b.mu.Unlock()
		if done {
			return true
		}
		if closed {
			return false
		}
		select {
		case <-changed:
		case <-t.C:
			return false
		}
	}
}

// awaitMore waits, at most d, until more than n events have been logged.
func (b *logbook) awaitMore(n int, d time.Duration) bool {
	return b.await(d, func(*tally) bool { return len(b.logged) > n }) // b.mu is held
}

// trouble returns what the server wrote that was not an event (the Go
// runtime's fatal errors, gnet's own log, a Python traceback) and its
// error events: the first six lines of it for one of iolab's models,
// the last six for any other server, whose last words say why it ended.
func (b *logbook) trouble() string {
	lines := b.troubleLines()
	if len(lines) == 0 {
		return "nothing on stderr but its log"
	}
	if len(lines) > 6 {
		if b.events {
			lines = append(lines[:6], fmt.Sprintf("(%d more lines)", len(lines)-6))
		} else {
			lines = append([]string{fmt.Sprintf("(%d lines before)", len(lines)-6)}, lines[len(lines)-6:]...)
		}
	}
	return strings.Join(lines, " | ")
}

// troubleSays reports whether any line of the server's trouble, not only
// the first six, contains s.
func (b *logbook) troubleSays(s string) bool {
	return slices.ContainsFunc(b.troubleLines(), func(l string) bool { return strings.Contains(l, s) })
}

// troubleLines returns every line of trouble.
func (b *logbook) troubleLines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var lines []string
	for _, l := range b.other {
		var e models.Event // a log line without an event: gnet's own, say
		switch {
		case l == "PASS" || strings.HasPrefix(l, "ok "):
		case !b.events || json.Unmarshal([]byte(l), &e) != nil:
			lines = append(lines, l)
		case e.Level == "error" || e.Level == "fatal" || e.Level == "panic":
			lines = append(lines, strings.TrimSuffix(e.Message+": "+e.Error, ": "))
		}
	}
	for _, e := range b.logged {
		if e.Level == "error" {
			lines = append(lines, e.Event+": "+e.Error+" "+e.Message)
		}
	}
	return lines
}

// raced reports whether the server's race detector found a data race.
func (b *logbook) raced() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.ContainsFunc(b.other, func(l string) bool { return strings.Contains(l, "WARNING: DATA RACE") })
}
