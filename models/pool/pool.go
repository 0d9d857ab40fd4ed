// Package pool is the prethreaded server of Stevens' UNIX Network
// Programming (vol. 1, section 30.11): a fixed pool of OS threads, started
// at boot, each blocking in accept(2) on the one listening socket and
// serving the connection it gets to the end before it accepts again.
//
// Nothing is created per connection: no thread, no goroutine. The price is
// the pool's size (-workers, DefaultWorkers): once every worker serves a
// client, the next clients wait in the kernel's accept queue until one
// finishes, however idle the busy ones are. With persistent echo clients
// that is for as long as those clients stay.
//
// Read it in this order: pool.go (Serve: the workers), then
// models/internal/blocking/blocking_linux.go (Listener.Accept and
// Listener.Serve, shared with sequential and threads), then
// models/converse.go. Each worker blocks in accept4(2) in sock.Accept
// (models/internal/sock/sock_linux.go); the kernel wakes one worker per
// client, as accept's wait queue is exclusive. Then the worker blocks in
// read(2) and write(2) in sock.Conn (conn_linux.go), as a thread of the
// threads model does. Like those, each call that must wait tells the Go
// runtime first that the thread will sleep (sleep_linux.go).
package pool

import (
	"context"
	"net"
	"runtime"
	"sync"

	"iolab/models"
	"iolab/models/internal/blocking"
)

// DefaultWorkers is the pool's size when -workers is 0: enough for the
// bench's smaller levels, and small beside the threads model's thread per
// client.
const DefaultWorkers = 64

// Server is the prethreaded model. Its cfg.Workers is the pool's size:
// -workers or DefaultWorkers, cut to the connection limit by Model.New.
type Server struct {
	cfg models.Config
}

func init() {
	models.Register(models.Model{
		Name:  "pool",
		Waits: "a fixed pool of OS threads (-workers), each blocked in accept(2) on the shared socket, then in read(2)/write(2) of its one client",
		Limits: "serves -workers clients at once; the others wait in the kernel's accept queue until a worker's client leaves. " +
			"A client that stops reading holds its worker until -idle-timeout closes it (write_timeout).",
		Source:     "models/pool",
		Workers:    DefaultWorkers,
		WorkersAre: "threads",
		Bounded:    true,
		Linux:      true,
		Build:      func(cfg models.Config) models.Server { return &Server{cfg: cfg} },
	})
}

// Serve starts the workers, reports ready once every one of them has its
// thread, and waits for them to stop.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	ln, bound, err := blocking.Open(ctx, &s.cfg, "pool")
	if err != nil {
		return err
	}
	defer ln.Close()

	p := &pool{ln: ln, busy: models.NewSlots(s.cfg.Workers, ln.Stats())}
	var workers, started sync.WaitGroup
	started.Add(s.cfg.Workers)
	for range s.cfg.Workers {
		workers.Go(func() { p.work(&started) })
	}
	started.Wait() // the pool exists before the first client, as at a C server's boot
	ln.Ready(bound, ready)
	workers.Wait()
	return nil
}

// pool is what the workers share.
type pool struct {
	ln   *blocking.Listener
	busy *models.Slots // a slot per worker, taken while it serves a client
}

// work is one worker thread: accept, serve to the end, accept again. When
// the last idle worker takes a client the pool is full, and the next
// clients wait in the accept queue: that is the pool's connection limit,
// logged as max_conns_reached and max_conns_left.
func (p *pool) work(started *sync.WaitGroup) {
	// A worker keeps its thread for good, as a C pool's pthread would.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	started.Done()
	for {
		c, ok := p.ln.Accept() // blocks this thread in accept4(2)
		if !ok {
			return
		}
		p.busy.TryAcquire() // there is one per worker
		p.busy.Note()
		p.ln.Serve(c) // blocks it in read(2)/write(2) until the client leaves
		p.busy.Release()
		p.busy.Note()
	}
}
