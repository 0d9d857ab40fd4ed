// Package prefork is Apache's prefork design (Stevens, UNIX Network
// Programming, vol. 1, section 30.6): the parent opens the listening
// socket and starts a fixed pool of worker processes (-workers); each
// worker inherits the socket, blocks in accept(2) on it, then in read(2)
// and write(2) on the client it gets, one at a time, as sequential does.
// The parent accepts nothing: it starts the workers, starts a new one when
// one dies, and stops them all at shutdown.
//
// Who wins each accept is the kernel's choice: every idle worker sleeps in
// accept(2) on the same socket, and the kernel wakes one of them per
// client (accept's wait queue is exclusive). The conn_open events say
// which: each carries the worker's pid. Once every worker has a client,
// the next clients wait in the kernel's accept queue.
//
// Read it in this order: prefork_linux.go (Serve, the parent; runWorker, a
// worker's whole life), then models/internal/child (how a worker process
// is started: this program again, with the socket as descriptor 3), then
// models/internal/blocking/blocking_linux.go (Accept and Serve, as for
// sequential). A worker blocks in accept4(2), then in read(2) and
// write(2), as the sequential model's one thread does. The parent blocks
// in a select over its children's exits (exec.Cmd.Wait: waitid(2) on each child's pidfd) and
// the end of Serve.
package prefork

import (
	"iolab/models"
	"iolab/models/internal/child"
)

// DefaultWorkers is the pool's size when -workers is 0. Each worker is a
// whole Go process, some megabytes of memory: Apache's prefork starts 5
// and grows to 256; this pool does not grow.
const DefaultWorkers = 16

// role is what a worker process is told to be.
const role = "prefork"

func init() {
	child.Main(role, runWorker)
	models.Register(models.Model{
		Name:  "prefork",
		Waits: "a fixed pool of worker processes (-workers), each blocked in accept(2) on the inherited socket, then in read(2)/write(2) of its one client",
		Limits: "serves -workers clients at once; the others wait in the kernel's accept queue until a worker's client leaves. " +
			"A worker that dies is replaced. A client that stops reading holds its worker until -idle-timeout closes it (write_timeout).",
		Source:     "models/prefork",
		Workers:    DefaultWorkers,
		WorkersAre: "processes",
		Bounded:    true,
		Processes:  true,
		Linux:      true,
		Build:      func(cfg models.Config) models.Server { return &Server{cfg: cfg} },
	})
}

// Server is the prefork model's parent. Its cfg.Workers is the pool's
// size: -workers or DefaultWorkers, cut to the connection limit by
// Model.New. Its Serve is in prefork_linux.go; on other systems it is
// LinuxOnly's, which says the model needs Linux.
type Server struct {
	models.LinuxOnly
	cfg models.Config
}
