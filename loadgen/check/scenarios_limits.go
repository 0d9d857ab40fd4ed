package check

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"iolab/models"
	"iolab/models/reactor"
)

// fdLimit is RLIMIT_NOFILE in the fd scenarios: as in
// TestAcceptErrorPauses, small enough that 80 clients exhaust it.
const fdLimit = 64

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
func (f *failures) report(r *run, total int, what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n > 0 {
		r.errorf("%d of %d %s; the first: %s", f.n, total, what, f.first)
	}
}

// fdExhaustion connects more clients than the server has descriptors
// (fdLimit), each sending a line. With the default -max-conns the
// server must stop accepting below its limit on open files: clients past
// -max-conns wait in the accept queue, or are refused with a max_conns
// close, and accept(2) never fails. With -max-conns above the limit
// (emfile), accept fails with EMFILE: the server must log it and pause,
// not spin. Either way it must not die, and once clients leave, those that
// waited are served.
func (r *run) fdExhaustion(emfile bool) {
	limit := r.c.start.MaxConns // 0 for a server other than iolab's: not known
	n := fdLimit + 16
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
	// or has accepted everyone. A server that logs no events is there
	// once its descriptors stop growing.
	if r.logged() {
		r.c.log.await(patience, func(l *tally) bool {
			return l.acceptErrors > r.at.acceptErrors || l.limitReached > r.at.limitReached || l.opens-r.at.opens >= len(conns)
		})
	} else {
		r.steadyFDs()
	}
	before, _ := r.c.sample()
	time.Sleep(spinWindow) // a window to measure CPU in, not a synchronisation
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

	if r.logged() {
		r.limitEvents(emfile, limit, len(conns), servedAtOnce)
	}
	if ticks > spinTicks {
		r.errorf("used %d clock ticks of CPU in %v while it could accept no one: spinning", ticks, spinWindow)
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
	if !r.logged() {
		r.figuref("%d clients, %d descriptors: %d served at once, %d closed unanswered, CPU %d ticks in %v; %d waiting served after %d left",
			len(conns), fdLimit, servedAtOnce, refused, ticks, spinWindow, len(served)-servedAtOnce, len(left))
		return
	}
	if logged := r.closedFor(models.ReasonMaxConns); logged < refused {
		r.errorf("%d clients were closed unanswered, and only %d closes logged as %s", refused, logged, models.ReasonMaxConns)
	}
	if emfile {
		r.figuref("%d clients, %d descriptors: accept failed %d times (%s), CPU %d ticks in %v; %d waiting served after %d left",
			len(conns), fdLimit, r.c.log.tally().acceptErrors-r.at.acceptErrors, firstAcceptError(r.events()), ticks, spinWindow, len(served)-servedAtOnce, len(left))
		return
	}
	r.figuref("%d clients, -max-conns %d: %d served at once, %d refused, CPU %d ticks in %v; %d waiting served after %d left",
		len(conns), limit, servedAtOnce, refused, ticks, spinWindow, len(served)-servedAtOnce, len(left))
}

// limitEvents checks what one of iolab's models logs at its limit: with
// -max-conns above the descriptor limit, accept_error; below it, never
// accept_error, no more than -max-conns served at once, and
// limit_reached.
func (r *run) limitEvents(emfile bool, limit, clients, servedAtOnce int) {
	l := r.c.log.tally()
	acceptErrors := l.acceptErrors - r.at.acceptErrors
	if emfile && acceptErrors == 0 {
		r.errorf("no %s event with %d clients, a limit of %d descriptors and -max-conns %d", models.EventAcceptError, clients, fdLimit, limit)
	}
	if emfile {
		return
	}
	if acceptErrors > 0 {
		r.errorf("accept(2) failed %d times although -max-conns %d is below the limit of %d descriptors: %s",
			acceptErrors, limit, fdLimit, firstAcceptError(r.events()))
	}
	if servedAtOnce > limit {
		r.errorf("served %d clients at once, more than -max-conns %d", servedAtOnce, limit)
	}
	if l.limitReached == r.at.limitReached {
		r.errorf("no %s event with %d clients at -max-conns %d", models.EventLimitReached, clients, limit)
	}
}

// steadyFDs waits, at most patience, until the server's descriptors have
// not changed for a fifth of a second: a server that logs nothing has
// then taken what it will take of a crowd of clients.
func (r *run) steadyFDs() {
	tick := time.NewTicker(50 * time.Millisecond) // another process's /proc: nothing to wait on
	defer tick.Stop()
	deadline := time.Now().Add(patience)
	last, same := -1, 0
	for same < 4 && time.Now().Before(deadline) {
		s, err := r.c.sample()
		if err != nil {
			return
		}
		if s.FDs == last {
			same++
		} else {
			last, same = s.FDs, 0
		}
		<-tick.C
	}
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
func (r *run) answeredBefore() int64 {
	var n int64
	for _, e := range r.c.log.since(0)[:r.mark] {
		if e.Event == models.EventConnClose {
			n += e.Requests
		}
	}
	return n
}

// closedFor counts the closes for reason since the scenario began.
func (r *run) closedFor(reason models.Reason) int {
	count, _ := reasons(r.events())
	return count[reason.String()]
}

// flood holds -max-conns connections open, then connects four times as
// many clients, each sending a line. While the first are held, none of the
// others may be served: they wait in the accept queue, or are refused
// with a max_conns close (and come back). Once the first leave, every one
// is served. The limit's events must be logged.
func (r *run) flood() {
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
	reached := r.m.Serial || r.c.log.await(slack, func(l *tally) bool { return l.limitReached > r.at.limitReached })
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
	time.Sleep(spinWindow) // a window in which a server that keeps its limit serves none of them
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
	if !r.m.Serial && !r.c.log.await(slack, func(l *tally) bool { return l.limitLeft > r.at.limitLeft }) {
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

// listenOne connects many clients at once to a server listening with a
// backlog of 1, the tutorial's listen(1). Most wait or are dropped; what
// is required is that nothing else goes wrong: each client is served, or
// refused, or times out, and no answer is wrong.
func (r *run) listenOne() {
	n := r.f.listen1
	var out syncCounter
	var wrong failures
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", r.c.addr, slack)
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
			if r.tg.proto() == models.Greeting {
				err = r.greetedWithin(c, slack)
			} else {
				line := fmt.Sprintf("listen1 %d\n", i)
				if _, err := c.Write([]byte(line)); err != nil {
					out.add("reset")
					return
				}
				err = expectLine(c, line, slack+r.starts(n))
			}
			switch {
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
	backlog := "listen(1)"
	if !r.tg.model() {
		backlog = "its own backlog"
	}
	r.figuref("%d connects at once to %s: %s", n, backlog, out.String())
	wrong.report(r, n, "answers were wrong")
	if out.get("served") == 0 {
		r.errorf("none of %d clients was served", n)
	}
}

// waves returns in how many turns the model serves k clients that each
// hold their connection: one for a model that serves them all at once, k
// for a serial one, and for a bounded one (a pool, fork's cap on
// children) as many turns as its limit takes.
func (r *run) waves(k int) int {
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

// processStart is what the suite allows a model that starts a process
// per connection (fork) for each start, one after the other: a whole Go
// runtime started, under the race detector and beside the suite's own
// load on two cores. It only makes a bound that catches a hang generous
// enough not to catch a slow start.
const processStart = 100 * time.Millisecond

// starts returns how long the model may take, in all, to start what k
// clients cost it before it serves them: a process each for fork, nothing
// for the others.
func (r *run) starts(k int) time.Duration {
	if r.m.Processes && r.m.Workers == 0 {
		return time.Duration(k) * processStart
	}
	return 0
}

// atOnce returns how many clients a bounded model serves at once, as its
// start event says: its pool, or else its connection limit.
func (r *run) atOnce() int {
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
func (r *run) gnetInputFull() bool {
	return r.m.Name == "gnet" && r.c.log.await(slack, func(l *tally) bool {
		return l.reasons[models.ReasonWriteTimeout.String()] > r.at.reasons[models.ReasonWriteTimeout.String()]
	})
}
