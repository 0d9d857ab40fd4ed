// Package reuseport is the multi-reactor, as nginx and most fast servers
// spread an event loop over cores: N event loops (-workers, default the
// CPUs the server may use), each waiting in epoll_wait(2) on its own
// locked OS thread with its own listener, all bound to one port with
// SO_REUSEPORT. The kernel spreads new connections over the listeners by
// a hash of the client's and server's addresses and ports, so each loop
// accepts and serves its own share; the loops share only the counters.
//
// Each loop is the epoll model's loop, the same code (epoll.Run), not a
// copy of it. Read models/epoll first; then reuseport_linux.go (Serve:
// the listeners and the loops). Each loop's thread blocks in
// epoll_wait(2), as the epoll model's one thread does. conn_open and
// conn_close carry the loop's thread id, so `iolab logs` shows how evenly
// the kernel's hash spread the connections over the loops.
//
// What the hash does not do: balance. A loop busy with a slow client
// still gets its share of new ones. The loops share one connection limit
// (models.Slots): at -max-conns every loop stops watching its listener, and
// each looks again at its next wake-up (its sweep timer's, at the latest)
// once connections have closed.
package reuseport

import (
	"runtime"

	"iolab/models"
	"iolab/models/internal/child"
)

// Server is the multi-reactor model. Its Serve is in reuseport_linux.go;
// on other systems it is LinuxOnly's, which says the model needs Linux.
type Server struct {
	models.LinuxOnly
	cfg models.Config
}

// role names the loop processes of -procs to package child.
const role = "reuseport-loop"

func init() {
	child.Main(role, runLoop) // a loop process of -procs runs here and exits
	models.Register(models.Model{
		Name:  "reuseport",
		Waits: "N event loops (-workers, default one per CPU), each an OS thread in epoll_wait(2) with its own SO_REUSEPORT listener",
		Limits: "the loops share -max-conns: at the limit each stops watching its listener, and clients wait in the accept queue " +
			"the kernel hashed them to, until a loop's next wake-up after a close. Otherwise as epoll, loop by loop. " +
			"With -procs each loop process has its own open-file limit, and -max-conns is shared out (a process gets its ceiling share): " +
			"the kernel's hash ignores it, so a client may wait at a full process while another has room.",
		Source:     "models/reuseport",
		WorkersAre: "event loops",
		Linux:      true,
		Build:      build,
	})
}

// build makes the multi-reactor with one loop per CPU the server may use
// (-cpus sets them) when -workers is 0, and no more loops than the
// connection limit, since a loop without a connection to serve is waste.
func build(cfg models.Config) models.Server {
	cfg.Workers = min(cfg.WorkersOr(runtime.GOMAXPROCS(0)), cfg.Limit())
	return &Server{cfg: cfg}
}
