//go:build linux

package epoll

import (
	"runtime"
	"sync"

	"iolab/models"
)

// offload is the workers model's pool (Flash's AMPED, the
// half-sync/half-async pattern): OS threads that do a request's cpu work
// off the loop, so that the loop's other clients are not held up while
// one request computes. The loop hands a connection over (begin), and
// marks it asleep, as for sleep work; a worker does the work, queues the
// connection in done, and wakes the loop through the poller's eventfd;
// the loop takes the queue (loopOffloaded) and writes the answer. Sleep
// work stays on the loop's timers: waiting needs no thread.
//
// A worker touches nothing of the connection but its pointer, which it
// hands back: the loop alone reads and writes the socket.
type offload struct {
	cfg  *models.Config
	p    *poller
	jobs chan *conn // connections whose work is to be done; at most one each in flight
	wg   sync.WaitGroup

	mu   sync.Mutex
	done []*conn // work done, answers owed; guarded by mu
}

// startOffload starts n worker threads. queue bounds the jobs waiting:
// the connection limit, since a connection has one request in flight at
// most, so that handing over never blocks the loop.
func startOffload(n, queue int, cfg *models.Config, p *poller) *offload {
	o := &offload{cfg: cfg, p: p, jobs: make(chan *conn, queue)}
	for range n {
		o.wg.Go(func() {
			runtime.LockOSThread() // a worker is an OS thread of its own
			defer runtime.UnlockOSThread()
			for c := range o.jobs {
				models.BeginWork(o.cfg) // cpu work: spins on this thread
				o.mu.Lock()
				o.done = append(o.done, c)
				o.mu.Unlock()
				_ = o.p.wake()
			}
		})
	}
	return o
}

// take returns the connections whose work is done, and empties the queue.
func (o *offload) take() []*conn {
	o.mu.Lock()
	defer o.mu.Unlock()
	d := o.done
	o.done = nil
	return d
}

// stop ends the workers once the jobs handed over are done. The loop
// calls it before it closes the poller, which the workers wake.
func (o *offload) stop() {
	close(o.jobs)
	o.wg.Wait()
}

// loopOffloaded answers the requests whose work the workers have done, as
// runTimers does for sleep work.
func (l *loop) loopOffloaded() {
	for _, c := range l.off.take() {
		l.WorkDone(c)
	}
}
