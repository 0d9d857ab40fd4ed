// Package workers is Flash's AMPED design (Pai, Druschel and Zwaenepoel,
// 1999), the half-sync/half-async pattern: one event loop waits in
// epoll_wait(2) and does all the I/O, as the epoll model's does, and hands
// each request's work that holds a thread (cpu, and the blocking calls of
// block: and disk:, Flash's disk reads) to a bounded pool of OS threads
// (-workers, default 8). A finished request comes back to the loop through
// a queue and an eventfd wake-up, and the loop writes the answer. Such
// work no longer stalls the loop's other clients; sleep work stays on the
// loop's timers, since waiting needs no thread.
//
// The loop is the epoll model's own (epoll.ServeAs), given this package's
// pool as its offload hook. Read models/epoll first, then
// workers_linux.go here (the pool), then models/epoll/offload_linux.go
// (how the loop hands a request over and takes it back).
// The loop's thread blocks in epoll_wait(2); a worker thread blocks on
// the pool's channel (a futex) until a job comes, then computes.
package workers

import (
	"iolab/models"
)

// DefaultWorkers is the pool's size when -workers is 0: enough threads to
// keep a few CPUs computing, far fewer than clients.
const DefaultWorkers = 8

// Server is the AMPED model. Its Serve is in workers_linux.go; on other
// systems it is LinuxOnly's, which says the model needs Linux.
type Server struct {
	models.LinuxOnly
	cfg models.Config
}

func init() {
	models.Register(models.Model{
		Name:  "workers",
		Waits: "one event loop in epoll_wait(2) does the I/O; cpu, block and disk work go to a pool of OS threads (-workers) and come back through an eventfd",
		Limits: "as epoll: at -max-conns it stops watching the listener. cpu, block and disk work wait for a free worker thread, " +
			"the loop's other clients do not.",
		Source:     "models/workers",
		WorkersAre: "threads",
		Linux:      true,
		Build: func(cfg models.Config) models.Server {
			// The pool takes cpu work, not connections: the connection
			// limit does not bound it.
			cfg.Workers = cfg.WorkersOr(DefaultWorkers)
			return &Server{cfg: cfg}
		},
	})
}
