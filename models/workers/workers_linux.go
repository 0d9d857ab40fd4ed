//go:build linux

package workers

import (
	"context"
	"net"
	"runtime"
	"sync"

	"iolab/models"
	"iolab/models/epoll"
)

// Serve runs one epoll event loop with a pool of cfg.Workers threads until
// ctx is done. With work that holds a thread (cpu, block, disk: a disk
// read is what Flash's helpers were for) the loop hands each request to
// the pool (epoll.Offload) and goes on serving its other clients; sleep
// work stays on the loop's timers, since waiting needs no thread, and so
// does a request with no work at all.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	p := startPool(&s.cfg, s.cfg.Workers, s.cfg.Limit())
	defer p.stop() // after ServeAs, which returns once every job is back
	var offload epoll.Offload
	if s.cfg.Work.HoldsThread() {
		offload = p.submit
	}
	return epoll.ServeAs(ctx, "workers", &s.cfg, offload, ready)
}

// pool is the half-sync half of the design: OS threads that each take a
// job, do its cpu work, and hand it back to the loop (Job.Done), which
// wakes up and writes the answer. A worker touches nothing of the
// connection: the loop alone reads and writes the socket.
type pool struct {
	cfg  *models.Config
	jobs chan epoll.Job
	wg   sync.WaitGroup
}

// startPool starts n worker threads. queue bounds the jobs waiting for a
// worker: the connection limit, since a connection has one request in
// flight at most, so that handing a job over never blocks the loop.
func startPool(cfg *models.Config, n, queue int) *pool {
	p := &pool{cfg: cfg, jobs: make(chan epoll.Job, queue)}
	for range n {
		p.wg.Go(func() {
			runtime.LockOSThread() // a worker is an OS thread of its own
			defer runtime.UnlockOSThread()
			for j := range p.jobs { // blocks on the channel (a futex) until a job comes
				models.BeginWork(p.cfg, j.Request()) // spins, or blocks this thread in the kernel
				j.Done()
			}
		})
	}
	return p
}

// submit is the loop's offload hook: it queues the job for a worker.
func (p *pool) submit(j epoll.Job) { p.jobs <- j }

// stop ends the workers; there is no job left by then.
func (p *pool) stop() {
	close(p.jobs)
	p.wg.Wait()
}
