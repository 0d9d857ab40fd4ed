// Package fork is the classic Unix server (inetd, early Apache; Stevens,
// UNIX Network Programming, vol. 1, section 30.5): the parent blocks in
// accept(2) and starts a child process per connection, which blocks in
// read(2) and write(2) on its one client and exits; the parent reaps it.
//
// A C server calls fork(2): the child is a copy of the parent, made in
// some tens of microseconds by copying page tables. A Go program cannot
// (the runtime's threads would not follow the forking one), so here the
// child is this same program started again, with the connection as its
// descriptor 3 (models/internal/child). Each connection pays for an
// exec(2) and a whole Go runtime's start instead: the bench's CPU time per
// request shows what that costs, and notes/ compares it with C's fork.
//
// Read it in this order: fork_linux.go (Serve, the parent; serveOne, a child's
// whole life), then models/internal/child, then
// models/internal/blocking/blocking_linux.go (Accept and Serve). The
// parent blocks in accept4(2); each child blocks in read(2) and write(2)
// on its one connection, as a thread of the threads model does.
package fork

import (
	"iolab/models"
	"iolab/models/internal/child"
)

// role is what a child process is told to be.
const role = "fork"

func init() {
	child.Main(role, serveOne)
	models.Register(models.Model{
		Name:  "fork",
		Waits: "the parent blocks in accept(2) and starts a child process per connection, which blocks in read(2)/write(2) of its one client and exits",
		Limits: "at -max-conns (default 256 children, fewer under a small open-file limit) the parent stops accepting, and clients wait in the kernel's accept queue; each connection " +
			"costs a whole process (an exec and a Go runtime). A client that stops reading holds its process until -idle-timeout closes it (write_timeout).",
		Source:    "models/fork",
		Processes: true,
		Bounded:   true,
		Linux:     true,
		Build:     build,
	})
}

// DefaultMaxChildren is the connection limit when -max-conns is 0: a
// child process per connection costs some 10 MiB here, and the limit from
// the open-file limit (some 20,000) would ask for 200 GiB. 256 is Apache
// prefork's default MaxRequestWorkers. Under a small open-file limit the
// parent's own descriptors per child bound it lower (maxChildren).
const DefaultMaxChildren = 256

// What a child costs the parent in descriptors: for as long as it runs,
// the pipe from its stderr, its pidfd (os.StartProcess keeps one to wait
// on it), and in tests a pipe from its stdout; and while it starts, a few
// more for the length of the start (the client's socket until the child
// has its copy, the other ends of the pipes, /dev/null, exec's status
// pipe).
const (
	fdsPerChild = 3
	fdsPerStart = 8
)

// maxChildren is the default limit on children: DefaultMaxChildren, or
// fewer if the parent's descriptors would run out first. Past it the
// parent stops accepting, as at -max-conns; should a start still run out
// of descriptors (a -max-conns above this), the parent keeps the client
// and waits for a child to exit (parent.fork).
func maxChildren() int {
	return max(1, min(DefaultMaxChildren, (models.DefaultMaxConns()-fdsPerStart)/fdsPerChild))
}

// Server is the fork model's parent. Its Serve is in fork_linux.go; on
// other systems it is LinuxOnly's, which says the model needs Linux.
type Server struct {
	models.LinuxOnly
	cfg models.Config
}

// build makes the parent, with a connection limit of maxChildren when
// -max-conns is 0: a child costs far more than the descriptor that
// models.DefaultMaxConns counts.
func build(cfg models.Config) models.Server {
	if cfg.MaxConns == 0 {
		cfg.MaxConns = maxChildren()
	}
	return &Server{cfg: cfg}
}
