//go:build linux

package epoll

import "sync"

// Offload is the hook through which a model adds a pool of threads to this
// loop (models/workers, Flash's AMPED design): given one, the loop hands
// each request's work to it (begin) instead of doing it on its own
// thread, marks the connection asleep, as for a sleep, and goes on serving
// the others. The epoll and reuseport models give none, and the work runs
// on the loop.
type Offload func(Job)

// Job is one request whose work runs off the loop. Whoever runs it calls
// Done, from any thread, once the work is over; the loop then answers the
// request on its own thread. Nothing else of the connection leaves the
// loop: the socket is read and written by the loop alone.
type Job struct {
	l *loop
	c *conn
}

// Request is the job's request line (the greeting, for that protocol),
// which the loop does not touch until the job is back.
func (j Job) Request() []byte { return j.c.Reply }

// Done hands the job back to its loop: it queues the connection and
// wakes the loop through the poller's eventfd (loopHandedBack).
func (j Job) Done() {
	b := &j.l.back
	b.mu.Lock()
	b.done = append(b.done, j.c)
	b.mu.Unlock()
	_ = j.l.p.wake()
}

// handedBack is where jobs come back from other threads.
type handedBack struct {
	mu   sync.Mutex
	done []*conn // work done, answers owed; guarded by mu
	away int     // jobs handed off and not yet back; the loop's alone
}

// handOff gives c's request, whose answer is reply, to the offload hook.
func (l *loop) handOff(c *conn, reply []byte) {
	c.Reply, c.Asleep = reply, true // as for sleep work: the loop goes on with others
	l.back.away++
	l.offload(Job{l: l, c: c})
}

// loopHandedBack answers the requests whose work is done off the loop, as
// runTimers does for sleep work. A connection closed meanwhile (the
// shutdown timeout) is stale, and WorkDone leaves it.
func (l *loop) loopHandedBack() {
	l.back.mu.Lock()
	done := l.back.done
	l.back.done = nil
	l.back.mu.Unlock()
	l.back.away -= len(done)
	for _, c := range done {
		l.WorkDone(c)
	}
}

// awaitHandedBack waits until every job handed off has come back, so that
// no thread wakes the poller once it is closed.
func (l *loop) awaitHandedBack() error {
	for l.back.away > 0 {
		if _, err := l.p.wait(-1); err != nil {
			return err
		}
		l.p.drainWake()
		l.loopHandedBack()
	}
	return nil
}
