package check

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"iolab/loadgen"
	"iolab/models"
	"iolab/models/proc"
	"iolab/models/reactor"
)

// neverReadsIdle is -idle-timeout in the scenario of the client that
// never reads, in units of the form's timeout: three times, so that a
// write timeout that restarts once (two timeouts) is more than slack
// later than one that does not.
const neverReadsIdle = 3

// buffered is how much a server's resident memory may grow, beyond its
// -max-output, while a client sends and never reads: the garbage of the
// lines it answered before it stopped reading, not yet collected.
const buffered = 16 << 20

// slowloris holds connections open with one byte every fifth of
// -request-timeout and never a newline, while -idle-timeout is five times
// longer: each byte would reset an idle timer, so only the request
// timeout can close them. It must, as request_timeout, within
// slack of the timeout.
func (r *run) slowloris() {
	rt := r.requestTimeout()
	k := r.count(r.f.loris, 2)
	waves := 1
	if r.m.Serial {
		waves = k // each waits for the one before it
	}
	giveUp := time.Duration(waves) * (rt + slack)
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
	lived := make([]time.Duration, k) // until the server's close, by the client's clock
	var open atomic.Int32
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			closed := make(chan struct{})
			began := time.Now()
			go func() { // sees the server's close: EOF or a reset
				defer close(closed)
				if _, err := readUntilClose(c, giveUp+patience); err == nil || closedByPeer(err) {
					lived[i] = time.Since(began)
				}
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
	r.timedCloses(addrsOf(conns), lived, models.ReasonRequestTimeout, rt, fmt.Sprintf("%d clients, a byte every %v", k, rt/5), extra)
}

// timedCloses checks that the server closed the connections of addrs for
// reason, each between 0.9 and 1 times d plus slack after it accepted
// it, and sets the figure, after what. A server that logs no events is
// judged by lived, how long each connection lasted by its client's clock
// (zero if the server never closed it): at most d and slack.
func (r *run) timedCloses(addrs []string, lived []time.Duration, reason models.Reason, d time.Duration, what, extra string) {
	if !r.logged() {
		closed := slices.DeleteFunc(slices.Clone(lived), func(l time.Duration) bool { return l == 0 })
		if len(closed) == 0 {
			r.figuref("%s: none closed by the server%s", what, extra)
			return
		}
		lo, hi := slices.Min(closed), slices.Max(closed)
		if hi > d+slack {
			r.errorf("a connection closed after %s, more than %v after the promised timeout of %v", seconds(hi), slack, d)
		}
		r.figuref("%s: %d of %d closed by the server after %s–%s%s", what, len(closed), len(lived), seconds(lo), seconds(hi), extra)
		return
	}
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
	case thi > d+slack:
		r.errorf("closed as %s after %s, more than %v after the timeout of %v", reason, seconds(thi), slack, d)
	}
	_, list := reasons(evs)
	r.figuref("%s: closed as %s after %s–%s%s", what, list, seconds(lo), seconds(hi), extra)
}

// idleConns opens connections that go quiet, half of them at once and
// half after one line answered. Each must be closed as idle_timeout,
// within slack of -idle-timeout.
func (r *run) idleConns() {
	idle := r.idleTimeout()
	k := r.count(r.f.idlers, 2)
	waves := r.waves(k)
	conns := make([]*net.TCPConn, k)
	lived := make([]time.Duration, k) // until the server's close, by the client's clock
	var wg sync.WaitGroup
	var bad failures
	for i := range conns {
		c, err := r.dial()
		if err != nil {
			r.fatalf("dial: %v", err)
		}
		conns[i] = c
		defer c.Close()
		began := time.Now()
		wg.Go(func() {
			if i%2 == 1 {
				line := fmt.Sprintf("idle %d\n", i)
				if _, err := c.Write([]byte(line)); err != nil {
					bad.add("write: %v", err)
					return
				}
				if err := expectLine(c, line, time.Duration(waves)*(idle+slack)+r.starts(k)+patience); err != nil {
					bad.add("%v", err)
					return
				}
			}
			got, err := readUntilClose(c, time.Duration(waves)*(idle+slack)+r.starts(k)+patience)
			if len(got) > 0 || err != nil && !closedByPeer(err) {
				bad.add("an idle connection: got %q, %v; want a close", abbrev(got), err)
				return
			}
			lived[i] = time.Since(began)
		})
	}
	wg.Wait()
	bad.report(r, k, "idle clients were not closed cleanly")
	r.timedCloses(addrsOf(conns), lived, models.ReasonIdle, idle, fmt.Sprintf("%d connections, half after one line", k), "")
}

// neverReads sends lines as fast as the server takes them and never reads
// an answer. The server must stop reading once its answers back up (at
// most -max-output beyond the kernel's buffers), so that its memory does
// not grow with what the client sends, and close the connection as
// write_timeout about -idle-timeout later.
func (r *run) neverReads() {
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
	if !r.logged() {
		r.neverReadsClosed(c, werr, stalled, stopped, sent, s.end())
		return
	}
	addr := c.LocalAddr().String()
	closes := r.closesOf([]string{addr}, patience)
	peak := s.end()
	grew := peak.RSS - r.base.RSS
	bound := int64(r.c.start.MaxOutput) + buffered
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
	case time.Duration(e.DurationUs)*time.Microsecond-stalled.Sub(began) > r.idleTimeout()+slack:
		// The server stops reading when its answers back up, and the
		// client's writes stall moments later: from then on, one answer,
		// one deadline. How long the answers took to back up is the
		// machine's speed, not the server's deadline, and is not judged.
		r.errorf("closed as %s %s after the accept, %s after the client's writes stalled: more than %v after -idle-timeout %v: one answer, one deadline",
			e.Reason, seconds(time.Duration(e.DurationUs)*time.Microsecond), seconds(time.Duration(e.DurationUs)*time.Microsecond-stalled.Sub(began)), slack, r.idleTimeout())
	}
	if r.m.Name == "gnet" {
		// gnet cannot stop reading a socket (gnet#712): the model holds up
		// to its input cap for the client, in a ring buffer that grows by
		// doubling, before it closes it.
		bound += 2 * int64(reactor.InputCap(&models.Config{MaxLine: r.c.start.MaxLine, MaxOutput: r.c.start.MaxOutput}))
	}
	if grew > bound && !raceDetector { // under the race detector RSS is shown, not judged
		r.errorf("resident memory grew by %s while the client sent %s and read nothing, more than -max-output %s and %s: answers are buffered without bound",
			mib(grew), mib(int64(sent)), mib(int64(r.c.start.MaxOutput)), mib(buffered))
	}
}

// neverReadsClosed judges a server that logs no events from the client's
// side: once the client's writes stall, the server must close the
// connection within its promised timeout and slack (the client sees it
// in its socket's state, without reading), and, if the check runs its
// process, its memory must not grow with what the client sent.
func (r *run) neverReadsClosed(c *net.TCPConn, werr error, stalled time.Time, stopped time.Duration, sent int, peak proc.Sample) {
	giveUp := r.idleTimeout() + slack
	closed := closedByPeer(werr)
	var closedAfter time.Duration
	if !closed {
		_, closed = awaitPeerClose(c, time.Until(stalled.Add(giveUp)))
	}
	closedAfter = time.Since(stalled)
	how := "not closed"
	if closed {
		how = fmt.Sprintf("closed by the server %s after the writes stalled", seconds(closedAfter))
	}
	grew := peak.RSS - r.base.RSS
	growth := ""
	if r.c.process() {
		growth = fmt.Sprintf(": RSS %s at peak", dmib(grew))
	}
	r.figuref("took %s in %s, read nothing%s; %s", mib(int64(sent)), seconds(stopped), growth, how)
	if !closed {
		r.errorf("the server stopped reading and did not close the connection within %v of the client's writes stalling (its promised timeout %v and %v)", giveUp, r.idleTimeout(), slack)
	}
	if r.c.process() && grew > 2*buffered {
		r.errorf("resident memory grew by %s while the client sent %s and read nothing: what it sends is kept without bound", mib(grew), mib(int64(sent)))
	}
}

// signalStorm drives load while signals rain on the server: SIGURG
// (the Go runtime's preemption signal) and SIGWINCH to the process every
// 2 ms, and SIGUSR1 to one of iolab's models (which logs a usage event),
// and SIGURG to each of its threads every 10 ms, which interrupts every
// blocking system call. Nothing may fail, and an idle connection opened
// meanwhile must still be closed on time. Another server is sent only
// signals whose default action is to ignore them: SIGUSR1 would end a
// server that does not handle it, as the signal's contract says.
func (r *run) signalStorm() {
	idle := r.idleTimeout()
	signals := []syscall.Signal{syscall.SIGURG, syscall.SIGWINCH}
	if r.logged() {
		signals = append(signals, syscall.SIGUSR1)
	}
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
			for _, sig := range signals {
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
	// wait, so there it comes after the load. A greeting server has no
	// idle connections: it speaks and closes.
	echo := r.tg.proto() == models.Echo
	var idler *net.TCPConn
	idled := make(chan error, 1)
	idleLived := time.Duration(0)
	idle1 := func() {
		var err error
		if idler, err = r.dial(); err != nil {
			idled <- err
			return
		}
		began := time.Now()
		go func() {
			got, err := readUntilClose(idler, idle+slack+time.Second)
			if err == nil && len(got) > 0 {
				err = fmt.Errorf("got %q", got)
			}
			idleLived = time.Since(began)
			idled <- err
		}()
	}
	if echo && !r.m.Serial {
		idle1()
	}
	cfg := r.loadConfig(r.count(r.f.loadClients, 1))
	cfg.Duration, cfg.Timeout = r.f.stormFor, loadTimeout+r.starts(r.f.loadClients)
	res, lerr := loadgen.Run(context.Background(), cfg)
	if echo && r.m.Serial {
		idle1()
	}
	var ierr error
	if echo {
		ierr = <-idled
	}
	close(stop)
	count := <-stormed
	if echo && idler == nil {
		r.fatalf("dial: %v", ierr)
	}
	if idler != nil {
		defer idler.Close()
	}
	if lerr != nil {
		r.fatalf("load: %v (%s)", lerr, r.c.died())
	}
	lvl := res.Levels[0]
	figure := fmt.Sprintf("%d signals to the process, %d to single threads: %s req/s, %d errors",
		count[0], count[1], loadgen.Rate(lvl.Throughput), lvl.ErrorsTotal+lvl.Warmup.Errors)
	if n := lvl.ErrorsTotal + lvl.Warmup.Errors; n > 0 {
		r.errorf("%d requests failed under the signal storm (%s); %s", n, errorKinds(lvl.Errors), timeline(lvl))
	}
	if !r.c.running() {
		r.fatalf("%s under the signal storm", r.c.died())
	}
	switch {
	case !echo:
		r.figuref("%s", figure)
		return
	case ierr != nil && isTimeout(ierr):
		r.errorf("an idle connection was not closed within %v under the signal storm (timeout %v): the signals restart its timeout", idle+slack+time.Second, idle)
	case ierr != nil && !closedByPeer(ierr):
		r.errorf("an idle connection under the signal storm: %v", ierr)
	}
	if !r.logged() {
		if ierr == nil || closedByPeer(ierr) {
			figure += fmt.Sprintf("; idle connection closed by the server after %s", seconds(idleLived))
		}
		r.figuref("%s", figure)
		return
	}
	usage := r.c.log.tally().usage - r.at.usage
	closes := r.closesOf([]string{idler.LocalAddr().String()}, patience)
	e, closed := closes[idler.LocalAddr().String()]
	how := "not closed"
	if closed {
		how = fmt.Sprintf("closed as %s after %s", e.Reason, seconds(time.Duration(e.DurationUs)*time.Microsecond))
	}
	r.figuref("%s, %d usage events; idle connection %s", figure, usage, how)
	if usage == 0 {
		r.errorf("no %s event, though SIGUSR1 was sent %d times", models.EventUsage, count[0]/3)
	}
	switch {
	case ierr != nil:
	case !closed:
		r.errorf("the idle connection's close was not logged")
	case e.Reason != models.ReasonIdle.String():
		r.errorf("the idle connection was closed as %s, want %s", e.Reason, models.ReasonIdle)
	case time.Duration(e.DurationUs)*time.Microsecond > idle+slack:
		r.errorf("the idle connection was closed after %s under the signal storm, more than %v after -idle-timeout %v",
			seconds(time.Duration(e.DurationUs)*time.Microsecond), slack, idle)
	}
}
