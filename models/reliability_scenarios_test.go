package models_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"iolab/loadgen"
	"iolab/models"
	"iolab/models/reactor"
)

// The scenarios of the reliability table, in its order. Each plays one
// kind of abuse against r.c, checks what the contract says of it, and
// sets the figure the table shows. The checks that follow every scenario
// are in reliability_test.go (relRun.check).

// relFDLimit is RLIMIT_NOFILE in the fd scenarios: as in
// TestAcceptErrorPauses, small enough that 80 clients exhaust it.
const relFDLimit = 64

// relMaxLine is -max-line in the scenarios about lines: small, so that
// lines of exactly the limit are many and cheap.
const relMaxLine = 4096

// relNeverReadsIdle is -idle-timeout in the scenario of the client that
// never reads, in units of the form's timeout: three times, so that a
// write timeout that restarts once (two timeouts) is more than relSlack
// later than one that does not.
const relNeverReadsIdle = 3

// relBuffered is how much a server's resident memory may grow, beyond its
// -max-output, while a client sends and never reads: the garbage of the
// lines it answered before it stopped reading, not yet collected.
const relBuffered = 16 << 20

// relMiceP99 bounds the small clients' p99 beside the elephant: far above
// what a fair server gives them on a busy 2-core machine, far below what
// one that serves the elephant first does.
const relMiceP99 = time.Second

// relLoadTimeout is the load generator's timeout in the load scenarios:
// a request not answered within it counts as an error. iolab load's
// default is 2 s; 10,000 clients connecting at once to an accept queue of
// 4096 see SYNs dropped and resent after one second, then three, and on a
// busy 2-core machine (other tests, a signal storm) a process can stall
// for a second or two without losing anything.
const relLoadTimeout = 5 * time.Second

// failures counts what went wrong in many clients alike, and keeps the
// first, so that one broken server makes one message, not a thousand.
type failures struct {
	mu    sync.Mutex
	n     int
	first string
}

func (f *failures) add(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		f.first = fmt.Sprintf(format, args...)
	}
	f.n++
}

// report fails r once if anything went wrong, out of total.
func (f *failures) report(r *relRun, total int, what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n > 0 {
		r.errorf("%d of %d %s; the first: %s", f.n, total, what, f.first)
	}
}

// fdExhaustion connects more clients than the server has descriptors
// (relFDLimit), each sending a line. With the default -max-conns the
// server must stop accepting below its limit on open files: clients past
// -max-conns wait in the accept queue, or are refused with a max_conns
// close, and accept(2) never fails. With -max-conns above the limit
// (emfile), accept fails with EMFILE: the server must log it and pause,
// not spin. Either way it must not die, and once clients leave, those that
// waited are served.
func (r *relRun) fdExhaustion(emfile bool) {
	limit := r.c.start.MaxConns
	n := relFDLimit + 16
	type answer struct {
		i   int
		err error
	}
	answers := make(chan answer, n)
	var conns []*net.TCPConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range n {
		c, err := r.dial()
		if err != nil {
			break // the server has died; judged below
		}
		conns = append(conns, c)
		line := fmt.Sprintf("fd %d\n", i)
		if _, err := c.Write([]byte(line)); err != nil {
			answers <- answer{i, err}
			continue
		}
		go func() { answers <- answer{i, expectLine(c, line, 3*patience)} }()
	}

	// The server is at its limit once it says so, or fails to accept,
	// or has accepted everyone.
	r.c.log.await(patience, func(l *tally) bool {
		return l.acceptErrors > r.at.acceptErrors || l.limitReached > r.at.limitReached || l.opens-r.at.opens >= len(conns)
	})
	before, _ := r.c.sample()
	time.Sleep(relSpinWindow) // a window to measure CPU in, not a synchronisation
	after, _ := r.c.sample()
	ticks := after.UserTicks + after.SysTicks - before.UserTicks - before.SysTicks
	if !r.c.running() {
		if emfile && r.c.log.troubleSays(reactor.ErrEngineStopped.Error()) {
			r.documented(fmt.Sprintf("the server exited on EMFILE with %d clients: %v (see models/reactor and notes/reference/gnet.md)",
				len(conns), reactor.ErrEngineStopped))
			return
		}
		r.fatalf("%s", r.c.died())
	}

	var served []int
	refused := 0
	classify := func(a answer) {
		switch {
		case a.err == nil:
			served = append(served, a.i)
		case closedByPeer(a.err):
			refused++
		default:
			r.errorf("client %d: %v", a.i, a.err)
		}
	}
	for drained := false; !drained; {
		select {
		case a := <-answers:
			classify(a)
		default:
			drained = true
		}
	}
	servedAtOnce := len(served)

	l := r.c.log.tally()
	acceptErrors := l.acceptErrors - r.at.acceptErrors
	if emfile && acceptErrors == 0 {
		r.errorf("no %s event with %d clients, a limit of %d descriptors and -max-conns %d", models.EventAcceptError, len(conns), relFDLimit, limit)
	}
	if !emfile {
		if acceptErrors > 0 {
			r.errorf("accept(2) failed %d times although -max-conns %d is below the limit of %d descriptors: %s",
				acceptErrors, limit, relFDLimit, firstAcceptError(r.events()))
		}
		if servedAtOnce > limit {
			r.errorf("served %d clients at once, more than -max-conns %d", servedAtOnce, limit)
		}
		if l.limitReached == r.at.limitReached {
			r.errorf("no %s event with %d clients at -max-conns %d", models.EventLimitReached, len(conns), limit)
		}
	}
	if ticks > relSpinTicks {
		r.errorf("used %d clock ticks of CPU in %v while it could accept no one: spinning", ticks, relSpinWindow)
	}

	// Clients leave: those that waited are served, and those refused are
	// served when they come back.
	left := served[:min(32, len(served))]
	for _, i := range left {
		conns[i].Close()
	}
	t := time.NewTimer(2 * patience)
	defer t.Stop()
	for waiting := len(conns) - servedAtOnce - refused; waiting > 0; waiting-- {
		select {
		case a := <-answers:
			classify(a)
		case <-t.C:
			r.fatalf("%d clients still waiting %v after %d others left", waiting, 2*patience, len(left))
		}
	}
	for i := range refused {
		if err := r.roundTrip(fmt.Sprintf("refused %d, back", i)); err != nil {
			r.errorf("a refused client that came back: %v", err)
			break
		}
	}
	if logged := r.closedFor(models.ReasonMaxConns); logged < refused {
		r.errorf("%d clients were closed unanswered, and only %d closes logged as %s", refused, logged, models.ReasonMaxConns)
	}
	if emfile {
		r.figuref("%d clients, %d descriptors: accept failed %d times (%s), CPU %d ticks in %v; %d waiting served after %d left",
			len(conns), relFDLimit, acceptErrors, firstAcceptError(r.events()), ticks, relSpinWindow, len(served)-servedAtOnce, len(left))
		return
	}
	r.figuref("%d clients, -max-conns %d: %d served at once, %d refused, CPU %d ticks in %v; %d waiting served after %d left",
		len(conns), limit, servedAtOnce, refused, ticks, relSpinWindow, len(served)-servedAtOnce, len(left))
}

// firstAcceptError returns the error of the first accept_error event in
// evs, or "none".
func firstAcceptError(evs []models.Event) string {
	for _, e := range evs {
		if e.Event == models.EventAcceptError {
			return e.Error
		}
	}
	return "none"
}

// answeredBefore sums the answers of the connections closed before the
// scenario began.
func (r *relRun) answeredBefore() int64 {
	var n int64
	for _, e := range r.c.log.since(0)[:r.mark] {
		if e.Event == models.EventConnClose {
			n += e.Requests
		}
	}
	return n
}

// closedFor counts the closes for reason since the scenario began.
func (r *relRun) closedFor(reason models.Reason) int {
	count, _ := reasons(r.events())
	return count[reason.String()]
}

// rstStorm connects many clients, eight at a time, each resetting its
// connection at once: some before sending anything, some after half a
// line, some after a whole line. Every connection the server accepted
// must be closed, as reset (or eof), and a bystander served throughout.
func (r *relRun) rstStorm() {
	by := r.bystander()
	n := r.f.storm
	jobs := make(chan int)
	var wg sync.WaitGroup
	var dials failures
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				c, err := r.dial()
				if err != nil {
					dials.add("%v", err)
					continue
				}
				switch i % 3 {
				case 1:
					_, _ = c.Write([]byte("half a li"))
				case 2:
					_, _ = c.Write([]byte("a whole line\n"))
				}
				resetConn(c)
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	extra := by.finish(r)
	dials.report(r, n, "connects failed")
	// One more client: the accept queue is first in, first out, so once
	// it is served every connection of the storm has been accepted (a
	// serial model has closed them too), or ended by its reset before
	// accept(2) got to it.
	after, err := r.dial()
	if err != nil {
		r.fatalf("dial: %v", err)
	}
	if _, err := after.Write([]byte("after the storm\n")); err == nil {
		err = expectLine(after, "after the storm\n", patience)
	}
	after.Close()
	if err != nil {
		r.errorf("a client after the storm: %v", err)
	}
	r.closesOf([]string{after.LocalAddr().String()}, patience)
	r.closedAll()
	count, list := reasons(r.events())
	for reason := range count {
		if reason != models.ReasonReset.String() && reason != models.ReasonEOF.String() {
			r.errorf("connections closed as %s (%s); a client's reset is %s", reason, firstError(r.events(), reason), models.ReasonReset)
		}
	}
	r.figuref("%d connect+RST: closed as %s%s", n, list, extra)
}

// firstError returns the error of the first close for reason in evs.
func firstError(evs []models.Event, reason string) string {
	for _, e := range evs {
		if e.Event == models.EventConnClose && e.Reason == reason {
			if e.Error == "" {
				return "no error logged"
			}
			return e.Error
		}
	}
	return ""
}

// slowloris holds connections open with one byte every fifth of
// -request-timeout and never a newline, while -idle-timeout is five times
// longer: each byte would reset an idle timer, so only the request
// timeout can close them. It must, as request_timeout, within
// relSlack of the timeout.
func (r *relRun) slowloris() {
	rt := r.f.timeout
	k := r.count(r.f.loris, 2)
	waves := 1
	if r.m.Serial {
		waves = k // each waits for the one before it
	}
	giveUp := time.Duration(waves) * (rt + relSlack)
	by := r.bystander()
	conns := make([]*net.TCPConn, k)
	for i := range conns {
		c, err := r.dial()
		if err != nil {
			r.fatalf("dial: %v", err)
		}
		conns[i] = c
		defer c.Close()
	}
	var open atomic.Int32
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			closed := make(chan struct{})
			go func() { // sees the server's close: EOF or a reset
				defer close(closed)
				_, _ = readUntilClose(c, giveUp+patience)
			}()
			pace := time.NewTicker(rt / 5)
			defer pace.Stop()
			end := time.NewTimer(giveUp)
			defer end.Stop()
			for {
				if _, err := c.Write([]byte{'x'}); err != nil {
					<-closed
					return
				}
				select {
				case <-closed:
					return
				case <-end.C:
					open.Add(1)
					c.Close()
					<-closed
					return
				case <-pace.C:
				}
			}
		})
	}
	wg.Wait()
	extra := by.finish(r)
	if n := open.Load(); n > 0 {
		r.errorf("%d of %d clients sending a byte every %v, never a newline, still connected after %v: no request timeout", n, k, rt/5, giveUp)
	}
	r.timedCloses(addrsOf(conns), models.ReasonRequestTimeout, rt, fmt.Sprintf("%d clients, a byte every %v", k, rt/5), extra)
}

// timedCloses checks that the server closed the connections of addrs for
// reason, each between 0.9 and 1 times d plus relSlack after it accepted
// it, and sets the figure, after what.
func (r *relRun) timedCloses(addrs []string, reason models.Reason, d time.Duration, what, extra string) {
	closes := r.closesOf(addrs, patience)
	if len(closes) < len(addrs) {
		r.errorf("%d of %d connections never logged a close", len(addrs)-len(closes), len(addrs))
	}
	var evs []models.Event
	for _, e := range closes {
		evs = append(evs, e)
		if e.Reason != reason.String() {
			r.errorf("closed as %s after %s, want %s", e.Reason, seconds(time.Duration(e.DurationUs)*time.Microsecond), reason)
			break
		}
	}
	timed := map[string]models.Event{} // the bounds apply to the closes for reason
	for a, e := range closes {
		if e.Reason == reason.String() {
			timed[a] = e
		}
	}
	lo, hi := durations(closes)
	tlo, thi := durations(timed)
	switch {
	case len(timed) == 0:
	case tlo < d*9/10:
		r.errorf("closed as %s after %s, before the timeout of %v", reason, seconds(tlo), d)
	case thi > d+relSlack:
		r.errorf("closed as %s after %s, more than %v after the timeout of %v", reason, seconds(thi), relSlack, d)
	}
	_, list := reasons(evs)
	r.figuref("%s: closed as %s after %s–%s%s", what, list, seconds(lo), seconds(hi), extra)
}

// idleConns opens connections that go quiet, half of them at once and
// half after one line answered. Each must be closed as idle_timeout,
// within relSlack of -idle-timeout.
func (r *relRun) idleConns() {
	idle := r.f.timeout
	k := r.count(r.f.idlers, 2)
	waves := r.waves(k)
	conns := make([]*net.TCPConn, k)
	var wg sync.WaitGroup
	var bad failures
	for i := range conns {
		c, err := r.dial()
		if err != nil {
			r.fatalf("dial: %v", err)
		}
		conns[i] = c
		defer c.Close()
		wg.Go(func() {
			if i%2 == 1 {
				line := fmt.Sprintf("idle %d\n", i)
				if _, err := c.Write([]byte(line)); err != nil {
					bad.add("write: %v", err)
					return
				}
				if err := expectLine(c, line, time.Duration(waves)*(idle+relSlack)+r.starts(k)+patience); err != nil {
					bad.add("%v", err)
					return
				}
			}
			got, err := readUntilClose(c, time.Duration(waves)*(idle+relSlack)+r.starts(k)+patience)
			if len(got) > 0 || err != nil && !closedByPeer(err) {
				bad.add("an idle connection: got %q, %v; want a close", abbrev(got), err)
			}
		})
	}
	wg.Wait()
	bad.report(r, k, "idle clients were not closed cleanly")
	r.timedCloses(addrsOf(conns), models.ReasonIdle, idle, fmt.Sprintf("%d connections, half after one line", k), "")
}

// neverReads sends lines as fast as the server takes them and never reads
// an answer. The server must stop reading once its answers back up (at
// most -max-output beyond the kernel's buffers), so that its memory does
// not grow with what the client sends, and close the connection as
// write_timeout about -idle-timeout later.
func (r *relRun) neverReads() {
	s := r.sample(20 * time.Millisecond)
	c, err := r.dial()
	if err != nil {
		r.fatalf("dial: %v", err)
	}
	defer c.Close()
	chunk := lines(64<<10, 64, "never")
	sent := 0
	began := time.Now()
	stalled := began // when the last write went through: soon after, the server stopped reading
	var werr error
	for sent < r.f.neverReads && werr == nil {
		_ = c.SetWriteDeadline(time.Now().Add(patience))
		var n int
		n, werr = c.Write(chunk)
		sent += n
		if werr == nil {
			stalled = time.Now()
		}
	}
	stopped := time.Since(began)
	addr := c.LocalAddr().String()
	closes := r.closesOf([]string{addr}, patience)
	peak := s.end()
	grew := peak.RSS - r.base.RSS
	bound := int64(r.c.start.MaxOutput) + relBuffered
	e, closed := closes[addr]
	how := "not closed"
	if closed {
		how = fmt.Sprintf("closed as %s after %s", e.Reason, seconds(time.Duration(e.DurationUs)*time.Microsecond))
	}
	r.figuref("took %s in %s, read nothing: RSS %s at peak; %s", mib(int64(sent)), seconds(stopped), dmib(grew), how)
	switch {
	case !closed && isTimeout(werr):
		r.errorf("the server stopped reading and did not close the connection within %v", patience)
	case !closed:
		r.errorf("the connection of a client that never reads was not closed within %v after it stopped sending (%v)", patience, werr)
	case e.Reason != models.ReasonWriteTimeout.String():
		r.errorf("closed as %s, want %s", e.Reason, models.ReasonWriteTimeout)
	case time.Duration(e.DurationUs)*time.Microsecond-stalled.Sub(began) > relNeverReadsIdle*r.f.timeout+relSlack:
		// The server stops reading when its answers back up, and the
		// client's writes stall moments later: from then on, one answer,
		// one deadline. How long the answers took to back up is the
		// machine's speed, not the server's deadline, and is not judged.
		r.errorf("closed as %s %s after the accept, %s after the client's writes stalled: more than %v after -idle-timeout %v: one answer, one deadline",
			e.Reason, seconds(time.Duration(e.DurationUs)*time.Microsecond), seconds(time.Duration(e.DurationUs)*time.Microsecond-stalled.Sub(began)), relSlack, relNeverReadsIdle*r.f.timeout)
	}
	if r.m.Name == "gnet" {
		// gnet cannot stop reading a socket (gnet#712): the model holds up
		// to its input cap for the client, in a ring buffer that grows by
		// doubling, before it closes it.
		bound += 2 * int64(reactor.InputCap(&models.Config{MaxLine: r.c.start.MaxLine, MaxOutput: r.c.start.MaxOutput}))
	}
	if grew > bound && !relRace { // under the race detector RSS is shown, not judged
		r.errorf("resident memory grew by %s while the client sent %s and read nothing, more than -max-output %s and %s: answers are buffered without bound",
			mib(grew), mib(int64(sent)), mib(int64(r.c.start.MaxOutput)), mib(relBuffered))
	}
}

// dmib formats a change in bytes, in MiB, with its sign.
func dmib(n int64) string { return fmt.Sprintf("%+.1f MiB", float64(n)/(1<<20)) }

// oversized sends a line of exactly -max-line bytes with no newline, which
// can no longer fit, then a line that never ends. Each must be answered
// with ErrLineReply and closed as line_too_long, while others are served.
func (r *relRun) oversized() {
	maxLine := r.c.start.MaxLine
	by := r.bystander()
	exact, err := r.dial()
	if err != nil {
		r.fatalf("dial: %v", err)
	}
	defer exact.Close()
	// Only MaxLine bytes: the server reads all of them, so its close is a
	// FIN, and the error reply cannot be lost to a reset.
	if _, err := exact.Write([]byte(strings.Repeat("x", maxLine))); err != nil {
		r.fatalf("write: %v", err)
	}
	got, err := readUntilClose(exact, patience)
	if string(got) != models.ErrLineReply || err != nil {
		r.errorf("%d bytes and no newline: got %q, %v; want %q and a close", maxLine, abbrev(got), err, models.ErrLineReply)
	}

	endless, err := r.dial()
	if err != nil {
		r.fatalf("dial: %v", err)
	}
	defer endless.Close()
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		_, _ = writeAll(endless, []byte(strings.Repeat("y", r.f.overLong)), 64<<10, patience)
	}()
	got, err = readUntilClose(endless, patience)
	endless.Close()
	<-wrote
	// The server closes with the rest of the line unread, so the close may
	// be a reset, which may overtake the error reply.
	endlessHow := fmt.Sprintf("%q", got)
	if err != nil {
		endlessHow += fmt.Sprintf(", %v", err)
	}
	if !(string(got) == models.ErrLineReply || len(got) == 0) || err != nil && !closedByPeer(err) {
		r.errorf("a line of %s without a newline: got %q, %v; want %q and a close", mib(int64(r.f.overLong)), abbrev(got), err, models.ErrLineReply)
	}
	extra := by.finish(r)
	closes := r.closesOf(addrsOf([]*net.TCPConn{exact, endless}), patience)
	for _, e := range closes {
		if e.Reason != models.ReasonTooLong.String() {
			r.errorf("closed as %s, want %s", e.Reason, models.ReasonTooLong)
		}
	}
	if len(closes) < 2 {
		r.errorf("%d of 2 connections never logged a close", 2-len(closes))
	}
	r.figuref("%d B, no newline: %q, close; %s, no newline: %s%s", maxLine, models.ErrLineReply, mib(int64(r.f.overLong)), endlessHow, extra)
}

// relSeed is the fuzzed input's seed: IOLAB_RELIABILITY_SEED, or the
// time, once per run, so that every run tries new input and a failure can
// be replayed.
var relSeed = sync.OnceValue(func() uint64 {
	if s, err := strconv.ParseUint(os.Getenv(relSeedEnv), 10, 64); err == nil {
		return s
	}
	return uint64(time.Now().UnixNano())
})

// fuzzed sends random lines, pipelined in chunks of random size: random
// bytes, NULs, CRs, CRLF endings, invalid UTF-8, empty lines, and lines
// of exactly -max-line bytes. Every byte must come back, in order.
func (r *relRun) fuzzed() {
	seed := relSeed()
	maxLine := r.c.start.MaxLine
	k := r.f.fuzzClients
	var wg sync.WaitGroup
	for i := range k {
		wg.Go(func() {
			stream := fuzzStream(rand.New(rand.NewPCG(seed, uint64(i))), maxLine, r.f.fuzzBytes)
			c, err := r.dial()
			if err != nil {
				r.errorf("dial: %v", err)
				return
			}
			defer c.Close()
			wrote := make(chan error, 1)
			go func() {
				chunks := rand.New(rand.NewPCG(seed, uint64(i)|1<<32))
				var err error
				for off := 0; off < len(stream) && err == nil; {
					var n int
					_ = c.SetWriteDeadline(time.Now().Add(patience))
					n, err = c.Write(stream[off:min(off+1+chunks.IntN(16<<10), len(stream))])
					off += n
				}
				wrote <- err
			}()
			got := make([]byte, 0, len(stream))
			buf := make([]byte, 64<<10)
			var rerr error
			for len(got) < len(stream) && rerr == nil {
				_ = c.SetReadDeadline(time.Now().Add(patience))
				var n int
				n, rerr = c.Read(buf)
				got = append(got, buf[:n]...)
			}
			werr := <-wrote
			if d := firstDiff(got, stream); d < 0 && (len(got) < len(stream) || werr != nil) && r.gnetInputFull() {
				r.documented(fmt.Sprintf("gnet cannot stop reading (gnet#712): a client sending faster than it reads was closed as write_timeout once its unanswered input passed the model's cap; %d of %d B back, byte-exact",
					len(got), len(stream)))
				return
			}
			if d := firstDiff(got, stream); d >= 0 {
				r.errorf("client %d (seed %d): the reply differs at byte %d: got %q, want %q", i, seed, d,
					abbrev(got[d:]), abbrev(stream[d:min(d+80, len(stream))]))
			} else if len(got) < len(stream) {
				r.errorf("client %d (seed %d): %d of %d bytes back, then %v", i, seed, len(got), len(stream), rerr)
			}
			if werr != nil {
				r.errorf("client %d: write: %v", i, werr)
			}
		})
	}
	wg.Wait()
	r.figuref("%d × %s of random lines (seed %d; NUL, CR, invalid UTF-8, lines of exactly %d B): byte-exact",
		k, mib(int64(r.f.fuzzBytes)), seed, maxLine)
}

// fuzzStream returns at least n bytes of random echo lines, none longer
// than maxLine with its newline.
func fuzzStream(rng *rand.Rand, maxLine, n int) []byte {
	odd := []byte{0x00, '\r', 0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0xf8, 0x7f}
	b := make([]byte, 0, n+maxLine)
	for len(b) < n {
		var size int
		switch rng.IntN(8) {
		case 0:
			size = maxLine // exactly the limit, newline included
		case 1:
			size = 1 // an empty line
		case 2:
			size = 2
		case 3:
			size = maxLine - 1
		default:
			size = 1 + rng.IntN(maxLine)
		}
		for range size - 1 {
			c := byte(rng.IntN(256))
			if rng.IntN(4) == 0 {
				c = odd[rng.IntN(len(odd))]
			}
			if c == '\n' {
				c = '\r'
			}
			b = append(b, c)
		}
		if size > 1 && rng.IntN(4) == 0 {
			b[len(b)-1] = '\r' // a CRLF ending
		}
		b = append(b, '\n')
	}
	return b
}

// flood holds -max-conns connections open, then connects four times as
// many clients, each sending a line. While the first are held, none of the
// others may be served: they wait in the accept queue, or are refused
// with a max_conns close (and come back). Once the first leave, every one
// is served. The limit's events must be logged.
func (r *relRun) flood() {
	limit := r.c.start.MaxConns
	holders := make([]*net.TCPConn, r.count(limit, 1))
	for i := range holders {
		c, err := r.dial()
		if err != nil {
			r.fatalf("dial: %v", err)
		}
		holders[i] = c
		defer c.Close()
		line := fmt.Sprintf("hold %d\n", i)
		if _, err := c.Write([]byte(line)); err != nil {
			r.fatalf("write: %v", err)
		}
		if err := expectLine(c, line, patience); err != nil {
			r.fatalf("holder %d of %d: %v", i, len(holders), err)
		}
	}
	// Each holder has been answered, so the server has accepted it, and
	// logged the limit reached if it is going to.
	reached := r.m.Serial || r.c.log.await(relSlack, func(l *tally) bool { return l.limitReached > r.at.limitReached })
	if !reached {
		r.errorf("no %s event with %d connections open at -max-conns %d", models.EventLimitReached, len(holders), limit)
	}

	flood := 4 * limit
	var released atomic.Bool
	var early, refused atomic.Int64
	var bad failures
	var sent, wg sync.WaitGroup
	deadline := time.Now().Add(3 * patience)
	for i := range flood {
		sent.Add(1)
		wg.Go(func() {
			first := true
			defer func() {
				if first {
					sent.Done()
				}
			}()
			line := fmt.Sprintf("flood %d\n", i)
			for {
				c, err := r.dial()
				if err != nil {
					bad.add("dial: %v", err)
					return
				}
				_, err = c.Write([]byte(line))
				if first {
					first = false
					sent.Done()
				}
				if err == nil {
					err = expectLine(c, line, time.Until(deadline))
				}
				c.Close()
				switch {
				case err == nil:
					if !released.Load() {
						early.Add(1)
					}
					return
				case closedByPeer(err) && time.Now().Before(deadline):
					refused.Add(1)
					time.Sleep(20 * time.Millisecond) // a pause before coming back, not a synchronisation
				default:
					bad.add("%v", err)
					return
				}
			}
		})
	}
	sent.Wait()
	time.Sleep(relSpinWindow) // a window in which a server that keeps its limit serves none of them
	released.Store(true)
	for _, c := range holders {
		c.Close()
	}
	wg.Wait()
	if n := early.Load(); n > 0 {
		r.errorf("%d of %d clients past -max-conns %d were served while %d connections were held open", n, flood, limit, len(holders))
	}
	bad.report(r, flood, "clients past the limit were not served")
	if logged := r.closedFor(models.ReasonMaxConns); int64(logged) < refused.Load() {
		r.errorf("%d connections closed unanswered, only %d closes logged as %s", refused.Load(), logged, models.ReasonMaxConns)
	}
	// Every client has been served, so slots were freed: the event has
	// been logged by now, if the model logs it.
	if !r.m.Serial && !r.c.log.await(relSlack, func(l *tally) bool { return l.limitLeft > r.at.limitLeft }) {
		r.errorf("no %s event once the held connections closed", models.EventLimitLeft)
	}
	r.figuref("-max-conns %d held, %d more: %d served early, %d refused and back; all served after; peak %d open in the log",
		limit, flood, early.Load(), refused.Load(), peakOpen(r.events()))
}

// peakOpen returns how many connections were open at once, as the log
// tells it, leaving out those refused with max_conns. It is a figure, not
// a check: two goroutines of a server may log a close and the next open
// in either order.
func peakOpen(evs []models.Event) int {
	refused := map[uint64]bool{}
	for _, e := range evs {
		if e.Event == models.EventConnClose && e.Reason == models.ReasonMaxConns.String() {
			refused[e.Conn] = true
		}
	}
	open, peak := 0, 0
	for _, e := range evs {
		switch {
		case refused[e.Conn]:
		case e.Event == models.EventConnOpen:
			open++
			peak = max(peak, open)
		case e.Event == models.EventConnClose:
			open--
		}
	}
	return peak
}

// rstMidReply sends a long run of lines, reads the start of the answers,
// and resets the connection while the server is still writing. Each must
// be closed as reset, and a bystander served throughout.
func (r *relRun) rstMidReply() {
	by := r.bystander()
	stream := lines(r.f.rstMidBytes, 64, "rst")
	head := 64 << 10
	var conns []*net.TCPConn
	for range r.f.rstMid {
		c, err := r.dial()
		if err != nil {
			r.fatalf("dial: %v", err)
		}
		conns = append(conns, c)
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			_, _ = writeAll(c, stream, 64<<10, patience)
		}()
		got := make([]byte, head)
		_ = c.SetReadDeadline(time.Now().Add(patience))
		if _, err := io.ReadFull(c, got); err != nil {
			r.errorf("the first %d KiB of the answers: %v", head>>10, err)
		} else if d := firstDiff(got, stream); d >= 0 {
			r.errorf("the answers differ at byte %d", d)
		}
		resetConn(c)
		<-wrote
	}
	extra := by.finish(r)
	closes := r.closesOf(addrsOf(conns), patience)
	if len(closes) < len(conns) {
		r.errorf("%d of %d connections never logged a close", len(conns)-len(closes), len(conns))
	}
	var evs []models.Event
	for _, e := range closes {
		evs = append(evs, e)
		if e.Reason != models.ReasonReset.String() {
			r.errorf("closed as %s (%s), want %s", e.Reason, e.Error, models.ReasonReset)
			break
		}
	}
	_, list := reasons(evs)
	r.figuref("%d resets after %d KiB of %s of answers: closed as %s%s", len(conns), head>>10, mib(int64(len(stream))), list, extra)
}

// halfClose sends megabytes of lines, then its FIN (shutdown(SHUT_WR)),
// and reads: every answer must come back before the server's close. It
// reads only once it has sent everything, or once the buffers are full
// and it must, so that as much as possible is in flight at the FIN.
func (r *relRun) halfClose() {
	var figures []string
	for range r.f.halfCloseReps {
		stream := lines(r.f.halfClose, 65, "half")
		c, err := r.dial()
		if err != nil {
			r.fatalf("dial: %v", err)
		}
		defer c.Close()
		// A small receive buffer, which the kernel then does not grow (up
		// to 32 MiB here): the answers back up in the server, not in the
		// client's kernel, and are in flight there at the FIN.
		if err := c.SetReadBuffer(64 << 10); err != nil {
			r.fatalf("SO_RCVBUF: %v", err)
		}
		readNow := make(chan struct{})
		var once sync.Once
		read := func() { once.Do(func() { close(readNow) }) }
		var received, inFlight atomic.Int64
		wrote := make(chan error, 1)
		go func() {
			defer read()
			sent, progress := 0, time.Now()
			for sent < len(stream) {
				_ = c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
				n, err := c.Write(stream[sent:min(sent+64<<10, len(stream))])
				sent += n
				if n > 0 {
					progress = time.Now()
				}
				switch {
				case isTimeout(err) && time.Since(progress) < patience:
					read() // the buffers are full: read, or both sides wait
				case err != nil:
					wrote <- err
					return
				}
			}
			err := c.CloseWrite()
			inFlight.Store(int64(sent) - received.Load())
			wrote <- err
		}()
		<-readNow
		got := make([]byte, 0, len(stream))
		buf := make([]byte, 64<<10)
		var rerr error
		for rerr == nil {
			_ = c.SetReadDeadline(time.Now().Add(patience))
			var n int
			n, rerr = c.Read(buf)
			got = append(got, buf[:n]...)
			received.Store(int64(len(got)))
		}
		if rerr == io.EOF {
			rerr = nil
		}
		werr := <-wrote
		if (werr != nil || len(got) < len(stream)) && r.gnetInputFull() {
			r.documented(fmt.Sprintf("gnet cannot stop reading (gnet#712): closed as write_timeout once %s of unanswered input was read; %d of %d B back",
				mib(int64(reactor.InputCap(&models.Config{MaxLine: r.c.start.MaxLine, MaxOutput: r.c.start.MaxOutput}))), len(got), len(stream)))
			return
		}
		if werr != nil {
			r.errorf("sending %s then the FIN: %v", mib(int64(len(stream))), werr)
		}
		switch d := firstDiff(got, stream); {
		case d >= 0:
			r.errorf("the answers differ at byte %d of %d", d, len(stream))
		case len(got) < len(stream) || rerr != nil:
			r.errorf("%d of %d bytes back, then %v (%s were in flight at the FIN)", len(got), len(stream), closeHow(rerr), mib(inFlight.Load()))
		}
		figures = append(figures, fmt.Sprintf("%d of %d B back (%s in flight at the FIN)", len(got), len(stream), mib(inFlight.Load())))
	}
	r.figuref("%s", strings.Join(figures, "; "))
}

// closeHow names how a read ended: EOF for nil.
func closeHow(err error) string {
	if err == nil {
		return "EOF"
	}
	return err.Error()
}

// elephant runs one client that pipelines lines as fast as it can beside
// 100 small clients of the load generator. The small clients must all be
// answered, with a p99 under relMiceP99, and the elephant must get every
// byte back.
func (r *relRun) elephant() {
	pattern := lines(64<<10, 64, "elephant") // sent over and over
	c, err := r.dial()
	if err != nil {
		r.fatalf("dial: %v", err)
	}
	defer c.Close()
	stop := make(chan struct{})
	var sent atomic.Int64
	want := atomic.Int64{}
	want.Store(-1) // set to the total sent once the elephant stops
	wrote := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				wrote <- nil
				return
			default:
			}
			_ = c.SetWriteDeadline(time.Now().Add(patience))
			n, err := c.Write(pattern)
			sent.Add(int64(n))
			if err != nil {
				wrote <- err
				return
			}
		}
	}()
	read := make(chan error, 1)
	var received int64
	go func() {
		buf := make([]byte, 64<<10)
		progress := time.Now()
		for {
			if w := want.Load(); w >= 0 && received >= w {
				read <- nil
				return
			}
			_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond)) // to look at want again
			n, err := c.Read(buf)
			for j := range n {
				if buf[j] != pattern[(received+int64(j))%int64(len(pattern))] {
					read <- fmt.Errorf("the elephant's answers differ at byte %d", received+int64(j))
					return
				}
			}
			received += int64(n)
			if n > 0 {
				progress = time.Now()
			}
			switch {
			case isTimeout(err) && time.Since(progress) < patience:
			case err != nil:
				read <- fmt.Errorf("the elephant got %d bytes back, then %v", received, err)
				return
			}
		}
	}()

	began := time.Now()
	res, err := loadgen.Run(context.Background(), loadgen.Config{Addr: r.c.addr, Proto: models.Echo,
		Clients: []int{100}, Duration: r.f.mice, Warmup: 500*time.Millisecond + r.starts(100), Timeout: relLoadTimeout + r.starts(100), Size: 64, Pipeline: 1})
	close(stop)
	if err := <-wrote; err != nil {
		if r.gnetInputFull() {
			r.documented(fmt.Sprintf("gnet cannot stop reading (gnet#712): the elephant was closed as write_timeout once %s of its input was unanswered (%v)",
				mib(int64(reactor.InputCap(&models.Config{MaxLine: r.c.start.MaxLine, MaxOutput: r.c.start.MaxOutput}))), err))
			return
		}
		r.errorf("the elephant's writes: %v", err)
	}
	want.Store(sent.Load())
	if err := <-read; err != nil {
		r.errorf("%v", err)
	}
	rate := float64(received) / time.Since(began).Seconds()
	if err != nil {
		r.fatalf("load: %v", err)
	}
	lvl := res.Levels[0]
	r.figuref("100 small clients: p99 %s (p50 %s), %s req/s, %d errors; elephant: %s back at %s/s",
		loadgen.Dur(lvl.Latency.P99), loadgen.Dur(lvl.Latency.P50), loadgen.Rate(lvl.Throughput), lvl.ErrorsTotal+lvl.Warmup.Errors,
		mib(received), mib(int64(rate)))
	if n := lvl.ErrorsTotal + lvl.Warmup.Errors; n > 0 {
		r.errorf("%d small clients' requests failed beside the elephant (%s); %s", n, errorKinds(lvl.Errors), timeline(lvl))
	}
	if p99 := time.Duration(lvl.Latency.P99); p99 > relMiceP99 {
		r.errorf("small clients' p99 %v beside the elephant, over %v", p99, relMiceP99)
	}
}

// timeline formats a level's answers and errors second by second, which
// tells a server that stalled from one that dropped requests.
func timeline(lvl loadgen.Level) string {
	var parts []string
	for _, s := range lvl.Timeline {
		parts = append(parts, fmt.Sprintf("%d/%d", s.Requests, s.Errors))
	}
	return "answers/errors by second: " + strings.Join(parts, " ")
}

// errorKinds formats the load generator's errors by kind.
func errorKinds(errs map[string]int64) string {
	var parts []string
	for k, n := range errs {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "none in the measured interval"
	}
	return strings.Join(parts, ", ")
}

// dataAndFIN sends a line (or three) and the FIN in one segment, four
// connections at a time: the server reads the request and the end of the
// stream at once, and must still answer before it closes.
func (r *relRun) dataAndFIN() {
	n := r.f.finSegs
	jobs := make(chan int)
	var wg sync.WaitGroup
	var bad failures
	for range 4 {
		wg.Go(func() {
			for i := range jobs {
				c, err := r.dial()
				if err != nil {
					bad.add("dial: %v", err)
					continue
				}
				data := fmt.Sprintf("fin %d\n", i)
				if i%3 == 2 {
					data = "fin a\nfin b\n" + data
				}
				if err := sendWithFIN(c, []byte(data)); err != nil {
					bad.add("send: %v", err)
					c.Close()
					continue
				}
				got, err := readUntilClose(c, patience)
				c.Close()
				if string(got) != data || err != nil {
					bad.add("got %q, %v; want %q and EOF", got, err, data)
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	bad.report(r, n, "clients sending their lines and FIN in one segment were not answered")
	r.quiet(r.at.opens + n)
	_, list := reasons(r.events())
	r.figuref("%d connections, lines and FIN in one segment: answered, then closed as %s", n, list)
}

// signalStorm drives echo load while signals rain on the server:
// SIGUSR1 (which iolab serve answers with a usage event), SIGURG (the Go
// runtime's preemption signal) and SIGWINCH to the process every 2 ms,
// and SIGURG to each of its threads every 10 ms, which interrupts every
// blocking system call. Nothing may fail, and an idle connection opened
// meanwhile must still be closed on time.
func (r *relRun) signalStorm() {
	idle := r.f.timeout
	stop := make(chan struct{})
	stormed := make(chan [2]int, 1)
	go func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		process, threads := 0, 0
		for i := 0; ; i++ {
			select {
			case <-stop:
				stormed <- [2]int{process, threads}
				return
			case <-tick.C:
			}
			for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGURG, syscall.SIGWINCH} {
				if r.c.signal(sig) == nil {
					process++
				}
			}
			if i%5 == 0 {
				threads += signalThreads(r.c.pid, syscall.SIGURG)
			}
		}
	}()
	// The idle connection waits as long as the contract allows, and a
	// second more. A serial model would serve it first and make the load
	// wait, so there it comes after the load.
	var idler *net.TCPConn
	idled := make(chan error, 1)
	idle1 := func() {
		var err error
		if idler, err = r.dial(); err != nil {
			idled <- err
			return
		}
		go func() {
			got, err := readUntilClose(idler, idle+relSlack+time.Second)
			if err == nil && len(got) > 0 {
				err = fmt.Errorf("got %q", got)
			}
			idled <- err
		}()
	}
	if !r.m.Serial {
		idle1()
	}
	res, lerr := loadgen.Run(context.Background(), loadgen.Config{Addr: r.c.addr, Proto: models.Echo,
		Clients: []int{r.count(r.f.loadClients, 1)}, Duration: r.f.stormFor, Timeout: relLoadTimeout + r.starts(r.f.loadClients), Size: 64, Pipeline: 1})
	if r.m.Serial {
		idle1()
	}
	ierr := <-idled
	if idler == nil {
		close(stop)
		r.fatalf("dial: %v", ierr)
	}
	defer idler.Close()
	close(stop)
	count := <-stormed
	if lerr != nil {
		r.fatalf("load: %v (%s)", lerr, r.c.died())
	}
	lvl := res.Levels[0]
	usage := r.c.log.tally().usage - r.at.usage
	closes := r.closesOf([]string{idler.LocalAddr().String()}, patience)
	e, closed := closes[idler.LocalAddr().String()]
	how := "not closed"
	if closed {
		how = fmt.Sprintf("closed as %s after %s", e.Reason, seconds(time.Duration(e.DurationUs)*time.Microsecond))
	}
	r.figuref("%d signals to the process, %d to single threads: %s req/s, %d errors, %d usage events; idle connection %s",
		count[0], count[1], loadgen.Rate(lvl.Throughput), lvl.ErrorsTotal+lvl.Warmup.Errors, usage, how)
	if n := lvl.ErrorsTotal + lvl.Warmup.Errors; n > 0 {
		r.errorf("%d requests failed under the signal storm (%s); %s", n, errorKinds(lvl.Errors), timeline(lvl))
	}
	if usage == 0 {
		r.errorf("no %s event, though SIGUSR1 was sent %d times", models.EventUsage, count[0]/3)
	}
	switch {
	case ierr != nil && isTimeout(ierr):
		r.errorf("an idle connection was not closed within %v under the signal storm (-idle-timeout %v): the signals restart its timeout", idle+relSlack+time.Second, idle)
	case ierr != nil && !closedByPeer(ierr):
		r.errorf("an idle connection under the signal storm: %v", ierr)
	case !closed:
		r.errorf("the idle connection's close was not logged")
	case e.Reason != models.ReasonIdle.String():
		r.errorf("the idle connection was closed as %s, want %s", e.Reason, models.ReasonIdle)
	case time.Duration(e.DurationUs)*time.Microsecond > idle+relSlack:
		r.errorf("the idle connection was closed after %s under the signal storm, more than %v after -idle-timeout %v",
			seconds(time.Duration(e.DurationUs)*time.Microsecond), relSlack, idle)
	}
}

// shutdownUnderLoad sends SIGTERM while clients keep requests in flight,
// each with 20 ms of sleep work. The server must exit 0 within its
// shutdown timeout, after answering every request it took: the answers
// it counts in its stop event are the answers the clients received.
func (r *relRun) shutdownUnderLoad() {
	clients := r.count(r.f.loadClients, 1)
	established := make(chan struct{})
	var once sync.Once
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		res *loadgen.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := loadgen.Run(ctx, loadgen.Config{Addr: r.c.addr, Proto: models.Echo,
			Clients: []int{clients}, Duration: time.Hour, Timeout: patience, Size: 64, Pipeline: 1,
			Progress: func(p loadgen.Progress) {
				if p.Requests >= int64(5*clients) {
					once.Do(func() { close(established) })
				}
			}})
		done <- result{res, err}
	}()
	select {
	case <-established:
	case <-time.After(patience):
		cancel()
		<-done
		r.fatalf("the load did not get going within %v", patience)
	}
	took, err := r.c.stop()
	cancel()
	res := <-done
	if err != nil {
		r.errorf("%v", err)
	}
	if res.err != nil && !errors.Is(res.err, context.Canceled) {
		r.fatalf("load: %v", res.err)
	}
	cfg, _ := r.c.spec.config()
	if took > cfg.ShutdownTimeout+relSlack {
		r.errorf("exited %v after SIGTERM, more than the shutdown timeout %v and %v", took, cfg.ShutdownTimeout, relSlack)
	}
	stop := r.c.log.tally().stop
	if stop == nil || len(res.res.Levels) == 0 {
		r.fatalf("no stop event, or no load measured")
	}
	lvl := res.res.Levels[0]
	received := lvl.Requests + lvl.Warmup.Requests
	sent := stop.Requests - r.answeredBefore() // the stop event counts the warm-up's too
	_, list := reasons(r.events())
	r.figuref("SIGTERM under %d clients: exited in %s; %d answers sent, %d received; closed as %s", clients, seconds(took), sent, received, list)
	if received != sent {
		r.errorf("the server counted %d answers and the clients received %d: answers lost at shutdown", sent, received)
	}
	if count, _ := reasons(r.events()); count[models.ReasonError.String()] > 0 {
		r.errorf("connections closed as error at shutdown: %s", firstError(r.events(), models.ReasonError.String()))
	}
}

// listenOne connects many clients at once to a server listening with a
// backlog of 1, the tutorial's listen(1). Most wait or are dropped; what
// is required is that nothing else goes wrong: each client is served, or
// refused, or times out, and no answer is wrong.
func (r *relRun) listenOne() {
	n := r.f.listen1
	var out syncCounter
	var wrong failures
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", r.c.addr, relSlack)
			switch {
			case err == nil:
			case errors.Is(err, syscall.ECONNREFUSED):
				out.add("refused")
				return
			case isTimeout(err):
				out.add("connect timeout")
				return
			default:
				out.add("connect error")
				return
			}
			defer c.Close()
			line := fmt.Sprintf("listen1 %d\n", i)
			if _, err := c.Write([]byte(line)); err != nil {
				out.add("reset")
				return
			}
			switch err := expectLine(c, line, relSlack+r.starts(n)); {
			case err == nil:
				out.add("served")
			case isTimeout(err):
				out.add("answer timeout")
			case closedByPeer(err):
				out.add("closed")
			default:
				out.add("wrong")
				wrong.add("%v", err)
			}
		})
	}
	wg.Wait()
	r.figuref("%d connects at once to listen(1): %s", n, out.String())
	wrong.report(r, n, "answers were wrong")
	if out.get("served") == 0 {
		r.errorf("none of %d clients was served", n)
	}
}

// manyClients runs the load generator's echo clients, all at once: every
// request must be answered, with no error, and the server must live.
func (r *relRun) manyClients() {
	n := r.f.clients
	if relRace && n > 8000 {
		r.skip("the race detector allows 8128 goroutines a process; make reliability runs without it")
	}
	s := r.sample(100 * time.Millisecond)
	res, err := loadgen.Run(context.Background(), loadgen.Config{Addr: r.c.addr, Proto: models.Echo,
		Clients: []int{n}, Duration: r.f.clientsFor, Warmup: r.f.clientsWarm, Timeout: relLoadTimeout, Size: 64, Pipeline: 1})
	peak := s.end()
	if err != nil {
		r.fatalf("load: %v (%s)", err, r.c.died())
	}
	lvl := res.Levels[0]
	r.figuref("%d clients: %s req/s, %d errors (+%d in warm-up), p99 %s; peak %d threads, %s RSS",
		n, loadgen.Rate(lvl.Throughput), lvl.ErrorsTotal, lvl.Warmup.Errors, loadgen.Dur(lvl.Latency.P99), peak.Threads, mib(peak.RSS))
	if !r.c.running() {
		r.fatalf("%s", r.c.died())
	}
	failed := lvl.ErrorsTotal + lvl.Warmup.Errors
	if r.m.Bounded && failed > 0 {
		// A bounded model (a pool, or fork's cap on children) serves so
		// many clients, and the others wait in the accept queue, where the
		// client's timeout ends them: failures by design, and only those.
		// A wrong answer, a reset or a crash would still be a failure.
		// (The warm-up counts its errors without their kinds.)
		if lvl.Errors["connect_timeout"]+lvl.Errors["read_timeout"] == lvl.ErrorsTotal {
			r.figuref("%d clients, %d served at once: %s req/s, p99 %s; %d timed out waiting (%s), +%d in the warm-up; peak %d threads, %s RSS",
				n, r.atOnce(), loadgen.Rate(lvl.Throughput), loadgen.Dur(lvl.Latency.P99), lvl.ErrorsTotal, errorKinds(lvl.Errors), lvl.Warmup.Errors, peak.Threads, mib(peak.RSS))
			failed = 0
		}
	}
	timeouts := lvl.Errors["connect_timeout"] + lvl.Errors["read_timeout"]
	if failed > 0 && r.m.Name == "threads" && timeouts == lvl.ErrorsTotal && lvl.Requests > 0 && time.Duration(lvl.Latency.P99) <= relLoadTimeout {
		// What models/threads documents: its threads take turns for the
		// runtime's Ps in a first-in, first-out queue, and a round of it
		// can outlast the client's timeout when the machine is shared.
		// What it keeps: no crash, no wrong answer and no reset, every
		// request answered or timed out, the answered ones within it.
		r.documented(fmt.Sprintf("%d clients: %s req/s, p99 %s; %d of %d requests timed out waiting for their thread's turn (%s), +%d in the warm-up; none wrong or reset, the server alive; peak %d threads",
			n, loadgen.Rate(lvl.Throughput), loadgen.Dur(lvl.Latency.P99), lvl.ErrorsTotal, lvl.Requests+lvl.ErrorsTotal, errorKinds(lvl.Errors), lvl.Warmup.Errors, peak.Threads))
		return
	}
	if failed > 0 {
		r.errorf("%d requests failed (%s), %d in the warm-up; %s", lvl.ErrorsTotal+lvl.Warmup.Errors, errorKinds(lvl.Errors), lvl.Warmup.Errors, timeline(lvl))
	}
	if lvl.Requests == 0 {
		r.errorf("no request answered")
	}
}

// waves returns in how many turns the model serves k clients that each
// hold their connection: one for a model that serves them all at once, k
// for a serial one, and for a bounded one (a pool, fork's cap on
// children) as many turns as its limit takes.
func (r *relRun) waves(k int) int {
	switch {
	case r.m.Serial:
		return k
	case r.m.Bounded:
		if n := r.atOnce(); n > 0 {
			return (k + n - 1) / n
		}
	}
	return 1
}

// relProcessStart is what the suite allows a model that starts a process
// per connection (fork) for each start, one after the other: a whole Go
// runtime started, under the race detector and beside the suite's own
// load on two cores. It only makes a bound that catches a hang generous
// enough not to catch a slow start.
const relProcessStart = 100 * time.Millisecond

// starts returns how long the model may take, in all, to start what k
// clients cost it before it serves them: a process each for fork, nothing
// for the others.
func (r *relRun) starts(k int) time.Duration {
	if r.m.Processes && r.m.Workers == 0 {
		return time.Duration(k) * relProcessStart
	}
	return 0
}

// atOnce returns how many clients a bounded model serves at once, as its
// start event says: its pool, or else its connection limit.
func (r *relRun) atOnce() int {
	for _, e := range r.c.log.since(0) {
		if e.Event == models.EventStart {
			if e.Workers > 0 {
				return e.Workers
			}
			return e.MaxConns
		}
	}
	return 0
}

// gnetInputFull reports whether the server is the gnet model and closed a
// client as write_timeout during the scenario: the model's documented
// refusal of a client whose unanswered input passes its input cap, since
// gnet reads every socket without bound (models/reactor, gnet#712). It is
// loud, in the log and to the client, not a silent loss.
func (r *relRun) gnetInputFull() bool {
	return r.m.Name == "gnet" && r.c.log.await(relSlack, func(l *tally) bool {
		return l.reasons[models.ReasonWriteTimeout.String()] > r.at.reasons[models.ReasonWriteTimeout.String()]
	})
}
