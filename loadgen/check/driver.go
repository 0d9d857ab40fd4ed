package check

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"iolab/models"
)

// seedEnv fixes the fuzzed input's seed, to replay a failure.
const seedEnv = "IOLAB_CHECK_SEED"

// Run puts tg through scenarios, one after the other, and returns the
// graded report. each, if not nil, is called with every cell as it ends.
// A command is started for the first scenario and stopped after the
// last.
func Run(tg *Target, f Form, scenarios []Scenario, each func(Cell)) *Report {
	rep := &Report{Server: tg.Name(), About: tg.String(), Form: f.Name}
	kept := tg.started
	defer func() {
		if kept != nil && kept.process() && kept.running() {
			_, _ = kept.stop(tg.Grace)
		}
	}()
	// unserved is why the server kept from one check to the next (a
	// command, an address) served no first client: the checks after it
	// are not played, and fail at once, until the command is started
	// again. A server that answers nobody would otherwise cost each
	// check its full patience.
	unserved := ""
	for _, sc := range scenarios {
		var c Cell
		if unserved != "" && sc.notApplicable(tg) == "" && (kept == nil || kept.running()) {
			c = Cell{Scenario: sc.Name, Status: Fail, Text: "not played: " + unserved}
		} else {
			before := kept
			c, kept = play(tg, kept, sc, &f)
			if kept != before {
				unserved = ""
			}
			if c.unserved != "" && !tg.model() {
				unserved = fmt.Sprintf("the server served no first client in %q (%s)", sc.Name, c.unserved)
			}
		}
		rep.Cells = append(rep.Cells, c)
		if each != nil {
			each(c)
		}
	}
	return rep
}

// Play runs one scenario against a model (the tests run each as a test
// of its own).
func Play(tg *Target, sc Scenario, f Form) Cell {
	c, _ := play(tg, nil, sc, &f)
	return c
}

// Detect finds out what protocol a command or an address speaks, when
// tg.Proto is not set, and what a greeting server says: it connects and
// waits a second for the server to speak first; one that does is a
// greeting server, one that does not is asked to echo a line. A command
// is started here, and Run checks the same process: a server that binds
// a fixed port without SO_REUSEADDR could not bind it again for a minute
// after its first client (TIME_WAIT is on the side that closes first).
func Detect(tg *Target) error {
	if tg.model() {
		return nil
	}
	addr := tg.Addr
	if tg.Command != "" && tg.started == nil {
		s, err := startCommand(tg.Command, tg.Addr)
		if err != nil {
			return err
		}
		tg.started = s
	}
	c, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", addr, err)
	}
	defer c.Close()
	wait := time.Second
	if tg.Proto == models.Echo {
		wait = 0
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	first := make([]byte, 64<<10)
	n, err := c.Read(first)
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		// Closed at once, without a word: neither protocol. The checks
		// grade it as the echo server a client would have hoped for.
		tg.Proto = models.Echo
		tg.detected = "it closed the connection at once, saying nothing: checked as an echo server"
		return nil
	case n > 0 || errors.Is(err, io.EOF):
		if tg.Proto == models.Echo {
			return fmt.Errorf("%s spoke first (%q): not an echo server", addr, abbrev(first[:n]))
		}
		rest, err := readUntilClose(c, patience)
		resetConn(c.(*net.TCPConn)) // no TIME_WAIT on its port (greetedWithin)
		if err != nil {
			return fmt.Errorf("%s spoke first (%q) but did not close: a greeting server closes after its greeting (%v)", addr, abbrev(first[:n]), err)
		}
		tg.Proto, tg.greeting = models.Greeting, append(first[:n:n], rest...)
		return nil
	case !isTimeout(err):
		return fmt.Errorf("connect to %s: %w", addr, err)
	case tg.Proto == models.Greeting:
		return fmt.Errorf("%s said nothing within %v: not a greeting server", addr, wait)
	}
	// Said nothing within a second: an echo server, or one that answers
	// nobody, which the checks then grade as the echo server it is not.
	tg.Proto = models.Echo
	_ = c.SetDeadline(time.Now().Add(patience))
	if _, err := c.Write([]byte("iolab check\n")); err != nil {
		tg.detected = fmt.Sprintf("it did not greet, and took no line (%v): checked as an echo server", err)
	} else if err := expectLine(c, "iolab check\n", patience); err != nil {
		tg.detected = fmt.Sprintf("it did not greet, and did not echo a line (%v): checked as an echo server", err)
	}
	return nil
}

// protocol checks what a client of the protocol expects: for a greeting
// server, the same greeting each time and a close, to 10 clients at
// once; for an echo server, a line, 1,000 lines pipelined in one write,
// a line written a byte at a time, and a line to each of 10 clients at
// once, every byte back in order.
func (r *run) protocol() {
	crowd := 10 // the tutorial's largest experiment; the crowds of the abuse come later
	if r.tg.proto() == models.Greeting {
		r.crowd(crowd, func(c *net.TCPConn, _ int) error { return r.greeted(c) })
		r.figuref("the same %d B greeting and a close, %d clients at once", len(r.tg.greeting), crowd)
		return
	}
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "line %04d\n", i)
	}
	r.crowd(1, func(c *net.TCPConn, _ int) error {
		if err := echoed(c, "hello, iolab\n"); err != nil {
			return fmt.Errorf("one line: %w", err)
		}
		if err := echoed(c, b.String()); err != nil {
			return fmt.Errorf("1,000 lines in one write: %w", err)
		}
		for _, ch := range []byte("one byte at a time\n") {
			if _, err := c.Write([]byte{ch}); err != nil {
				return err
			}
		}
		return expectLine(c, "one byte at a time\n", patience)
	})
	r.crowd(crowd, func(c *net.TCPConn, i int) error { return echoed(c, "client "+strconv.Itoa(i)+"\n") })
	r.figuref("one line, 1,000 pipelined in one write, one a byte at a time; %d clients at once: byte-exact", crowd)
}

// echoed writes line and expects it back.
func echoed(c *net.TCPConn, line string) error {
	if _, err := c.Write([]byte(line)); err != nil {
		return err
	}
	return expectLine(c, line, patience)
}

// crowd runs n clients at once, each on a connection of its own, and
// fails the scenario with the first that went wrong.
func (r *run) crowd(n int, client func(c *net.TCPConn, i int) error) {
	var bad failures
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", r.c.addr, patience+r.starts(n))
			if err != nil {
				bad.add("dial: %v", err)
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(patience + r.starts(n)))
			if err := client(c.(*net.TCPConn), i); err != nil {
				bad.add("%v", err)
			}
		})
	}
	wg.Wait()
	bad.report(r, n, "clients were not served right")
}

// SelfCommand is the command line that runs this program as a model's
// server: iolab itself.
func SelfCommand() ([]string, error) {
	self, err := os.Executable()
	return []string{self}, err
}
