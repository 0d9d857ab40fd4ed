package check

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"iolab/models"
	"iolab/models/proc"
)

// The checks' raw clients: plain net.TCPConn, with a deadline on
// everything, so that a broken server fails a scenario instead of hanging
// it.

// dial connects to the server.
func (r *run) dial() (*net.TCPConn, error) {
	c, err := net.DialTimeout("tcp", r.c.addr, patience)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// roundTrip connects, sends one line, expects it back, and closes; or,
// to a greeting server, connects and expects its greeting and a close.
func (r *run) roundTrip(text string) error {
	c, err := r.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	if r.tg.proto() == models.Greeting {
		return r.greeted(c)
	}
	line := text + "\n"
	if _, err := c.Write([]byte(line)); err != nil {
		return err
	}
	return expectLine(c, line, patience)
}

// greeted reads what a greeting server says on c until its close, each
// read within patience, and compares it with what it said first
// (Detect).
func (r *run) greeted(c net.Conn) error { return r.greetedWithin(c, patience) }

// greetedWithin is greeted with reads bounded by d. It then resets the
// connection, as the load generator does: the server has closed first,
// and the reset spares its port a minute of TIME_WAIT, which would keep
// a server that binds it without SO_REUSEADDR from starting again.
func (r *run) greetedWithin(c net.Conn, d time.Duration) error {
	got, err := readUntilClose(c, d)
	if tc, ok := c.(*net.TCPConn); ok {
		resetConn(tc)
	}
	switch {
	case err != nil:
		return fmt.Errorf("the greeting: %w after %q", err, abbrev(got))
	case !bytes.Equal(got, r.tg.greeting):
		return fmt.Errorf("greeted with %q, want %q as at first", abbrev(got), abbrev(r.tg.greeting))
	}
	return nil
}

// expectLine reads exactly len(want) bytes within d and compares them
// with want. A close before the answer is io.EOF, or the reset.
func expectLine(c net.Conn, want string, d time.Duration) error {
	_ = c.SetReadDeadline(time.Now().Add(d))
	got := make([]byte, len(want))
	n, err := io.ReadFull(c, got)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	if err != nil {
		return fmt.Errorf("read: %w (got %q)", err, abbrev(got[:n]))
	}
	if string(got) != want {
		return fmt.Errorf("got %q, want %q", abbrev(got), abbrev([]byte(want)))
	}
	return nil
}

// readUntilClose reads until the server closes, each read within d, and
// returns what came and how it ended: nil for a FIN, the error otherwise.
func readUntilClose(c net.Conn, d time.Duration) ([]byte, error) {
	var got []byte
	buf := make([]byte, 64<<10)
	for {
		_ = c.SetReadDeadline(time.Now().Add(d))
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
	}
}

// resetConn closes c with SO_LINGER 0, which sends RST instead of FIN.
func resetConn(c *net.TCPConn) {
	_ = c.SetLinger(0)
	_ = c.Close()
}

// closedByPeer reports whether err is how a client sees a server's close:
// EOF, a reset, or a broken pipe.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// isTimeout reports whether err is a deadline that passed, of a read or
// write (os.ErrDeadlineExceeded) or of a dial.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// lines returns n bytes of numbered echo lines, each size bytes long with
// its newline; a line that does not fit at the end is shortened.
func lines(n, size int, tag string) []byte {
	b := make([]byte, 0, n+size)
	for i := 0; len(b) < n; i++ {
		start := len(b)
		b = fmt.Appendf(b, "%s %09d ", tag, i)
		for len(b)-start < size-1 {
			b = append(b, 'a'+byte(i%26))
		}
		b = append(b[:start+size-1], '\n')
	}
	b = b[:n]
	b[n-1] = '\n'
	return b
}

// writeAll writes p in chunks of at most chunk bytes, each within d, and
// returns how much the socket took.
func writeAll(c net.Conn, p []byte, chunk int, d time.Duration) (int, error) {
	sent := 0
	for sent < len(p) {
		_ = c.SetWriteDeadline(time.Now().Add(d))
		n, err := c.Write(p[sent:min(sent+chunk, len(p))])
		sent += n
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// firstDiff returns the offset of the first byte where got and want
// differ, or -1 if got is a prefix of want.
func firstDiff(got, want []byte) int {
	for i := range got {
		if i >= len(want) || got[i] != want[i] {
			return i
		}
	}
	return -1
}

// bystander is a client that keeps echoing lines beside a scenario, to
// show that the abuse does not stop the server serving others.
type bystander struct {
	stop  chan struct{}
	once  sync.Once // closes stop
	done  chan struct{}
	trips int
	err   error
}

// bystander starts one, or returns nil for a serial model, which would
// serve it instead of the scenario.
func (r *run) bystander() *bystander {
	if r.m.Serial {
		return nil
	}
	b := &bystander{stop: make(chan struct{}), done: make(chan struct{})}
	r.cleanup(b.end) // if the scenario ends early
	c, err := r.dial()
	if err != nil {
		b.err = err
		close(b.done)
		return b
	}
	go func() {
		defer close(b.done)
		defer func() { c.Close() }()
		pace := time.NewTicker(20 * time.Millisecond) // a pace, not a synchronisation
		defer pace.Stop()
		for {
			if err := r.bystanderTrip(&c, b.trips); err != nil {
				b.err = err
				return
			}
			b.trips++
			select {
			case <-b.stop:
				return
			case <-pace.C:
			}
		}
	}()
	return b
}

// bystanderTrip is one round trip of a bystander: a line on its
// connection, or, to a greeting server, a greeting on a new one each
// time.
func (r *run) bystanderTrip(c **net.TCPConn, trip int) error {
	if r.tg.proto() == models.Greeting {
		(*c).Close()
		next, err := r.dial()
		if err != nil {
			return err
		}
		*c = next
		return r.greeted(next)
	}
	line := fmt.Sprintf("bystander %d\n", trip)
	if _, err := (*c).Write([]byte(line)); err != nil {
		return err
	}
	return expectLine(*c, line, patience)
}

// end stops the bystander and waits for it; it may be called again.
func (b *bystander) end() {
	b.once.Do(func() { close(b.stop) })
	<-b.done
}

// finish stops the bystander and fails r if it was not served throughout.
func (b *bystander) finish(r *run) string {
	if b == nil {
		return ""
	}
	b.end()
	if b.err != nil {
		r.errorf("a bystander client was disturbed after %d round trips: %v", b.trips, b.err)
	}
	return fmt.Sprintf("; bystander served %d round trips", b.trips)
}

// sampler reads the server's /proc every period and keeps the peaks.
type sampler struct {
	stop    chan struct{}
	once    sync.Once // closes stop
	done    chan struct{}
	peak    proc.Sample
	samples int
}

// sample starts a sampler of the server, if the check runs its process;
// otherwise its peaks stay zero.
func (r *run) sample(period time.Duration) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	if !r.c.process() {
		close(s.done)
		return s
	}
	r.cleanup(func() { s.end() }) // if the scenario ends early
	go func() {
		defer close(s.done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			if x, err := r.c.sample(); err == nil {
				s.peak.Threads = max(s.peak.Threads, x.Threads)
				s.peak.RSS = max(s.peak.RSS, x.RSS)
				s.peak.FDs = max(s.peak.FDs, x.FDs)
				s.samples++
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// end stops the sampler and returns the peaks; it may be called again.
func (s *sampler) end() proc.Sample {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	return s.peak
}

// events returns what the server logged since the scenario began.
func (r *run) events() []models.Event { return r.c.log.since(r.mark) }

// closesOf waits, at most d, until the server has logged the close of
// every connection whose client address is in addrs, and returns those
// close events by address; any still missing are missing from the map.
func (r *run) closesOf(addrs []string, d time.Duration) map[string]models.Event {
	want := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		want[a] = true
	}
	got := map[string]models.Event{}
	deadline := time.Now().Add(d)
	for seen := r.mark; ; {
		evs := r.c.log.since(seen)
		seen += len(evs)
		for _, e := range evs {
			if e.Event == models.EventConnClose && want[e.Remote] {
				got[e.Remote] = e
			}
		}
		if len(got) == len(want) || !r.c.log.awaitMore(seen, time.Until(deadline)) {
			return got
		}
	}
}

// reasons counts the close events in evs by reason, and formats them.
func reasons(evs []models.Event) (map[string]int, string) {
	count := map[string]int{}
	for _, e := range evs {
		if e.Event == models.EventConnClose {
			count[e.Reason]++
		}
	}
	var parts []string
	for k, n := range count {
		parts = append(parts, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(parts)
	return count, strings.Join(parts, ", ")
}

// durations returns the shortest and longest life of the connections in
// closes, from the server's close events.
func durations(closes map[string]models.Event) (lo, hi time.Duration) {
	first := true
	for _, e := range closes {
		d := time.Duration(e.DurationUs) * time.Microsecond
		if first || d < lo {
			lo = d
		}
		if first || d > hi {
			hi = d
		}
		first = false
	}
	return lo, hi
}

// seconds formats a duration in seconds, to two decimals.
func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// addrsOf returns the local addresses of conns, as the server logs its
// clients' addresses.
func addrsOf(conns []*net.TCPConn) []string {
	var a []string
	for _, c := range conns {
		if c != nil {
			a = append(a, c.LocalAddr().String())
		}
	}
	return a
}

// syncCounter is a counter any goroutine may add to.
type syncCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *syncCounter) add(kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[kind]++
}

func (c *syncCounter) get(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[kind]
}

// String lists the counts, by kind.
func (c *syncCounter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	for k, n := range c.n {
		parts = append(parts, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// abbrev shortens b for a message.
func abbrev(b []byte) []byte {
	if len(b) > 80 {
		return append(append([]byte{}, b[:80]...), "..."...)
	}
	return b
}
